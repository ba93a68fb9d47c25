// The engine's group commits (store/batcher.ts): claims for the agents whose queues changed at about
// the same time (runs/claim.ts), and the events and finishes of many runs (runs/events.ts,
// runs/finish.ts). Batching is how these writes are made, not a second copy of them: what a batch
// could not write, and everything when it fails as a whole, goes through the same function with
// its one item.
import { Batcher, type BatcherOptions, eachOnFailure, PER_ITEM } from '../store/batcher.ts';
import { agentsWithQueuedRuns, claimNextRunsForAgents, type ClaimedRun, type ClaimOptions } from '../runs/claim.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { RunBatchPorts } from './execute-run.ts';
import { finishRuns } from '../runs/finish.ts';
import { followUpInFinish, writeFollowUps } from './follow-up.ts';
import { appendRunEvents, type EventGroup } from '../runs/events.ts';
import { type LogChunk, writeLogChunks } from '../runs/run-log.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { withTransientRetry } from '../store/database-retry.ts';

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

/** Claims (startNextQueuedRunForAgent) for many agents in one transaction, which also starts the runs it claims. */
export function claimBatcher(deps: () => EngineDeps, onBatchFailure: OnBatchFailure, options: ClaimOptions = {}): Batcher<string, ClaimedRun[]> {
  return new Batcher<string, ClaimedRun[]>(
    (agentIds) =>
      eachOnFailure(
        agentIds,
        async (ids) => {
          // Most finished runs leave nothing queued behind them: those agents need no claim.
          const queued = await agentsWithQueuedRuns(deps(), ids);
          const claimable = ids.filter((id) => queued.has(id));
          if (claimable.length === 0) return ids.map(() => []);
          const claims = await withTransientRetry(() => claimNextRunsForAgents(deps(), claimable, options));
          const byAgent = new Map(claimable.map((id, i) => [id, claims[i]]));
          return ids.map((id) => byAgent.get(id) ?? []);
        },
        (id) => withTransientRetry(async () => (await claimNextRunsForAgents(deps(), [id], options))[0]),
        onBatchFailure,
      ),
    { maxBatch: 50, maxInFlight: 2 },
  );
}

/** Runs' events, logs, finishes and follow-ups, each written for a batch of runs at once. */
export function runBatchPorts(deps: () => EngineDeps, onBatchFailure: OnBatchFailure): RunBatchPorts {
  return {
    events: batched((groups) => appendEventBatch(deps(), groups), { maxBatch: 200, maxInFlight: 2 }, onBatchFailure),
    logs: batched(async (runs: LogChunk[][]) => {
      await writeLogChunks(deps().db, runs.flat());
      return runs.map(() => undefined);
    }, { maxBatch: 200, maxInFlight: 2 }, onBatchFailure),
    finish: batched(
      async (items) => (await withTransientRetry(() => finishRuns(deps(), items, { wait: false, followUp: followUpInFinish }), 8)).map((answer) => (answer.kind === 'held' ? PER_ITEM : answer)),
      { maxBatch: 100, maxInFlight: 2 },
      onBatchFailure,
    ),
    // A follow-up is several statements in a row (about 100 ms for 100 runs under a full drain): at 50
    // runs and 2 in flight, both transactions were busy most of the time and runs queued for them.
    followUp: batched((items) => withTransientRetry(() => writeFollowUps(deps(), items), 8), { maxBatch: 100, maxInFlight: 3 }, onBatchFailure),
  };
}

/**
 * The events of many runs in one statement on the pool; a group whose run another transaction holds
 * is left to its own write (PER_ITEM), as is one of a settled run (which that write drops).
 */
async function appendEventBatch(deps: EngineDeps, groups: EventGroup[]): Promise<Array<void | typeof PER_ITEM>> {
  const events: LiveEvent[] = [];
  const written = await appendRunEvents(deps.db, events, groups, deps.clock.now(), { wait: false, unlessSettled: true });
  if (events.length > 0) deps.bus.publish(events);
  return written.map((ok) => (ok ? undefined : PER_ITEM));
}
