// What follows a run's finish (docs/engine.md §6.4 steps 7-8), for the runs that need it
// (finish.ts needsFollowUp), in their fixed order. Steps that belong to recovery (retries, comment
// policy, continuations) are named seams here; the recovery work fills them in.
import type { WakeupStatus } from '../db/enums.ts';
import { issueComments } from '../db/schema.ts';
import type { AdapterResult } from './adapters/types.ts';
import { boundDepth, RESULT_MAX_DEPTH } from './bounding.ts';
import type { EngineDeps } from './deps.ts';
import { releaseIssueExecutionAndPromote } from './release.ts';
import { buildResultJson, type RunOutcome, runSummaryText, stopMetadataFor, type TerminalRunStatus } from './run-outcome.ts';
import type { RunOutputSummary } from './run-output.ts';
import type { RunRow } from './runs.ts';

/** The follow-up steps, in spec order. Each is given the terminal run row. */
export interface FinalizeSteps {
  postRunSummaryComment(run: RunRow): Promise<void>;
  /** §6.12 */
  scheduleTransientRetry(run: RunRow): Promise<void>;
  /** §6.10; returns a run it queued, which the engine starts. */
  applyIssueCommentPolicy(run: RunRow): Promise<RunRow | null>;
  /** §6.9; returns the run it promoted, which the engine starts. */
  releaseIssueExecution(run: RunRow): Promise<RunRow | null>;
  /** §6.8 */
  enqueueLivenessContinuation(run: RunRow): Promise<void>;
}

export const WAKE_STATUS_FOR: Record<TerminalRunStatus, WakeupStatus> = {
  succeeded: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  timed_out: 'timed_out',
};

export function coreFinalizeSteps(deps: EngineDeps): FinalizeSteps {
  return {
    postRunSummaryComment: (run) => postRunSummaryComment(deps, run),
    scheduleTransientRetry: async () => {},
    applyIssueCommentPolicy: async () => null,
    releaseIssueExecution: async (run) => (await releaseIssueExecutionAndPromote(deps, run)).promoted,
    enqueueLivenessContinuation: async () => {},
  };
}

/** The columns a run's terminal write sets besides its output (§6.4 step 6). */
export function terminalColumns(outcome: RunOutcome, result: AdapterResult, configuredTimeoutSec: unknown, now: Date) {
  const stop = stopMetadataFor({
    status: outcome.status,
    errorCode: outcome.errorCode,
    error: outcome.error,
    configuredTimeoutSec,
    adapterDefaultTimeoutSec: 0,
  });
  return {
    status: outcome.status,
    error: outcome.error,
    errorCode: outcome.errorCode,
    finishedAt: now,
    updatedAt: now,
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    usageJson: result.usage == null ? null : (boundDepth(result.usage, RESULT_MAX_DEPTH) as typeof result.usage),
    resultJson: buildResultJson(result, stop),
    runTokenHash: null,
  };
}

/** The run's output summary as the columns the terminal write stores. */
export function outputColumns(output: RunOutputSummary | null) {
  return output
    ? {
        logStore: output.logStore,
        logRef: output.logRef,
        logBytes: output.logBytes,
        logSha256: output.logSha256,
        stdoutExcerpt: output.stdoutExcerpt,
        stderrExcerpt: output.stderrExcerpt,
        lastOutputAt: output.lastOutputAt,
        lastOutputSeq: output.lastOutputSeq,
        lastOutputStream: output.lastOutputStream,
        lastOutputBytes: output.lastOutputBytes,
      }
    : {};
}

/**
 * Runs the follow-up steps of a run that was just finished (its agent's status and counters were
 * written with it). A crashed adapter gets no retry and no continuation (§6.4 step 9). Returns the
 * runs they queued, which the engine starts.
 */
export async function runFollowUpSteps(steps: FinalizeSteps, run: RunRow, crashed: boolean): Promise<RunRow[]> {
  if (run.status === 'succeeded') await steps.postRunSummaryComment(run);
  if (!crashed) await steps.scheduleTransientRetry(run);
  const commentRetry = await steps.applyIssueCommentPolicy(run);
  const promoted = await steps.releaseIssueExecution(run);
  if (!crashed) await steps.enqueueLivenessContinuation(run);
  return [commentRetry, promoted].filter((queued): queued is RunRow => queued !== null);
}

/** A succeeded issue run that never commented leaves its summary as the run's comment. */
async function postRunSummaryComment(deps: EngineDeps, run: RunRow): Promise<void> {
  if (!run.issueId) return;
  const summary = runSummaryText(run.resultJson);
  if (!summary) return;
  const existing = await deps.db.query.issueComments.findFirst({ where: { createdByRunId: run.id }, columns: { id: true } });
  if (existing) return;
  const now = deps.clock.now();
  await deps.db.insert(issueComments).values({
    companyId: run.companyId,
    issueId: run.issueId,
    body: summary,
    authorAgentId: run.agentId,
    createdByRunId: run.id,
    createdAt: now,
    updatedAt: now,
  });
}

