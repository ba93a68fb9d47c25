// A transaction whose BEGIN travels with its first statements and whose COMMIT travels with its
// last ones. Through drizzle (postgres.js `begin`), BEGIN and COMMIT each cost a round trip of
// their own; a transaction that reads, decides and writes costs four. Here it costs two: on a
// reserved connection, BEGIN and the reads go out together, then the writes and COMMIT. The hot
// enqueue path uses it (wakeups/enqueue-without-issue.ts), where those round trips are most of a wakeup's latency.
import type postgres from 'postgres';
import type { EngineDeps } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { currentRequestDeadline } from './request-deadline.ts';
import type { StatementSession } from './statements.ts';

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
  // Inside a request whose time is up (engine/store/request-deadline.ts), nothing starts and COMMIT is not
  // sent: checked before the connection is reserved, once it is (that may have waited for a
  // reconnect), and in commit() right before COMMIT goes out.
  const deadline = currentRequestDeadline();
  deadline?.assertMayWrite();
  const client = await database.$client.reserve();
  let committed: Promise<void> | null = null;
  let commitTicket: { settle(committed: boolean): void } | undefined;
  const events: LiveEvent[] = [];
  try {
    deadline?.assertMayWrite();
    const begun = client.unsafe('begin').execute();
    const sendCommit = (): Promise<void> => {
      try {
        commitTicket = deadline?.beginCommit();
      } catch (error) {
        // Refused: no COMMIT goes out, and the catch below rolls back what was sent.
        return Promise.reject(error);
      }
      return client.unsafe('commit').execute().then(() => undefined);
    };
    const tx: PipelinedTransaction = {
      session: { client, logger: database.session.logger },
      commit: () => (committed ??= sendCommit()),
    };
    const [, result] = await Promise.all([begun, work(tx, events)]);
    if (!committed) {
      await client.unsafe('rollback');
      return null;
    }
    await committed;
    // Only now is it known to have committed: a statement that failed turns COMMIT into a rollback.
    commitTicket?.settle(true);
    if (events.length > 0) deps.bus.publish(events);
    return result;
  } catch (error) {
    commitTicket?.settle(false);
    // A failed statement already turned the COMMIT into a rollback; if COMMIT was never sent, the
    // transaction is still open. Either way the connection leaves here outside any transaction.
    await client.unsafe('rollback').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
