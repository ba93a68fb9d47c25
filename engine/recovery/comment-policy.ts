// Issue comment policy (spec §6.10): a run woken for a reason that needs an answer on its issue
// (an assignment, a review request, ...) and that left no comment gets one more run to write it.
import { setIssueCommentStatus } from '../runs/annotations.ts';
import type { CommentAnswer } from '../runs/settle.ts';
import { executePrepared, uuidArray } from '../store/statements.ts';
import { and, eq, sql } from 'drizzle-orm';
import { issues, wakeupRequests } from '../../db/schema.ts';
import type { Transaction } from '../../db/client.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { appendRunEvent } from '../runs/events.ts';
import { type RunRow, runQueuedEvent } from '../model/runs.ts';
import { stampIssueLock } from '../runs/issue-lock.ts';
import { insertSystemWakeup } from '../runs/system-wakeups.ts';
import { COMMENT_REQUIRED_REASONS, latestWakeCommentId } from '../rules/wake-context.ts';

const MISSING_COMMENT = 'missing_issue_comment';

/**
 * §6.10 for finished runs, one or many, in the caller's transaction (the follow-up steps run it with
 * the release). The common answers, no issue (not applicable) or a comment written by the run
 * (satisfied, read for all in one statement), are returned for the settle to write with its own
 * statement (runs/settle.ts). A run on an issue that left no comment goes on alone: it may get one
 * comment retry. `firstComments`: the first comment of runs whose comments were read already (the
 * finish's evidence; comments are never deleted): not read again. Returns, per run, the run it
 * queued (the engine starts it), if any.
 */
export async function applyIssueCommentPolicy(
  tx: Transaction,
  events: LiveEvent[],
  runs: RunRow[],
  now: Date,
  firstComments: ReadonlyMap<string, string> = new Map(),
): Promise<{ queued: Array<RunRow | null>; answers: CommentAnswer[] }> {
  const onIssues = runs.filter((run) => run.issueId);
  const unread = onIssues.filter((run) => !firstComments.has(run.id));
  const comments = new Map([
    ...firstComments,
    ...(unread.length === 0
      ? []
      : (
          await executePrepared<{ run_id: string; id: string }>(
            tx,
            sql`select distinct on (created_by_run_id) created_by_run_id as run_id, id from issue_comments
                where created_by_run_id = any(${uuidArray(unread.map((run) => run.id))}::uuid[]) order by created_by_run_id, created_at, id`,
          )
        ).map((row): [string, string] => [row.run_id, row.id])),
  ]);
  const answers: CommentAnswer[] = [
    ...runs.filter((run) => !run.issueId).map((run) => ({ runId: run.id, status: 'not_applicable' as const })),
    ...onIssues.flatMap((run) => (comments.has(run.id) ? [{ runId: run.id, status: 'satisfied' as const, satisfiedBy: comments.get(run.id)! }] : [])),
  ];
  const queued: Array<RunRow | null> = [];
  for (const run of runs) queued.push(run.issueId && !comments.has(run.id) ? await withoutComment(tx, events, { ...run, issueId: run.issueId }, now) : null);
  return { queued, answers };
}

/** A run on an issue that left no comment: whether its wake asked for one, and its one retry. */
async function withoutComment(tx: Transaction, events: LiveEvent[], run: RunRow & { issueId: string }, now: Date): Promise<RunRow | null> {
  const setStatus = (status: RunRow['issueCommentStatus'], extra: Parameters<typeof setIssueCommentStatus>[3] = {}) => setIssueCommentStatus(tx, run.id, status, extra);
  const ctx = run.contextSnapshot;
  if (ctx.retryReason === MISSING_COMMENT) {
    await setStatus('retry_exhausted');
    await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'warn', message: 'The run again left no comment on its issue; no further comment retry will be queued' }, now);
    return null;
  }
  if (!COMMENT_REQUIRED_REASONS.includes(String(ctx.wakeReason))) {
    await setStatus('not_applicable');
    return null;
  }
  const [deferredWithComment] = await tx
    .select({ id: wakeupRequests.id, payload: wakeupRequests.payload })
    .from(wakeupRequests)
    .where(and(eq(wakeupRequests.agentId, run.agentId), eq(wakeupRequests.status, 'deferred_issue_execution'), sql`${wakeupRequests.payload}->>'issueId' = ${run.issueId}`));
  if (deferredWithComment && latestWakeCommentId((deferredWithComment.payload?._deferredWakeContext ?? {}) as Record<string, unknown>)) {
    await setStatus('not_applicable');
    await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'info', message: 'A comment is already waiting for this agent on the issue; no comment retry is needed' }, now);
    return null;
  }
  const [issue] = await tx.select().from(issues).where(and(eq(issues.id, run.issueId), eq(issues.executionRunId, run.id))).for('update');
  if (!issue) {
    await setStatus('retry_exhausted');
    return null;
  }
  const agent = await tx.query.agents.findFirst({ where: { id: run.agentId }, columns: { name: true } });
  const queued = await insertSystemWakeup(tx, {
    companyId: run.companyId,
    agentId: run.agentId,
    issueId: issue.id,
    reason: MISSING_COMMENT,
    payload: { issueId: issue.id, retryOfRunId: run.id, retryReason: MISSING_COMMENT },
    run: {
      status: 'queued',
      contextSnapshot: { ...ctx, retryOfRunId: run.id, wakeReason: MISSING_COMMENT, retryReason: MISSING_COMMENT, missingIssueCommentForRunId: run.id },
      retryOfRunId: run.id,
    },
    now,
  });
  await stampIssueLock(tx, events, issue, queued, agent?.name ?? '', now);
  await setStatus('retry_queued', { issueCommentRetryQueuedAt: now });
  events.push(runQueuedEvent(queued));
  await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'warn', message: `The run left no comment on its issue; queued run ${queued.id} to write one`, payload: { retryRunId: queued.id } }, now);
  return queued;
}
