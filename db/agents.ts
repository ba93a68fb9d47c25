import { bigint, index, integer, jsonb, text, uuid } from 'drizzle-orm/pg-core';
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
  (t) => [index('agents_company_idx').on(t.companyId, t.createdAt)],
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
