// The end of a run (spec §6.4 steps 6–8): the terminal row, then the follow-up steps in their
// fixed order. Steps that belong to recovery (liveness, retries, comment policy, continuations)
// are named seams here; the recovery work fills them in.
import { eq } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import type { AdapterType, WakeupStatus } from '../db/enums.ts';
import { heartbeatRuns, issueComments } from '../db/schema.ts';
import type { AdapterResult } from './adapters/types.ts';
import { finalizeAgentStatus, updateRuntimeState } from './agent-status.ts';
import { boundDepth, RESULT_MAX_DEPTH } from './bounding.ts';
import { type EngineDeps, transact } from './deps.ts';
import type { LiveEvent } from './live-events.ts';
import { releaseIssueExecutionAndPromote } from './release.ts';
import { buildResultJson, resolveRunOutcome, type RunOutcome, runSummaryText, stopMetadataFor, type TerminalRunStatus } from './run-outcome.ts';
import { appendRunEvent } from './run-events.ts';
import type { RunOutputSummary } from './run-output.ts';
import { type RunRow, runStatusEvent, setWakeStatus } from './runs.ts';

export interface FinalizeInput {
  runId: string;
  agent: { id: string; adapterType: AdapterType; adapterConfig: Record<string, unknown> };
  result: AdapterResult;
  output: RunOutputSummary | null;
  /** Set when the adapter (or the setup before it) threw instead of resolving. */
  crashed?: boolean;
}

/** The follow-up steps, in spec order. Each is given the terminal run row. */
export interface FinalizeSteps {
  /** §6.7, inside the terminal transaction, for one run or many; returns the classified rows, in order. */
  classifyLiveness(tx: Transaction, events: LiveEvent[], runs: RunRow[]): Promise<RunRow[]>;
  postRunSummaryComment(run: RunRow): Promise<void>;
  /** §6.12 */
  scheduleTransientRetry(run: RunRow): Promise<void>;
  /** §6.10; returns a run it queued, which the engine starts. */
  applyIssueCommentPolicy(run: RunRow): Promise<RunRow | null>;
  /** §6.9; returns the run it promoted, which the engine starts. */
  releaseIssueExecution(run: RunRow): Promise<RunRow | null>;
  /** §6.8 */
  enqueueLivenessContinuation(run: RunRow): Promise<void>;
  updateRuntimeState(run: RunRow): Promise<void>;
  finalizeAgentStatus(run: RunRow): Promise<void>;
}

export const WAKE_STATUS_FOR: Record<TerminalRunStatus, WakeupStatus> = {
  succeeded: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  timed_out: 'timed_out',
};

export function coreFinalizeSteps(deps: EngineDeps, adapterType: AdapterType): FinalizeSteps {
  return {
    classifyLiveness: async (_tx, _events, runs) => runs,
    postRunSummaryComment: (run) => postRunSummaryComment(deps, run),
    scheduleTransientRetry: async () => {},
    applyIssueCommentPolicy: async () => null,
    releaseIssueExecution: async (run) => (await releaseIssueExecutionAndPromote(deps, run)).promoted,
    enqueueLivenessContinuation: async () => {},
    updateRuntimeState: (run) => updateRuntimeState(deps, run, adapterType),
    finalizeAgentStatus: (run) => finalizeAgentStatus(deps, run.agentId, run.status as TerminalRunStatus),
  };
}

/** The columns a run's terminal write sets besides its output (§6.4 step 6), as both finishes write them. */
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
 * Writes the terminal status (unless the row is already terminal, e.g. cancelled meanwhile: then
 * only the output is recorded, and not even that once the row is settled, e.g. reaped by another
 * instance, since nothing about a settled run changes) and returns the row, with `finalized`
 * telling which happened.
 */
export async function writeTerminalStatus(
  deps: EngineDeps,
  input: FinalizeInput,
  steps: FinalizeSteps,
): Promise<{ run: RunRow | null; finalized: boolean }> {
  return transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    const [row] = await tx.select().from(heartbeatRuns).where(eq(heartbeatRuns.id, input.runId)).for('update');
    // Deleting an agent deletes its runs; there is nothing left to record.
    if (!row) return { run: null, finalized: false };
    const output = outputColumns(input.output);
    const outcome = resolveRunOutcome(row, input.result);
    if (!outcome) {
      if (row.settledAt) return { run: row, finalized: false };
      const [kept] = await tx
        .update(heartbeatRuns)
        .set({ ...output, exitCode: input.result.exitCode ?? null, signal: input.result.signal ?? null, runTokenHash: null })
        .where(eq(heartbeatRuns.id, row.id))
        .returning();
      return { run: kept, finalized: false };
    }
    const [terminal] = await tx
      .update(heartbeatRuns)
      .set({ ...output, ...terminalColumns(outcome, input.result, input.agent.adapterConfig.timeoutSec, now) })
      .where(eq(heartbeatRuns.id, row.id))
      .returning();
    const [run] = await steps.classifyLiveness(tx, events, [terminal]);
    await setWakeStatus(tx, run.wakeupRequestId, WAKE_STATUS_FOR[outcome.status], now, outcome.error ? { error: outcome.error } : {});
    await appendRunEvent(
      tx,
      events,
      {
        runId: run.id,
        eventType: input.crashed ? 'error' : 'lifecycle',
        level: outcome.status === 'succeeded' ? 'info' : 'error',
        message: `run ${outcome.status}`,
        payload: { status: outcome.status, exitCode: run.exitCode, ...(outcome.error ? { error: outcome.error } : {}) },
      },
      now,
    );
    events.push(runStatusEvent(run));
    return { run, finalized: true };
  });
}

/**
 * Runs the follow-up steps of a run that was just finalized. A crashed adapter gets no retry and
 * no continuation (spec §6.4 step 9). Returns the runs they queued, which the engine starts.
 */
export async function runFollowUpSteps(steps: FinalizeSteps, run: RunRow, crashed: boolean): Promise<RunRow[]> {
  if (run.status === 'succeeded') await steps.postRunSummaryComment(run);
  if (!crashed) await steps.scheduleTransientRetry(run);
  const commentRetry = await steps.applyIssueCommentPolicy(run);
  const promoted = await steps.releaseIssueExecution(run);
  if (!crashed) await steps.enqueueLivenessContinuation(run);
  await steps.updateRuntimeState(run);
  await steps.finalizeAgentStatus(run);
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

