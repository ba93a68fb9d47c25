// A cancel's transaction (docs/engine.md §6.13): the runs cancelled and, for each whose issue's lock
// did not name it, that issue released in the same transaction, so a free lock's oldest deferred
// wakeup is promoted with the cancel. Nothing after the commit could tell that release was owed:
// whoever settles a cancelled run releases only a lock that still names it (§6.11-H), because the
// canceller may be making the same release at the same moment. A canceller that died between its
// commit and a release of its own left such wakeups deferred for good. A lock that names the run is
// released after the commit (afterCancel), and by whoever settles the run if the canceller did not
// live to; its release is the one that may come twice, and the lock tells the second one.
import { type EngineDeps, transact } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import type { RunRow } from '../model/runs.ts';
import { releaseIssueExecutionAndPromote, releaseIssues } from '../recovery/issue-release.ts';
import { settleRun } from '../runs/settle.ts';
import { type CancelResult, cancelRunRow, cancelRunRowsInScope, type RunScope } from '../runs/cancel.ts';
import type { Transaction } from '../../db/client.ts';

export interface Cancellation extends CancelResult {
  /** The run the release in the cancel's transaction promoted (a free lock's deferred wakeup). */
  promoted: RunRow | null;
}

/** cancelRun (§6.13) in one transaction with the release of a lock that did not name the run. */
export function cancelRun(deps: EngineDeps, runId: string, options: Parameters<typeof cancelRunRow>[4] = {}): Promise<Cancellation> {
  return transact(deps, async (tx, events) => {
    const [cancelled] = await releaseFreeLocks(deps, tx, events, [await cancelRunRow(deps, tx, events, runId, options)]);
    return cancelled;
  });
}

/** Every run of the scope on its way to execution cancelled (§6.13, §14.3), in one transaction with the releases of locks that did not name them. */
export function cancelRunsInScope(deps: EngineDeps, scope: RunScope, reason?: string, stopReason?: string): Promise<Cancellation[]> {
  return transact(deps, async (tx, events) => releaseFreeLocks(deps, tx, events, await cancelRunRowsInScope(deps, tx, events, scope, reason, stopReason)));
}

/**
 * What follows a cancel's commit, for one run it cancelled: a lock that named the run released, with
 * the row as it was before the cancel (a person stopped it: no recovery run), unless whoever settles
 * the run did first (§6.11-H), and the continuation summary it leaves; then a run that was not running
 * settled. (One that was running settles once its executor has stopped the process and recorded what
 * it left, or, if that executor is gone, when the reaper finds it.) Returns the runs promoted by the
 * cancel and by this release, which the engine starts.
 */
export async function afterCancel(deps: EngineDeps, { run, previous, promoted }: Cancellation): Promise<RunRow[]> {
  if (!previous) return [];
  const released = (await releaseIssueExecutionAndPromote(deps, previous, { endedAs: run, heldOnly: true })).promoted;
  if (previous.status !== 'running') await transact(deps, async (tx, events) => void (await settleRun(tx, events, previous.id, deps.clock.now())));
  return [promoted, released].filter((next): next is RunRow => next !== null);
}

/**
 * The releases of the cancelled runs whose issue's lock did not name them, with the rows as they were
 * before (no immediate recovery: they were stopped). The issue rows are locked after the run rows, as
 * the lock order has it (§6.17); the wakeups a bulk cancel closed are not promoted.
 */
async function releaseFreeLocks(deps: EngineDeps, tx: Transaction, events: LiveEvent[], results: CancelResult[]): Promise<Cancellation[]> {
  const free = results.filter((result) => result.previous && !result.heldIssueLock);
  const released = await releaseIssues(tx, events, free.map((result) => result.previous!), deps.clock.now());
  const promoted = new Map(free.map((result, i) => [result.run.id, released[i].promoted]));
  return results.map((result) => ({ ...result, promoted: promoted.get(result.run.id) ?? null }));
}
