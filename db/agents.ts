import { sql } from 'drizzle-orm';
import { bigint, index, integer, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { createdAt, primaryId, timestamptz, updatedAt } from './columns.ts';
import { companyRef } from './companies.ts';
import { adapterTypeEnum, agentStatusEnum, runStatusEnum } from './enums.ts';

export const agents = pgTable(
  'agents',
  {
    id: primaryId(),
    companyId: companyRef(),
    name: text().notNull(),
    role: text().notNull().default('general'),
    status: agentStatusEnum().notNull().default('idle'),
    adapterType: adapterTypeEnum().notNull(),
    adapterConfig: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    /** Holds the heartbeat policy under `heartbeat` (engine-spec §5). */
    runtimeConfig: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    lastHeartbeatAt: timestamptz(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    index('agents_company_idx').on(t.companyId, t.createdAt),
    // One agent per name in a company, whatever its case: an agent is woken and shown by its name.
    uniqueIndex('agents_company_name_uq').on(t.companyId, sql`lower(${t.name})`),
  ],
);

/** Per-agent counters the engine keeps after each run (engine-spec §1). */
export const agentRuntimeState = pgTable('agent_runtime_state', {
  agentId: uuid()
    .primaryKey()
    .references(() => agents.id, { onDelete: 'cascade' }),
  companyId: companyRef(),
  adapterType: adapterTypeEnum(),
  sessionId: text(),
  lastRunId: uuid(),
  lastRunStatus: runStatusEnum(),
  lastError: text(),
  totalInputTokens: bigint({ mode: 'number' }).notNull().default(0),
  totalOutputTokens: bigint({ mode: 'number' }).notNull().default(0),
  totalCachedInputTokens: bigint({ mode: 'number' }).notNull().default(0),
  totalCostCents: bigint({ mode: 'number' }).notNull().default(0),
  totalRuns: integer().notNull().default(0),
  updatedAt: updatedAt(),
});

/**
 * The session an agent resumes per task (docs/engine.md §7.1): one row per (company, agent,
 * adapter type, task key), written by the finish of the runs that use it.
 */
export const agentTaskSessions = pgTable(
  'agent_task_sessions',
  {
    id: primaryId(),
    companyId: companyRef(),
    agentId: uuid()
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    adapterType: adapterTypeEnum().notNull(),
    taskKey: text().notNull(),
    /** At least `{sessionId}`: what the adapter needs to resume the session. */
    sessionParams: jsonb().$type<{ sessionId: string } & Record<string, unknown>>().notNull(),
    /** The id shown to people (at most 128 characters), when the agent gave one. */
    sessionDisplayId: text(),
    lastRunId: uuid(),
    /** Null after a run that succeeded; else that run's error (or `run_failed`). */
    lastError: text(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex('agent_task_sessions_key_uq').on(t.companyId, t.agentId, t.adapterType, t.taskKey)],
);
