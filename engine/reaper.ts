// The reaper's pass (spec §6.11): every orphaned run is checked on this host where possible, its
// leftover processes stopped, and it is failed and retried once, or flagged detached.
import type { AdapterType } from '../db/enums.ts';
import { finalizeAgentStatus } from './agent-status.ts';
import type { EngineDeps } from './deps.ts';
import type { FinalizeSteps } from './finalize.ts';
import { groupAlive, pidAlive, terminateGroup } from './process-groups.ts';
import { failLostRun, findAbandonedCancels, findOrphanedRuns, markDetached, type OrphanCandidate, PROCESS_LOSS_MAX_RETRIES } from './process-loss.ts';

export interface ReaperHooks {
  activeRunIds: ReadonlySet<string>;
  stepsFor(adapterType: AdapterType): FinalizeSteps;
  settle(runId: string): Promise<void>;
  startNext(agentId: string): void;
}

export async function reapOrphanedRuns(deps: EngineDeps, hooks: ReaperHooks): Promise<{ reaped: number; runIds: string[] }> {
  const candidates = await findOrphanedRuns(deps, hooks.activeRunIds);
  const runIds: string[] = [];
  for (const candidate of candidates) {
    if (await reapOne(deps, hooks, candidate)) runIds.push(candidate.run.id);
  }
  for (const candidate of await findAbandonedCancels(deps, hooks.activeRunIds)) await settleAbandonedCancel(deps, hooks, candidate);
  return { reaped: runIds.length, runIds };
}

/** Whether the run's process (if it had one) is a child process on this host, which this instance can check and stop. */
function processIsLocal(deps: EngineDeps, { run, adapterType }: OrphanCandidate): boolean {
  return deps.adapters[adapterType].localChild && (run.ownerHost === null || run.ownerHost === deps.settings.host);
}

/** A cancelled run whose executor died before it settled: its leftover processes stop, it settles. */
async function settleAbandonedCancel(deps: EngineDeps, hooks: ReaperHooks, candidate: OrphanCandidate): Promise<void> {
  const { run } = candidate;
  const pgid = run.processGroupId ?? run.processPid;
  if (processIsLocal(deps, candidate) && pgid !== null && (await groupAlive(pgid))) await terminateGroup(pgid, 2).done;
  await hooks.settle(run.id);
}

async function reapOne(deps: EngineDeps, hooks: ReaperHooks, candidate: OrphanCandidate): Promise<boolean> {
  const { run, ownerDead } = candidate;
  const adapter = deps.adapters[candidate.adapterType];
  const local = processIsLocal(deps, candidate);
  const pid = run.processPid;
  const pgid = run.processGroupId ?? pid;
  const childAlive = local && pidAlive(pid);
  // Our own run whose handle we lost, with its child still running: keep it, flag it.
  if (childAlive && !ownerDead) {
    await markDetached(deps, run);
    return false;
  }
  const groupLeft = local && pgid !== null && (childAlive || (await groupAlive(pgid)));
  // A child of a dead server cannot report back (its output went to the dead server): stop it.
  if (groupLeft) await terminateGroup(pgid!, 2).done;
  const retry = run.processLossRetryCount < PROCESS_LOSS_MAX_RETRIES && ((adapter.localChild && (pid !== null || pgid !== null)) || ownerDead);
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
  const steps = hooks.stepsFor(candidate.adapterType);
  const lost = await failLostRun(deps, candidate, { message, retry, pid, pgid, descendantOnlyCleanup: groupLeft && !childAlive }, steps.classifyLiveness);
  if (!lost) return false;
  const promoted = lost.retry ? null : await steps.releaseIssueExecution(lost.failed);
  await finalizeAgentStatus(deps, run.agentId, 'failed');
  await hooks.settle(run.id);
  for (const next of [lost.retry, promoted]) if (next) hooks.startNext(next.agentId);
  hooks.startNext(run.agentId);
  return true;
}
