// The issue model the engine works on: create/update/assign, comments, documents and blockers.
// Changes that concern an agent wake it through `wake` (the engine's enqueueWakeup).
import { HOST_ADAPTERS_REFUSED } from '../rules/host-adapters.ts';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import type { IssuePriority, IssueStatus } from '../../db/enums.ts';
import { issueDocumentRevisions, issueDocuments, issueRelations, issues, wakeupRequests } from '../../db/schema.ts';
import type { IssueActions } from '../adapters/types.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { badInput, conflict, forbidden, HeartbeatError, notFound } from '../model/errors.ts';
import { issueReadiness } from '../runs/issue-readiness.ts';
import { CONTINUATION_SUMMARY_KEY } from '../runs/liveness-evidence.ts';
import { RESOLVED_ISSUE_STATUSES } from '../model/issues.ts';
import { clearDetachedFlag } from '../runs/lost-runs.ts';
import { type CommentWrite, type CommentWritePort, writeIssueComment } from './comment-write.ts';
import { findProject } from '../costs/projects.ts';
import type { IssueRow, RunRow } from '../model/runs.ts';
import type { EnqueueResult, EnqueueWakeupInput } from '../wakeups/enqueue.ts';

export type RunIssueActions = IssueActions;
export type Wake = (input: EnqueueWakeupInput) => Promise<EnqueueResult>;
type Actor = { type: 'user'; id: string | null } | { type: 'run'; run: Pick<RunRow, 'id' | 'agentId' | 'issueId'> };

// userId: an identifier, bounded like the other short strings of the API (agent names, reasons, keys).
const LIMITS = { title: 500, description: 100_000, comment: 100_000, document: 1_000_000, userId: 200 };
const DOCUMENT_KEY = /^[a-z0-9][a-z0-9._-]{0,63}$/i;
/** Statuses in which an assigned agent is expected to work. */
const WORKABLE: readonly IssueStatus[] = ['todo', 'in_progress', 'blocked'];

function text(field: string, value: string, max: number, { allowEmpty = false } = {}): string {
  const trimmed = value.trim();
  if (!allowEmpty && trimmed.length === 0) throw badInput(`${field} must not be empty`, { field });
  if (value.length > max) throw badInput(`${field} is longer than ${max} characters`, { field });
  return allowEmpty ? value : trimmed;
}

export async function findIssue(db: Executor, companyId: string, issueId: string): Promise<IssueRow> {
  const issue = await db.query.issues.findFirst({ where: { id: issueId, companyId } });
  if (!issue) throw notFound('Issue');
  return issue;
}

async function assertAgentInCompany(db: Executor, companyId: string, agentId: string): Promise<void> {
  const agent = await db.query.agents.findFirst({ where: { id: agentId, companyId }, columns: { id: true } });
  if (!agent) throw notFound('Agent');
}

const userIdOf = (value: string | null | undefined) => (value == null ? null : text('userId', value, LIMITS.userId));

/**
 * Wakes the agent a change concerns, once the change is stored. An agent that cannot be woken now
 * (paused, terminated, awaiting approval, refused by canInvoke) makes the wakeup SKIPPED with the
 * reason, not the mutation an error: the change stands (a paused assignee works on it once
 * resumed), so the caller must not be told it failed.
 */
async function wakeAfterChange(deps: EngineDeps, wake: Wake, input: EnqueueWakeupInput): Promise<EnqueueResult> {
  try {
    return await wake(input);
  } catch (error) {
    const refusedByHost = error instanceof HeartbeatError && error.code === 'FORBIDDEN' && error.details?.reason === HOST_ADAPTERS_REFUSED;
    if (!(error instanceof HeartbeatError) || (error.code !== 'CONFLICT' && error.code !== 'BUDGET_EXCEEDED' && !refusedByHost)) throw error;
    return { outcome: 'skipped', wakeupRequest: await skippedWakeRow(deps, input, error), run: null, startAgentId: null };
  }
}

async function skippedWakeRow(deps: EngineDeps, input: EnqueueWakeupInput, refused: HeartbeatError) {
  const reason = typeof refused.details?.reason === 'string' ? refused.details.reason : 'agent.not_invokable';
  if (reason === 'budget.blocked' || reason === HOST_ADAPTERS_REFUSED) {
    // The refusal already stored its skipped row (spec §6.1 step 2): answer with it.
    const [recorded] = await deps.db
      .select()
      .from(wakeupRequests)
      .where(
        and(
          eq(wakeupRequests.companyId, input.companyId),
          eq(wakeupRequests.agentId, input.agentId),
          eq(wakeupRequests.status, 'skipped'),
          eq(wakeupRequests.reason, reason),
          sql`${wakeupRequests.payload}->>'issueId' = ${String(input.payload?.issueId)}`,
        ),
      )
      .orderBy(desc(wakeupRequests.createdAt), desc(wakeupRequests.id))
      .limit(1);
    if (recorded) return recorded;
  }
  const now = deps.clock.now();
  const [row] = await deps.db
    .insert(wakeupRequests)
    .values({
      companyId: input.companyId,
      agentId: input.agentId,
      source: input.source ?? 'on_demand',
      triggerDetail: input.triggerDetail ?? null,
      reason,
      payload: input.payload ?? null,
      requestedByActorType: input.actor?.type ?? null,
      requestedByActorId: input.actor?.id ?? null,
      status: 'skipped',
      error: refused.message,
      requestedAt: now,
      finishedAt: now,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  return row;
}

const assignmentWake = (issue: IssueRow, actor: Actor | null): EnqueueWakeupInput => ({
  companyId: issue.companyId,
  agentId: issue.assigneeAgentId!,
  source: 'assignment',
  triggerDetail: 'system',
  reason: 'issue_assigned',
  payload: { issueId: issue.id },
  actor: actor?.type === 'user' ? { type: 'user', id: actor.id } : { type: 'system', id: null },
});

export interface CreateIssueInput {
  companyId: string;
  title: string;
  description?: string | null;
  status?: IssueStatus;
  priority?: IssuePriority;
  assigneeAgentId?: string | null;
  assigneeUserId?: string | null;
  /** The project it belongs to (cost and budgets can be scoped to it). */
  projectId?: string | null;
}

/**
 * The company's next issue number, taken in a statement of its own. The counter's row lock is held
 * only while that statement commits, and its commit does not wait for the WAL to reach the disk
 * (synchronous_commit off for it alone): concurrent creations are not serialised on one company's
 * row for a disk flush each. Nothing is lost by it: the issue's own commit, which does wait, flushes
 * the WAL before it, counter included; a crash before that loses the number and the issue together.
 * An issue whose insert then fails leaves its number unused (identifiers may have gaps); the unique
 * (company, identifier) index keeps them distinct whatever happens.
 */
async function nextIssueNumber(deps: EngineDeps, companyId: string): Promise<{ counter: number; prefix: string }> {
  const [company] = await deps.db.execute<{ counter: number; prefix: string }>(sql`
    with no_flush_wait as (select set_config('synchronous_commit', 'off', true))
    update companies set issue_counter = issue_counter + 1
    where id = ${companyId} and exists (select 1 from no_flush_wait)
    returning issue_counter as counter, issue_prefix as prefix`);
  if (!company) throw notFound('Company');
  return company;
}

export async function createIssue(deps: EngineDeps, wake: Wake, input: CreateIssueInput, actor: Actor | null) {
  const title = text('title', input.title, LIMITS.title);
  const description = input.description == null ? null : text('description', input.description, LIMITS.description, { allowEmpty: true });
  const assigneeUserId = userIdOf(input.assigneeUserId);
  if (input.assigneeAgentId && assigneeUserId) throw badInput('An issue has one assignee: an agent or a user, not both');
  if (input.assigneeAgentId) await assertAgentInCompany(deps.db, input.companyId, input.assigneeAgentId);
  if (input.projectId) await findProject(deps.db, input.companyId, input.projectId);
  const now = deps.clock.now();
  const company = await nextIssueNumber(deps, input.companyId);
  const [issue] = await deps.db
    .insert(issues)
    .values({
      companyId: input.companyId,
      identifier: `${company.prefix}-${company.counter}`,
      title,
      description,
      status: input.status ?? 'todo',
      priority: input.priority ?? 'medium',
      assigneeAgentId: input.assigneeAgentId ?? null,
      assigneeUserId,
      projectId: input.projectId ?? null,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  const wakeup = issue.assigneeAgentId && WORKABLE.includes(issue.status) ? await wakeAfterChange(deps, wake, assignmentWake(issue, actor)) : null;
  return { issue, wakeup };
}

export interface UpdateIssueInput {
  companyId: string;
  issueId: string;
  title?: string | null;
  description?: string | null;
  status?: IssueStatus | null;
  priority?: IssuePriority | null;
  /** null: no project any more; absent: unchanged. */
  projectId?: string | null;
}

export async function updateIssue(deps: EngineDeps, wake: Wake, input: UpdateIssueInput) {
  const before = await findIssue(deps.db, input.companyId, input.issueId);
  const patch: Partial<IssueRow> = { updatedAt: deps.clock.now() };
  if (input.title != null) patch.title = text('title', input.title, LIMITS.title);
  if (input.description !== undefined) {
    patch.description = input.description === null ? null : text('description', input.description, LIMITS.description, { allowEmpty: true });
  }
  if (input.status != null) patch.status = input.status;
  if (input.priority != null) patch.priority = input.priority;
  if (input.projectId !== undefined) {
    if (input.projectId !== null) await findProject(deps.db, input.companyId, input.projectId);
    patch.projectId = input.projectId;
  }
  const [issue] = await deps.db.update(issues).set(patch).where(eq(issues.id, before.id)).returning();
  const resolvedNow =
    (RESOLVED_ISSUE_STATUSES as readonly string[]).includes(issue.status) &&
    !(RESOLVED_ISSUE_STATUSES as readonly string[]).includes(before.status);
  if (resolvedNow) await wakeUnblockedDependents(deps, wake, issue);
  return issue;
}

/** The claim gate promises it: when the last blocker resolves, the blocked issue's assignee is woken. */
async function wakeUnblockedDependents(deps: EngineDeps, wake: Wake, resolved: IssueRow): Promise<void> {
  const dependents = await deps.db
    .select()
    .from(issues)
    .innerJoin(issueRelations, eq(issueRelations.relatedIssueId, issues.id))
    .where(and(eq(issueRelations.issueId, resolved.id), eq(issueRelations.type, 'blocks'), inArray(issues.status, [...WORKABLE])));
  const readiness = await issueReadiness(deps.db, dependents.map((d) => d.issues.id));
  for (const { issues: dependent } of dependents) {
    if (!dependent.assigneeAgentId || !readiness.get(dependent.id)?.isDependencyReady) continue;
    await wake({
      companyId: dependent.companyId,
      agentId: dependent.assigneeAgentId,
      source: 'automation',
      triggerDetail: 'system',
      reason: 'issue_blockers_resolved',
      payload: { issueId: dependent.id, resolvedBlockerIssueId: resolved.id },
      actor: { type: 'system', id: null },
    }).catch((error: unknown) => deps.logger.warn({ err: error, issueId: dependent.id }, 'could not wake unblocked issue'));
  }
}

export async function assignIssue(
  deps: EngineDeps,
  wake: Wake,
  input: { companyId: string; issueId: string; agentId?: string | null; userId?: string | null },
  actor: Actor | null,
) {
  const userId = userIdOf(input.userId);
  if (input.agentId && userId) throw badInput('Assign an agent or a user, not both');
  await findIssue(deps.db, input.companyId, input.issueId);
  if (input.agentId) await assertAgentInCompany(deps.db, input.companyId, input.agentId);
  const [issue] = await deps.db
    .update(issues)
    .set({ assigneeAgentId: input.agentId ?? null, assigneeUserId: userId, updatedAt: deps.clock.now() })
    .where(eq(issues.id, input.issueId))
    .returning();
  const wakeup = issue.assigneeAgentId && WORKABLE.includes(issue.status) ? await wakeAfterChange(deps, wake, assignmentWake(issue, actor)) : null;
  return { issue, wakeup };
}

export async function addIssueComment(
  deps: EngineDeps,
  wake: Wake,
  input: { companyId: string; issueId: string; body: string },
  actor: Actor,
  writeComment: CommentWritePort = (write) => writeIssueComment(deps.db, write),
) {
  const body = text('body', input.body, LIMITS.comment);
  const write: CommentWrite = {
    companyId: input.companyId,
    issueId: input.issueId,
    body,
    byPerson: actor.type === 'user',
    authorUserId: actor.type === 'user' ? actor.id : null,
    authorAgentId: actor.type === 'run' ? actor.run.agentId : null,
    runId: actor.type === 'run' ? actor.run.id : null,
    now: deps.clock.now(),
  };
  // The comment and the reopening it causes are stored together, by one statement.
  let written = await writeComment(write);
  if (written.outcome === 'run_flagged_detached') {
    // A run that writes shows life: its detached warning is cleared (§6.11-D), with the comment.
    written = await transact(deps, async (tx, events) => {
      await clearDetachedFlag(tx, events, write.runId!, write.now);
      return writeIssueComment(tx, write);
    });
  }
  if (written.outcome === 'issue_not_found') throw notFound('Issue');
  if (written.outcome !== 'written') throw new Error(`The comment of run ${write.runId} was not written: ${written.outcome}`);
  const { comment, assigneeAgentId, reopened } = written;
  // A person's comment is an interaction the assignee should answer; an agent's own comment is not.
  if (actor.type !== 'user' || assigneeAgentId === null) return { comment, wakeup: null };
  const wakeup = await wakeAfterChange(deps, wake, {
    companyId: comment.companyId,
    agentId: assigneeAgentId,
    source: 'on_demand',
    triggerDetail: 'callback',
    reason: reopened ? 'issue_reopened_via_comment' : 'issue_commented',
    payload: { issueId: comment.issueId, commentId: comment.id },
    actor: { type: 'user', id: actor.id },
  });
  return { comment, wakeup };
}

export async function putIssueDocument(
  deps: EngineDeps,
  input: { companyId: string; issueId: string; key: string; body: string },
  actor: Actor,
) {
  if (!DOCUMENT_KEY.test(input.key)) {
    throw badInput('key must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit', { field: 'key' });
  }
  // The continuation summary is the engine's handoff, one revision per run (§16). A person may edit
  // it; a run may not: a revision by the run itself would read as its follow-up already written (§6.11-K).
  if (actor.type === 'run' && input.key === CONTINUATION_SUMMARY_KEY) {
    throw forbidden(`The "${CONTINUATION_SUMMARY_KEY}" document is written by the engine after each run; a run cannot write it`);
  }
  const body = text('body', input.body, LIMITS.document, { allowEmpty: true });
  const issue = await findIssue(deps.db, input.companyId, input.issueId);
  return transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    // A run that writes shows life: a detached warning on it is cleared (§6.11-D), with the write.
    if (actor.type === 'run') await clearDetachedFlag(tx, events, actor.run.id, now);
    const [document] = await tx
      .insert(issueDocuments)
      .values({ companyId: issue.companyId, issueId: issue.id, key: input.key, body, revisionCount: 1, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({
        target: [issueDocuments.issueId, issueDocuments.key],
        set: { body, revisionCount: sql`${issueDocuments.revisionCount} + 1`, updatedAt: now },
      })
      .returning();
    await tx.insert(issueDocumentRevisions).values({
      companyId: issue.companyId,
      documentId: document.id,
      issueId: issue.id,
      key: input.key,
      revision: document.revisionCount,
      body,
      createdByRunId: actor.type === 'run' ? actor.run.id : null,
      createdByAgentId: actor.type === 'run' ? actor.run.agentId : null,
      createdByUserId: actor.type === 'user' ? actor.id : null,
      createdAt: now,
    });
    return document;
  });
}

/** `blockerIssueId` blocks `issueId`. Refuses self-blocks and cycles. */
export async function addIssueBlocker(deps: EngineDeps, input: { companyId: string; issueId: string; blockerIssueId: string }) {
  if (input.issueId === input.blockerIssueId) throw badInput('An issue cannot block itself');
  const issue = await findIssue(deps.db, input.companyId, input.issueId);
  await findIssue(deps.db, input.companyId, input.blockerIssueId);
  const cycle = await deps.db.execute<{ found: boolean }>(sql`
    with recursive upstream(id) as (
      select issue_id from issue_relations where related_issue_id = ${input.blockerIssueId} and type = 'blocks'
      union
      select r.issue_id from issue_relations r join upstream u on r.related_issue_id = u.id where r.type = 'blocks'
    )
    select exists (select 1 from upstream where id = ${input.issueId}) as found`);
  if (cycle[0]?.found) throw conflict('That blocker would make the issues block each other');
  await deps.db
    .insert(issueRelations)
    .values({ companyId: issue.companyId, issueId: input.blockerIssueId, relatedIssueId: issue.id, type: 'blocks', createdAt: deps.clock.now() })
    .onConflictDoNothing();
  return issue;
}

/** What a run's own process may do to its issue (the script adapter, and run tokens via the API). */
export function runIssueActions(deps: EngineDeps, wake: Wake, run: RunRow, writeComment?: CommentWritePort): RunIssueActions {
  const issueOf = () => {
    if (!run.issueId) throw badInput('This run has no issue');
    return run.issueId;
  };
  const actor: Actor = { type: 'run', run };
  return {
    addComment: async (body) => {
      await addIssueComment(deps, wake, { companyId: run.companyId, issueId: issueOf(), body }, actor, writeComment);
    },
    putDocument: async (key, body) => {
      await putIssueDocument(deps, { companyId: run.companyId, issueId: issueOf(), key, body }, actor);
    },
  };
}
