// What follows a run's finish (docs/engine.md §6.4 step 8), for the runs that need it
// (runs/finish.ts needsFollowUp), in their fixed order: a bounded retry (one run at a time), then
// the summary comment, the comment policy, the issue's release (with immediate recovery), the
// continuation summary and the settle, in one transaction for any number of runs, each step written for all of them at once
// (the engine batches follow-ups as it batches finishes), then, for a run that only planned or said
// nothing, a liveness continuation, after which that run is settled. Only the run's owner writes
// them (runs/follow-up-owner.ts); a run whose owner died before they were written is taken over by
// another instance, which completes them through the same steps (completeTakenOverFollowUp, §6.11-K).
import { sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';
import { scheduleBoundedRetry } from '../recovery/bounded-retry.ts';
import { applyIssueCommentPolicy } from '../recovery/comment-policy.ts';
import { enqueueLivenessContinuation, mayContinue } from '../recovery/continuation.ts';
import { immediateRecovery } from '../recovery/issue-recovery.ts';
import { releaseIssueExecutionAndPromote, releaseIssues } from '../recovery/issue-release.ts';
import type { Wake } from '../issues/issues.ts';
import { transientContract } from '../rules/retry-schedule.ts';
import { runSummaryText } from '../rules/run-outcome.ts';
import { type CommentAnswer, settleRun } from '../runs/settle.ts';
import type { FollowUpInFinish } from '../runs/finish.ts';
import { writeContinuationSummaries } from '../issues/continuation-summary.ts';
import { lockOwnFollowUps, type TakenOverRun } from '../runs/follow-up-owner.ts';
import type { RunEvidence } from '../runs/liveness-evidence.ts';
import { isDatabaseUnavailable } from '../store/database-unavailable.ts';
import { executePrepared, json } from '../store/statements.ts';

/** The steps that act on one run at a time, and the release alone (the reaper's, for a lost run). */
export interface FollowUpSteps {
  /** §6.12 */
  scheduleTransientRetry(run: RunRow): Promise<void>;
  /** §6.8 */
  enqueueLivenessContinuation(run: RunRow): Promise<void>;
  /** §6.9 alone; returns the run it promoted or queued to recover, which the engine starts. */
  releaseIssueExecution(run: RunRow): Promise<RunRow | null>;
  /**
   * §6.13, §6.11-H: the release a cancelled run's settle makes first, as its canceller's release
   * (no recovery: it was stopped), but only while an issue's lock still names the run: its
   * canceller died before releasing it, or has not yet. A release already made is not made again.
   * Returns the run it promoted, which the engine starts.
   */
  releaseCancelled(run: RunRow): Promise<RunRow | null>;
}

/** The engine's follow-up steps, built once: the same steps serve every run. */
export function followUpSteps(deps: EngineDeps, wake: Wake): FollowUpSteps {
  return {
    scheduleTransientRetry: async (run) => {
      // Only while the run is this instance's to follow up (a taken-over run is the taker's, §6.11-K).
      if (run.status === 'failed' && transientContract(run)) await scheduleBoundedRetry(deps, run.id, { followUpOf: deps.settings.instanceId });
    },
    enqueueLivenessContinuation: (run) => enqueueLivenessContinuation(deps, wake, run),
    releaseIssueExecution: async (run) => (await releaseIssueExecutionAndPromote(deps, run, { immediateRecovery })).promoted,
    releaseCancelled: async (run) => (await releaseIssueExecutionAndPromote(deps, run, { heldOnly: true })).promoted,
  };
}

/** A finished run that needs its follow-up steps; `crashed`: no retry and no continuation (§6.4 step 9). */
export interface FollowUp {
  run: RunRow;
  crashed: boolean;
  /** What the finish read of the run's work (runs/finish.ts): the continuation summary uses it instead of reading it again. */
  evidence?: RunEvidence;
}

/**
 * The follow-up steps of finished runs that are written together (their agents' status and counters
 * were written with them; a bounded retry was scheduled before): the summary comments, the comment
 * policy, the release and the settle, in one transaction, each for all the runs at once. Returns,
 * per run, the runs they queued (which the engine starts) and whether the run was settled: it is,
 * unless a continuation may still follow it (then its caller runs that step and settles it after).
 * A run that is not this instance's to follow up any more (settled, or taken over by another
 * instance after this one was declared dead, §6.11-K) is left alone and answered as settled: its
 * caller has nothing more to do for it. All or nothing: a batch that fails is written again one run
 * at a time.
 */
export async function writeFollowUps(deps: EngineDeps, items: FollowUp[]): Promise<Array<{ queued: RunRow[]; settled: boolean }>> {
  return transact(deps, async (tx, events) => {
    // The runs first (§6.17), locked: their owner writes their follow-up, once.
    const own = await lockOwnFollowUps(tx, items.map((item) => item.run.id), deps.settings.instanceId);
    const kept = items.filter((item) => own.has(item.run.id));
    const continues = kept.map(({ run, crashed }) => !crashed && mayContinue(run));
    const now = deps.clock.now();
    const written = await followUpWrites(tx, events, kept, now);
    // The comment policy's answers are written by the settle's statement (one row version per run).
    await settleRun(tx, events, kept.filter((_, i) => !continues[i]).map((item) => item.run.id), now, written.flatMap((w) => (w.comment ? [w.comment] : [])));
    const answers = new Map(kept.map((item, i) => [item.run.id, { queued: written[i].queued, settled: !continues[i] }]));
    return items.map((item) => answers.get(item.run.id) ?? { queued: [], settled: true });
  });
}

/**
 * The follow-up's writes for finished runs the caller's transaction holds, each step for all of them
 * at once: the summary comments, the comment policy, the release (with immediate recovery) and the
 * continuation summaries. Per run: the runs they queued and the comment policy's answer, which the
 * caller records with the run's settle (writeFollowUps), or with its terminal write (the finish that
 * writes its run's follow-up itself, followUpInFinish).
 */
async function followUpWrites(tx: Transaction, events: LiveEvent[], items: FollowUp[], now: Date): Promise<Array<{ queued: RunRow[]; comment: CommentAnswer | null }>> {
  const runs = items.map((item) => item.run);
  // What the finish read of the runs' comments (their evidence) is not read again: a run known to
  // have commented gets no summary comment, and its first comment satisfies the policy.
  const firstComments = new Map(items.flatMap(({ run, evidence }) => (evidence?.firstCommentId ? [[run.id, evidence.firstCommentId] as const] : [])));
  const posted = await postRunSummaryComments(tx, runs.filter((run) => run.status === 'succeeded' && !firstComments.has(run.id)), now);
  const commentPolicy = await applyIssueCommentPolicy(tx, events, runs, now, firstComments);
  const released = await releaseIssues(tx, events, runs, now, { immediateRecovery });
  await writeContinuationSummaries(tx, runs, now, knownEvidence(items, posted, now));
  const comments = new Map(commentPolicy.answers.map((answer) => [answer.runId, answer]));
  return runs.map((run, i) => ({
    queued: [commentPolicy.queued[i], released[i].promoted].filter((queued): queued is RunRow => queued !== null),
    comment: comments.get(run.id) ?? null,
  }));
}

/**
 * The follow-up a finish writes in its own transaction (runs/finish.ts FollowUpInFinish), for the
 * common run on an issue: it succeeded, commented on its issue, spent nothing, and nothing may
 * continue it. Its steps are then the release and the continuation summary (the comment policy is
 * satisfied by its comment, no summary comment is posted, no bounded retry or budget check comes
 * first), and the finish settles it with its terminal write: one transaction and one row version
 * fewer than a follow-up of its own. Every other run that needs a follow-up gets writeFollowUps.
 */
export const followUpInFinish: FollowUpInFinish = {
  admits: ({ run, crashed, evidence, costCents }) =>
    run.issueId !== null && run.status === 'succeeded' && !crashed && costCents === 0 && (evidence?.comments.length ?? 0) > 0 && !mayContinue(run),
  write: followUpWrites,
};

/** Runs each write as it is (the default), or through a wrapper such as the executor's outage retry. */
type Durably = <T>(write: () => Promise<T>) => Promise<T>;
const directly: Durably = (write) => write();

/**
 * §6.4 steps 8.5 and 10 for a run writeFollowUps left unsettled: its liveness continuation, then its
 * settle. The continuation (its idempotency key makes a repeat harmless) refused for any reason but
 * an unreachable database is logged and the run is settled all the same: an unsettled run would keep
 * its subscribers waiting and its log out of retention for good.
 */
export async function continueAndSettle(deps: EngineDeps, steps: FollowUpSteps, run: RunRow, durably: Durably = directly): Promise<void> {
  await durably(() => steps.enqueueLivenessContinuation(run)).catch((error: unknown) => {
    if (isDatabaseUnavailable(error)) throw error;
    deps.logger.error({ err: error, runId: run.id }, 'the liveness continuation could not be queued; the run is settled without it');
  });
  await durably(() => transact(deps, (tx, events) => settleRun(tx, events, run.id, deps.clock.now())));
}

/**
 * The follow-up of a finished run this instance took over because its owner died before writing it
 * (docs/engine.md §6.11-K; runs/follow-up-owner.ts takeOverFollowUps), decided from the run as
 * stored: the steps the owner would have taken after the finish, through the same functions, less
 * what it had already written. Returns the runs they queued, which the engine starts.
 */
export async function completeTakenOverFollowUp(deps: EngineDeps, steps: FollowUpSteps, taken: TakenOverRun): Promise<RunRow[]> {
  const { run } = taken;
  if (run.errorCode === 'process_lost') {
    // Failed by a reaper that died before releasing its issue (§6.11-A): the reaper's own follow-up.
    const promoted = taken.followUpWritten ? null : await steps.releaseIssueExecution(run);
    await transact(deps, (tx, events) => settleRun(tx, events, run.id, deps.clock.now()));
    return promoted ? [promoted] : [];
  }
  let queued: RunRow[] = [];
  // writeFollowUps settles, in its own transaction, every run but one that may still continue: only
  // such a run can be left with its follow-up written and the continuation and the settle to come.
  if (!(taken.followUpWritten && mayContinue(run))) {
    if (!taken.boundedRetryDone) await steps.scheduleTransientRetry(run);
    // Whether the run crashed (§6.4 step 9) is not stored, and need not be: a crash fails the run
    // with one of the engine's codes and no error family, so it has no transient contract, and a
    // failed run does not continue (its liveness is `failed`).
    const [answer] = await writeFollowUps(deps, [{ run, crashed: false }]);
    if (answer.settled) return answer.queued;
    queued = answer.queued;
  }
  await continueAndSettle(deps, steps, run);
  return queued;
}

/**
 * What the finish read of each run's work, with the summary comment posted for it since (newest
 * first, as read): the same as reading it again in this transaction.
 */
function knownEvidence(items: FollowUp[], posted: Map<string, string>, now: Date): Map<string, RunEvidence> {
  const known = new Map<string, RunEvidence>();
  for (const { run, evidence } of items) {
    if (!evidence) continue;
    const summary = posted.get(run.id);
    known.set(run.id, summary === undefined ? evidence : { ...evidence, comments: [{ body: summary, createdAt: now }, ...evidence.comments] });
  }
  return known;
}

/**
 * A succeeded issue run that never commented leaves its summary as the run's comment (after its
 * classification, so it is not evidence, but it satisfies the comment policy): one statement for
 * all of them. Returns the summaries it posted, by run.
 */
async function postRunSummaryComments(tx: Transaction, runs: RunRow[], now: Date): Promise<Map<string, string>> {
  const rows = runs.flatMap((run) => {
    const summary = run.issueId ? runSummaryText(run.resultJson) : null;
    return summary ? [{ run_id: run.id, company_id: run.companyId, issue_id: run.issueId, agent_id: run.agentId, body: summary }] : [];
  });
  if (rows.length === 0) return new Map();
  const inserted = await executePrepared<{ run_id: string; body: string }>(tx, sql`
    insert into issue_comments (company_id, issue_id, body, author_agent_id, created_by_run_id, created_at, updated_at)
    select s.company_id, s.issue_id, s.body, s.agent_id, s.run_id, ${now.toISOString()}::timestamptz, ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${json(rows)}::jsonb) as s(run_id uuid, company_id uuid, issue_id uuid, agent_id uuid, body text)
    where not exists (select 1 from issue_comments c where c.created_by_run_id = s.run_id)
    returning created_by_run_id as run_id, body`);
  return new Map(inserted.map((row) => [row.run_id, row.body]));
}
