import { integer, jsonb, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { createdAt } from './columns.ts';
import { heartbeatRuns } from './heartbeat-runs.ts';

/**
 * The ordered event stream of a run (engine-spec §6.6). An event is its run's `seq`-th (Decisions 3):
 * that is its key, and the only way anything reads events (replays, pages, liveness evidence).
 */
export const runEvents = pgTable(
  'heartbeat_run_events',
  {
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
  // The key is the only index: every index costs each of the three or more events a run writes,
  // and no reader looks events up by company or by a surrogate id.
  (t) => [primaryKey({ name: 'run_events_pkey', columns: [t.runId, t.seq] })],
);
