import { bigint, integer, jsonb, text, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { createdAt } from './columns.ts';
import { heartbeatRuns } from './heartbeat-runs.ts';

/** The ordered event stream of a run (engine-spec §6.6). `seq` is unique per run (Decisions 3). */
export const runEvents = pgTable(
  'heartbeat_run_events',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    /**
     * The run's company and agent, copied from the run row by every writer, so an event is scoped
     * without a join. The run's foreign key is the one that holds them (an event goes when its run
     * goes, and its run when its agent or company goes); foreign keys of their own would check and
     * lock two more rows, both hot, for every event, a third of the cost of a batch's event writes.
     */
    companyId: uuid().notNull(),
    runId: uuid()
      .notNull()
      .references(() => heartbeatRuns.id, { onDelete: 'cascade' }),
    agentId: uuid().notNull(),
    seq: integer().notNull(),
    eventType: text().notNull(),
    stream: text(),
    level: text(),
    color: text(),
    message: text(),
    payload: jsonb().$type<unknown>(),
    createdAt: createdAt(),
  },
  // Events are only ever read by run, in seq order (replays, pages, liveness evidence). Every index
  // costs each of the three or more events a run writes; by company there is no reader to pay for.
  (t) => [uniqueIndex('run_events_run_seq_uq').on(t.runId, t.seq)],
);
