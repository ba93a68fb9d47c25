// The write of one issue comment, by a person or by a run: one statement, one round trip. It finds
// the issue in the caller's company, stores the comment and, for a person's comment on an assigned
// issue that was resolved, reopens it. A run's comment is its liveness evidence (§6.7) and is
// written on the hot path of every issue run, hence one prepared statement and no transaction.
import { sql } from 'drizzle-orm';
import type { issueComments } from '../../db/schema.ts';
import { RESOLVED_ISSUE_STATUSES } from '../model/issues.ts';
import { commentRowFromDriver, executePrepared, iso, type StatementTarget } from '../store/statements.ts';

export type CommentRow = typeof issueComments.$inferSelect;

export interface CommentWrite {
  companyId: string;
  issueId: string;
  body: string;
  /** A person's comment (the assignee should answer it), with who wrote it when known. */
  byPerson: boolean;
  authorUserId: string | null;
  /** A run's comment: its agent and the run. */
  authorAgentId: string | null;
  runId: string | null;
  now: Date;
}

export type CommentWritten =
  | { outcome: 'issue_not_found' }
  /**
   * Not written: the writing run is flagged detached (§6.11-D), and its comment must clear the flag
   * in the same transaction (the caller writes again inside one, after clearing it).
   */
  | { outcome: 'run_flagged_detached' }
  | { outcome: 'written'; comment: CommentRow; assigneeAgentId: string | null; reopened: boolean };

const RESOLVED = sql.raw(RESOLVED_ISSUE_STATUSES.map((status) => `'${status}'`).join(', '));

export async function writeIssueComment(target: StatementTarget, write: CommentWrite): Promise<CommentWritten> {
  const now = iso(write.now);
  type Answer = { issue_found: boolean; run_flagged: boolean; issue_assignee: string | null; issue_reopened: boolean; id: string | null };
  const [row] = await executePrepared<Answer & Record<string, unknown>>(
    target,
    sql`
      with issue as (
        select id, company_id, assignee_agent_id from issues where id = ${write.issueId}::uuid and company_id = ${write.companyId}::uuid
      ), flagged as (
        select 1 from heartbeat_runs
        where id = ${write.runId}::uuid and status = 'running' and error_code = 'process_detached'
      ), comment as (
        insert into issue_comments (company_id, issue_id, body, author_user_id, author_agent_id, created_by_run_id, created_at, updated_at)
        select i.company_id, i.id, ${write.body}::text, ${write.authorUserId}::text, ${write.authorAgentId}::uuid, ${write.runId}::uuid,
          ${now}::timestamptz, ${now}::timestamptz
        from issue i where not exists (select 1 from flagged)
        returning *
      ), reopened as (
        -- A person's comment is an interaction the assignee should answer: a resolved issue reopens.
        update issues set status = 'todo', execution_state = null, updated_at = ${now}::timestamptz
        where id = (select id from issue where assignee_agent_id is not null)
          and ${write.byPerson}::boolean and status in (${RESOLVED})
          and exists (select 1 from comment)
        returning id
      )
      select c.*, exists (select 1 from issue) as issue_found, exists (select 1 from flagged) as run_flagged,
        (select assignee_agent_id from issue) as issue_assignee, exists (select 1 from reopened) as issue_reopened
      from (select) as answer left join comment c on true`,
  );
  if (!row.issue_found) return { outcome: 'issue_not_found' };
  if (row.run_flagged || row.id === null) return { outcome: 'run_flagged_detached' };
  return { outcome: 'written', comment: commentRowFromDriver(row), assigneeAgentId: row.issue_assignee, reopened: row.issue_reopened };
}
