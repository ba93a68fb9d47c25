import { bigint, index, integer, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { agents } from './agents.ts';
import { createdAt } from './columns.ts';
import { companies } from './companies.ts';
import { heartbeatRuns } from './heartbeat-runs.ts';

/** The ordered event stream of a run (engine-spec §6.6). `seq` is unique per run (Decisions 3). */
export const runEvents = pgTable(
  'heartbeat_run_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    companyId: uuid()
      .notNull()
      .references(() => companies.id, { onDelete: 'cascade' }),
    runId: uuid()
      .notNull()
      .references(() => heartbeatRuns.id, { onDelete: 'cascade' }),
    agentId: uuid()
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    seq: integer().notNull(),
    eventType: text().notNull(),
    stream: text(),
    level: text(),
    color: text(),
    message: text(),
    payload: jsonb().$type<unknown>(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('run_events_run_seq_uq').on(t.runId, t.seq),
    index('run_events_company_run_idx').on(t.companyId, t.runId),
    index('run_events_company_created_idx').on(t.companyId, t.createdAt),
  ],
);
