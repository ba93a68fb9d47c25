// The reaper's pass (spec §6.11): every orphaned run is checked on this host where possible, its
// leftover processes stopped, and it is failed and retried once, or flagged detached. The same pass
// settles abandoned cancels (§6.11-H) and completes the follow-up of finished runs whose owner died
// before writing it (§6.11-K).
import type { EngineDeps } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';
import { groupAlive, pidAlive, terminateGroup } from '../adapters/process-groups.ts';
import {
  type DeadInstance,
  declareDeadInstances,
  findAbandonedCancels,
  findAbandonedFollowUps,
  findOrphanedRuns,
  type OrphanCandidate,
  type OwnerJudge,
} from './process-loss.ts';
import { failLostRuns, type LostRun, type LostRunItem, markDetached, PROCESS_LOSS_MAX_RETRIES } from '../runs/lost-runs.ts';
import { finalizeAgentStatus } from '../runs/agent-status.ts';
import { takeOverFollowUps, type TakenOverRun } from '../runs/follow-up-owner.ts';

export interface ReaperHooks {
  activeRunIds: ReadonlySet<string>;
  steps: {
    /** §6.9: the issue a lost run held is released (and a deferred wakeup promoted, or a recovery run queued). */
    releaseIssueExecution(run: RunRow): Promise<RunRow | null>;
    /** §6.11-H: the issue whose lock still names a cancelled run is released (and a deferred wakeup promoted). */
    releaseCancelled(run: RunRow): Promise<RunRow | null>;
  };
  settle(runId: string): Promise<void>;
  startNext(agentId: string): void;
  /** Whether an instance is dead (the engine's lease). */
  judge: OwnerJudge;
  /** Runs this instance's executor gave up on (the database stayed away past the bound): retried like a dead owner's. */
  abandoned: ReadonlySet<string>;
  /** The runs this instance executes at the moment of asking (activeRunIds is the pass's first look). */
  executing(): ReadonlySet<string>;
  /**
   * §6.11-K: the follow-up of a finished run taken over from its dead owner, through the engine's
   * follow-up steps (execution/follow-up.ts completeTakenOverFollowUp); returns the runs it queued.
   */
  completeFollowUp(taken: TakenOverRun): Promise<RunRow[]>;
}

/** Lost runs reaped at the same time: each holds a pool connection, and may wait for a process group to stop. */
const REAP_CONCURRENCY = 8;

const WHY_DEAD: Record<DeadInstance['why'], string> = {
  no_owner: 'no owner',
  instance_gone: 'its row is gone',
  stopped: 'it stopped',
  process_exited: 'its process on this host has exited',
  lease_lapsed: 'its lease lapsed while the database was reachable',
};

export interface ReapResult {
  reaped: number;
  runIds: string[];
  /** Instances this pass declared dead. */
  declaredDead: DeadInstance[];
  /** Finished runs whose follow-up this pass took over from a dead owner and completed (§6.11-K). */
  followedUp: string[];
}

export async function reapOrphanedRuns(deps: EngineDeps, hooks: ReaperHooks): Promise<ReapResult> {
  const declaredDead = await declareDeadInstances(deps, hooks.judge);
  for (const { instance, why } of declaredDead) {
    deps.logger.warn(
      { instanceId: instance.id, host: instance.host, pid: instance.pid, leaseExpiresAt: instance.leaseExpiresAt.toISOString(), why },
      `instance ${instance.id} declared dead: ${WHY_DEAD[why]}; its runs are reaped`,
    );
  }
  const candidates = await findOrphanedRuns(deps, hooks.activeRunIds);
  const { runIds } = await reapRuns(deps, hooks, candidates);
  await mapBounded(await findAbandonedCancels(deps, hooks.activeRunIds), REAP_CONCURRENCY, (candidate) => settleAbandonedCancel(deps, hooks, candidate));
  const followedUp = await completeAbandonedFollowUps(deps, hooks);
  return { reaped: runIds.length, runIds, declaredDead, followedUp };
}

/**
 * §6.11-K: finished runs whose owner died before writing their follow-up are taken over (of passes
 * on several instances at once, one takes each run) and their follow-up completed. A follow-up that
 * fails is logged; the run, this instance's now, is taken up again by a later pass once the grace
 * for its own runs has passed.
 */
async function completeAbandonedFollowUps(deps: EngineDeps, hooks: ReaperHooks): Promise<string[]> {
  const found = await findAbandonedFollowUps(deps, new Set());
  // Looked at after the read: a run of this instance's executor that the read found mid-follow-up is
  // in the executor's hands until it is settled (it leaves the set only then).
  const executing = hooks.executing();
  const candidates = found.filter(({ run }) => !executing.has(run.id));
  if (candidates.length === 0) return [];
  const previousOwner = new Map(candidates.map(({ run }) => [run.id, run.ownerInstanceId]));
  const taken = await takeOverFollowUps(deps, candidates.map(({ run }) => run));
  const done = await mapBounded(taken, REAP_CONCURRENCY, async (item) => {
    const { run } = item;
    try {
      const queued = await hooks.completeFollowUp(item);
      deps.logger.warn(
        { runId: run.id, agentId: run.agentId, status: run.status, ownerInstanceId: previousOwner.get(run.id), queuedRunIds: queued.map((q) => q.id) },
        `run ${run.id}: its follow-up was completed here, its owner having died before writing it`,
      );
      for (const agentId of new Set([run.agentId, ...queued.map((q) => q.agentId)])) hooks.startNext(agentId);
      return run.id;
    } catch (error) {
      deps.logger.error({ err: error, runId: run.id }, `run ${run.id}: the follow-up taken over from its dead owner failed; a later pass tries again`);
      return null;
    }
  });
  return done.filter((id): id is string => id !== null);
}

/**
 * Fails the lost runs `candidates` as process_lost, each retried once where allowed (spec §6.11):
 * the reaper's pass, and a stopping instance handing the runs it could not finish to recovery.
 */
export async function reapRuns(deps: EngineDeps, hooks: ReaperHooks, candidates: OrphanCandidate[]): Promise<{ runIds: string[] }> {
  if (candidates.length === 0) return { runIds: [] };
  const started = performance.now();
  // What is left of each run's process is checked (and stopped) side by side; then the lost runs
  // are failed in sets, a transaction each: a dead instance's runs each hold an agent's slot.
  const prepared = (await mapBounded(candidates, REAP_CONCURRENCY, (candidate) => prepareReap(deps, hooks, candidate))).filter((item) => item !== null);
  const sets = chunk(prepared, REAP_SET_SIZE);
  const results = (await mapBounded(sets, REAP_CONCURRENCY, (set) => failLostSet(deps, set))).flat();
  const agentIds = new Set<string>();
  const runIds: string[] = [];
  for (const [i, result] of results.entries()) {
    if (!result) continue;
    const { candidate, lost } = prepared[i];
    const { run } = candidate;
    runIds.push(run.id);
    deps.logger.warn(
      { runId: run.id, agentId: run.agentId, ownerInstanceId: run.ownerInstanceId, retryRunId: result.retry?.id ?? null, processGroupTerminated: lost.groupTerminated },
      `run ${run.id} reaped: ${lost.message}`,
    );
    agentIds.add(run.agentId);
    if (result.retry) continue; // settled with its failure
    const promoted = await hooks.steps.releaseIssueExecution(result.failed);
    if (promoted) agentIds.add(promoted.agentId);
    await hooks.settle(run.id);
  }
  // The agents' status was written with the failures (runs/finish.ts); their next runs (the
  // retries) are claimed once per agent.
  for (const agentId of agentIds) hooks.startNext(agentId);
  if (runIds.length > 0) deps.logger.info({ runs: runIds.length, ms: Math.round(performance.now() - started) }, `reaped ${runIds.length} lost run(s)`);
  return { runIds };
}

/** Lost runs failed in one transaction. */
const REAP_SET_SIZE = 50;

type PreparedReap = LostRunItem & { lost: LostRun & { groupTerminated: boolean } };

/** The set in one transaction; if it fails as a whole, each run on its own (the same function, one item). */
async function failLostSet(deps: EngineDeps, set: PreparedReap[]) {
  try {
    return await failLostRuns(deps, set);
  } catch (error) {
    deps.logger.debug({ err: error }, 'a set of lost runs fell back to one transaction each');
    return Promise.all(set.map((item) => failLostRuns(deps, [item]).then(([result]) => result, () => null)));
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** `work` over every item, at most `limit` at a time; results in input order. */
async function mapBounded<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Whether the run's process (if it had one) is a child process on this host, which this instance can check and stop. */
function processIsLocal(deps: EngineDeps, { run, adapterType }: OrphanCandidate): boolean {
  return deps.adapters[adapterType].localChild && (run.ownerHost === null || run.ownerHost === deps.settings.host);
}

/**
 * A cancelled run whose executor died before it settled: its leftover processes stop, its issue is
 * released if its lock still names the run, and it settles. The canceller may have died between
 * its cancel and its release (or the owner of a run its adapter ended `cancelled`, before its
 * follow-up): a settled run is never looked at again, so the release is made before the settle,
 * or the deferred wakeups waiting for the issue would never be promoted.
 */
async function settleAbandonedCancel(deps: EngineDeps, hooks: ReaperHooks, candidate: OrphanCandidate): Promise<void> {
  const { run } = candidate;
  const pgid = run.processGroupId ?? run.processPid;
  if (processIsLocal(deps, candidate) && pgid !== null && (await groupAlive(pgid))) await terminateGroup(pgid, 2).done;
  let promoted: RunRow | null;
  try {
    promoted = await hooks.steps.releaseCancelled(run);
    await hooks.settle(run.id);
    // The canceller would have set the agent's status after its release (§6.13); it may have died first.
    await finalizeAgentStatus(deps, [{ agentId: run.agentId, outcome: 'cancelled' }]);
  } catch (error) {
    // Still unsettled: a later pass finds it again (and the release, if it was made, is not made twice).
    deps.logger.error({ err: error, runId: run.id }, `run ${run.id}: the settle of its cancel failed; a later pass tries again`);
    return;
  }
  if (promoted) {
    deps.logger.warn(
      { runId: run.id, agentId: run.agentId, promotedRunId: promoted.id },
      `run ${run.id}: cancelled, its issue was released here (its canceller had not), and a deferred wakeup promoted`,
    );
  }
  // The canceller would have claimed for both agents after its release.
  for (const agentId of new Set([run.agentId, ...(promoted ? [promoted.agentId] : [])])) hooks.startNext(agentId);
}

/**
 * What the reaper finds out about a run before failing it: whether its process is still there
 * (this host only), which it stops; null when the run stays (its own child is alive: detached).
 */
async function prepareReap(deps: EngineDeps, hooks: ReaperHooks, candidate: OrphanCandidate): Promise<PreparedReap | null> {
  const { run, ownerDead } = candidate;
  const adapter = deps.adapters[candidate.adapterType];
  const local = processIsLocal(deps, candidate);
  const pid = run.processPid;
  const pgid = run.processGroupId ?? pid;
  const childAlive = local && pidAlive(pid);
  // Our own run whose handle we lost, with its child still running: keep it, flag it.
  if (childAlive && !ownerDead) {
    await markDetached(deps, run);
    return null;
  }
  const groupLeft = local && pgid !== null && (childAlive || (await groupAlive(pgid)));
  // A child of a dead server cannot report back (its output went to the dead server): stop it.
  if (groupLeft) await terminateGroup(pgid!, 2).done;
  const retry =
    run.processLossRetryCount < PROCESS_LOSS_MAX_RETRIES && ((adapter.localChild && (pid !== null || pgid !== null)) || ownerDead || hooks.abandoned.has(run.id));
  const message =
    (childAlive
      ? `Process lost -- the server running it stopped; process group ${pgid} was still alive and was terminated`
      : groupLeft
        ? `Process lost -- parent pid ${pid ?? 'unknown'} exited, but descendant process group ${pgid} was still alive and was terminated`
        : local && pid
          ? `Process lost -- child pid ${pid} is no longer running`
          : local && pgid
            ? `Process lost -- process group ${pgid} is no longer running`
            : 'Process lost -- server may have restarted') + (retry ? '; retrying once' : '');
  const why = candidate.lostBecause ? `Process lost -- ${candidate.lostBecause}${retry ? '; retrying once' : ''}` : message;
  return {
    candidate,
    lost: { message: why, retry, pid, pgid, descendantOnlyCleanup: groupLeft && !childAlive, groupTerminated: groupLeft },
  };
}
