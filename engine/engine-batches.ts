// The engine's group commits (batcher.ts): claims for the agents whose queues changed at about the
// same time, and the starts, events and finishes of many runs (run-batches.ts, finish-batch.ts).
// Each batch falls back to the per-item path for what it cannot write, and for everything when it
// fails as a whole.
import { Batcher, type BatcherOptions, eachOnFailure, type PER_ITEM } from './batcher.ts';
import { agentsWithQueuedRuns, claimNextRunsForAgents, type ClaimedRun } from './claim.ts';
import type { EngineDeps } from './deps.ts';
import type { RunBatchPorts } from './execute.ts';
import { finishPlainRuns } from './finish-batch.ts';
import { appendEventGroups, startRuns } from './run-batches.ts';
import { withTransientRetry } from './database-retry.ts';

type OnBatchFailure = (error: unknown) => void;

/**
 * A batched write: `write` takes a batch of items and answers per item (PER_ITEM: not written by
 * the batch); those, and all of them if the batch fails, go through the item's own per-run write.
 */
function batched<I, O>(write: (items: I[]) => Promise<Array<O | typeof PER_ITEM>>, options: BatcherOptions, onBatchFailure: OnBatchFailure) {
  type Job = { item: I; perRun: () => Promise<O> };
  const batcher = new Batcher<Job, O>(
    (jobs) => eachOnFailure(jobs, (all) => write(all.map((job) => job.item)), (job) => job.perRun(), onBatchFailure),
    options,
  );
  return (item: I, perRun: () => Promise<O>) => batcher.submit({ item, perRun });
}

/**
 * Claims (startNextQueuedRunForAgent) for many agents in one transaction, which also starts the
 * plain runs it claims (claim.ts ClaimOptions) when run writes are batched.
 */
export function claimBatcher(deps: () => EngineDeps, batching: () => boolean, onBatchFailure: OnBatchFailure): Batcher<string, ClaimedRun[]> {
  return new Batcher<string, ClaimedRun[]>((agentIds) => {
    const options = { start: batching() };
    return eachOnFailure(
      agentIds,
      async (ids) => {
        // Most finished runs leave nothing queued behind them: those agents need no claim.
        const queued = options.start ? await agentsWithQueuedRuns(deps(), ids) : new Set(ids);
        const claimable = ids.filter((id) => queued.has(id));
        if (claimable.length === 0) return ids.map(() => []);
        const claims = await withTransientRetry(() => claimNextRunsForAgents(deps(), claimable, options));
        const byAgent = new Map(claimable.map((id, i) => [id, claims[i]]));
        return ids.map((id) => byAgent.get(id) ?? []);
      },
      (id) => withTransientRetry(async () => (await claimNextRunsForAgents(deps(), [id], options))[0]),
      onBatchFailure,
      );
  }, { maxBatch: 50, maxInFlight: 2 });
}

/** Run starts, events and finishes, each written for a batch of runs at once. */
export function runBatchPorts(deps: () => EngineDeps, onBatchFailure: OnBatchFailure): RunBatchPorts {
  return {
    start: batched((items) => startRuns(deps(), items), { maxBatch: 100, maxInFlight: 2 }, onBatchFailure),
    events: batched((groups) => appendEventGroups(deps(), groups), { maxBatch: 200, maxInFlight: 2 }, onBatchFailure),
    finish: batched((items) => withTransientRetry(() => finishPlainRuns(deps(), items), 8), { maxBatch: 100, maxInFlight: 2 }, onBatchFailure),
  };
}
