// A transaction whose BEGIN travels with its first statements and whose COMMIT travels with its
// last ones. Through drizzle (postgres.js `begin`), BEGIN and COMMIT each cost a round trip of
// their own; a transaction that reads, decides and writes costs four. Here it costs two: on a
// reserved connection, BEGIN and the reads go out together, then the writes and COMMIT. The hot
// enqueue path uses it (plain-wakeups.ts), where those round trips are most of a wakeup's latency.
import type postgres from 'postgres';
import type { EngineDeps } from './deps.ts';
import type { LiveEvent } from './live-events.ts';
import type { StatementSession } from './run-rows.ts';

export interface PipelinedTransaction {
  /** For executePrepared and connectionOf: statements are sent in the order they are started. */
  session: StatementSession;
  /**
   * Sends COMMIT behind every statement started so far. If one of them failed, the server rolls
   * the transaction back instead, and that statement's own promise rejects.
   */
  commit(): Promise<void>;
}

type Work<T> = (tx: PipelinedTransaction, events: LiveEvent[]) => Promise<T>;

/**
 * Runs `work` in a transaction on a connection of its own. `work` starts its statements without
 * awaiting them one by one, and calls `commit()` right after starting the last ones. The live
 * events it collected are published once the commit is through. If `work` returns without
 * committing (it decided not to go on), the transaction is rolled back and the answer is null; if
 * it throws, the transaction is rolled back and the error is thrown. (`work` must not throw once
 * COMMIT is sent but for a failed statement: nothing could roll the transaction back any more.)
 */
export async function pipelinedTransaction<T>(deps: Pick<EngineDeps, 'db' | 'bus'>, work: Work<T>): Promise<T | null> {
  const database = deps.db as unknown as { $client: postgres.Sql; session: { logger: StatementSession['logger'] } };
  const client = await database.$client.reserve();
  let committed: Promise<void> | null = null;
  const events: LiveEvent[] = [];
  try {
    const begun = client.unsafe('begin').execute();
    const tx: PipelinedTransaction = {
      session: { client, logger: database.session.logger },
      commit: () => (committed ??= client.unsafe('commit').execute().then(() => undefined)),
    };
    const [, result] = await Promise.all([begun, work(tx, events)]);
    if (!committed) {
      await client.unsafe('rollback');
      return null;
    }
    await committed;
    if (events.length > 0) deps.bus.publish(events);
    return result;
  } catch (error) {
    // A failed statement already turned the COMMIT into a rollback; if COMMIT was never sent, the
    // transaction is still open. Either way the connection leaves here outside any transaction.
    await client.unsafe('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
