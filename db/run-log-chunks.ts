import { bigint, index, integer, primaryKey, text, uuid } from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { createdAt } from './columns.ts';
import { heartbeatRuns } from './heartbeat-runs.ts';

/**
 * A run's output, stored in the database so that any instance serves any run's log (docs/engine.md
 * §6.5): pieces of one stream's text, written a batch at a time with other runs' (never a statement
 * per line); PostgreSQL compresses large values itself. A piece has two places: in the run's whole
 * log (both streams interleaved, `logOffset`) and in its own stream (`streamOffset`), both in bytes
 * of UTF-8, so a window of either is read from the pieces that overlap it.
 */
export const runLogChunks = pgTable(
  'heartbeat_run_log_chunks',
  {
    runId: uuid()
      .notNull()
      .references(() => heartbeatRuns.id, { onDelete: 'cascade' }),
    /** The run's company, copied by the writer: retention and tenancy without a join. */
    companyId: uuid().notNull(),
    logOffset: bigint({ mode: 'number' }).notNull(),
    stream: text().notNull(),
    streamOffset: bigint({ mode: 'number' }).notNull(),
    bytes: integer().notNull(),
    text: text().notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: 'run_log_chunks_pkey', columns: [t.runId, t.logOffset] }),
    index('run_log_chunks_stream_idx').on(t.runId, t.stream, t.streamOffset),
    // Retention removes pieces by age: the table is written in time order, so a block range index is
    // enough, and costs the writes next to nothing.
    index('run_log_chunks_created_brin_idx').using('brin', t.createdAt),
  ],
);
