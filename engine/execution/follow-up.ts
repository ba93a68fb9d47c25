// What follows a run's finish (docs/engine.md §6.4 step 8), for the runs that need it
// (runs/finish.ts needsFollowUp), in their fixed order: the summary comment, a bounded retry, the
// comment policy, the issue's release (with immediate recovery), a liveness continuation. The
// caller settles the run after them.
import { issueComments } from '../../db/schema.ts';
import { scheduleBoundedRetry } from '../recovery/bounded-retry.ts';
import { applyIssueCommentPolicyIn } from '../recovery/comment-policy.ts';
import { enqueueLivenessContinuation, mayContinue } from '../recovery/continuation.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { settleRun } from '../runs/settle.ts';
import { immediateRecovery } from '../recovery/issue-recovery.ts';
import type { Wake } from '../issues/issues.ts';
import { releaseIssueExecutionAndPromote, releaseIssueExecutionIn } from '../recovery/issue-release.ts';
import { transientContract } from '../rules/retry-schedule.ts';
import { runSummaryText } from '../rules/run-outcome.ts';
import type { RunRow } from '../model/runs.ts';

/** The follow-up steps, in spec order. Each is given the terminal run row. */
export interface FollowUpSteps {
  postRunSummaryComment(run: RunRow): Promise<void>;
  /** §6.12 */
  scheduleTransientRetry(run: RunRow): Promise<void>;
  /**
   * §6.10 then §6.9 in one transaction: the comment policy (a run it queued) and the issue's release
   * (the run it promoted, or a recovery run); with `settle`, the run is settled in it too.
   */
  answerAndRelease(run: RunRow, settle: boolean): Promise<{ commentRetry: RunRow | null; promoted: RunRow | null }>;
  /** §6.9 alone (the reaper's, for a lost run); returns the run it promoted, which the engine starts. */
  releaseIssueExecution(run: RunRow): Promise<RunRow | null>;
  /** §6.8 */
  enqueueLivenessContinuation(run: RunRow): Promise<void>;
}

/** The engine's follow-up steps, built once: the same steps serve every run. */
export function followUpSteps(deps: EngineDeps, wake: Wake): FollowUpSteps {
  return {
    postRunSummaryComment: (run) => postRunSummaryComment(deps, run),
    scheduleTransientRetry: async (run) => {
      if (run.status === 'failed' && transientContract(run)) await scheduleBoundedRetry(deps, run.id);
    },
    answerAndRelease: (run, settle) =>
      transact(deps, async (tx, events) => {
        const now = deps.clock.now();
        const commentRetry = await applyIssueCommentPolicyIn(tx, events, run, now);
        const { promoted } = await releaseIssueExecutionIn(tx, events, run, now, { immediateRecovery });
        if (settle) await settleRun(tx, events, run.id, now);
        return { commentRetry, promoted };
      }),
    releaseIssueExecution: async (run) => (await releaseIssueExecutionAndPromote(deps, run, { immediateRecovery })).promoted,
    enqueueLivenessContinuation: (run) => enqueueLivenessContinuation(deps, wake, run),
  };
}

/**
 * Runs the follow-up steps of a run that was just finished (its agent's status and counters were
 * written with it). A crashed adapter gets no retry and no continuation (§6.4 step 9). Returns the
 * runs they queued, which the engine starts, and whether the run was settled with them: it is,
 * in the comment policy's and release's transaction, unless a continuation may still follow it
 * (then its caller settles it after).
 */
export async function runFollowUpSteps(steps: FollowUpSteps, run: RunRow, crashed: boolean): Promise<{ queued: RunRow[]; settled: boolean }> {
  if (run.status === 'succeeded') await steps.postRunSummaryComment(run);
  if (!crashed) await steps.scheduleTransientRetry(run);
  const continues = !crashed && mayContinue(run);
  const { commentRetry, promoted } = await steps.answerAndRelease(run, !continues);
  if (continues) await steps.enqueueLivenessContinuation(run);
  return { queued: [commentRetry, promoted].filter((queued): queued is RunRow => queued !== null), settled: !continues };
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

