// The write of issue comments, by people or by runs: any number of them in one statement, one
// round trip. It finds each comment's issue in the caller's company, stores the comment and, for a
// person's comment on an assigned issue that was resolved, reopens it. A run's comment is its
// liveness evidence (§6.7) and is written on the hot path of every issue run: the engine
// group-commits the comments that arrive together (commentWrites), and one comment on its own is
// the same statement with one item.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { issueComments } from '../../db/schema.ts';
import { RESOLVED_ISSUE_STATUSES } from '../model/issues.ts';
import { Batcher, eachOnFailure } from '../store/batcher.ts';
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

type Answer = { ord: number; issue_found: boolean; run_flagged: boolean; issue_assignee: string | null; issue_reopened: boolean; id: string | null };

/** The comments `writes` in one statement; one answer per write, in order. */
export async function writeIssueComments(target: StatementTarget, writes: CommentWrite[]): Promise<CommentWritten[]> {
  if (writes.length === 0) return [];
  const input = writes.map((write, ord) => ({
    ord,
    id: randomUUID(),
    company_id: write.companyId,
    issue_id: write.issueId,
    body: write.body,
    by_person: write.byPerson,
    author_user_id: write.authorUserId,
    author_agent_id: write.authorAgentId,
    run_id: write.runId,
    at: iso(write.now),
  }));
  const rows = await executePrepared<Answer & Record<string, unknown>>(
    target,
    sql`
      with input as (
        select * from jsonb_to_recordset(${JSON.stringify(input)}::jsonb) as i(
          ord int, id uuid, company_id uuid, issue_id uuid, body text, by_person boolean, author_user_id text, author_agent_id uuid,
          run_id uuid, at timestamptz)
      ), target as (
        select i.*, s.id as found_issue_id, s.assignee_agent_id, s.status as issue_status,
          exists (select 1 from heartbeat_runs r where r.id = i.run_id and r.status = 'running' and r.error_code = 'process_detached') as run_flagged
        -- Issue by issue, off its primary key (a join could be planned over every issue).
        from input i left join lateral (
          select id, assignee_agent_id, status from issues where id = i.issue_id and company_id = i.company_id offset 0
        ) s on true
      ), comment as (
        insert into issue_comments (id, company_id, issue_id, body, author_user_id, author_agent_id, created_by_run_id, created_at, updated_at)
        select t.id, t.company_id, t.issue_id, t.body, t.author_user_id, t.author_agent_id, t.run_id, t.at, t.at
        from target t where t.found_issue_id is not null and not t.run_flagged
        order by t.ord
        returning *
      ), reopener as (
        -- A person's comment is an interaction the assignee should answer: a resolved issue reopens,
        -- once, by the first such comment of the batch.
        select distinct on (t.issue_id) t.issue_id, t.ord, t.at from target t
        where t.by_person and t.found_issue_id is not null and not t.run_flagged and t.assignee_agent_id is not null
          and t.issue_status in (${RESOLVED})
        order by t.issue_id, t.ord
      ), reopened as (
        update issues s set status = 'todo', execution_state = null, updated_at = o.at
        from reopener o where s.id = o.issue_id and s.status in (${RESOLVED})
        returning s.id
      )
      select c.*, t.ord, t.found_issue_id is not null as issue_found, t.run_flagged, t.assignee_agent_id as issue_assignee,
        exists (select 1 from reopener o join reopened x on x.id = o.issue_id where o.ord = t.ord) as issue_reopened
      from target t left join comment c on c.id = t.id
      order by t.ord`,
  );
  return rows.map((row): CommentWritten => {
    if (!row.issue_found) return { outcome: 'issue_not_found' };
    if (row.run_flagged || row.id === null) return { outcome: 'run_flagged_detached' };
    return { outcome: 'written', comment: commentRowFromDriver(row), assigneeAgentId: row.issue_assignee, reopened: row.issue_reopened };
  });
}

/** One comment: the same statement with one item. */
export async function writeIssueComment(target: StatementTarget, write: CommentWrite): Promise<CommentWritten> {
  const [written] = await writeIssueComments(target, [write]);
  return written;
}

/** How a comment reaches the database: on its own (writeIssueComment on the pool) or group-committed. */
export type CommentWritePort = (write: CommentWrite) => Promise<CommentWritten>;

/**
 * The comments that arrive together, on the pool, in one statement each batch. When a batch fails
 * as a whole, each of its comments is written on its own, so that one bad comment fails alone.
 */
export function commentWriteBatches(db: StatementTarget, onBatchFailure: (error: unknown) => void): CommentWritePort {
  const batcher = new Batcher<CommentWrite, CommentWritten>(
    (writes) => eachOnFailure(writes, (all) => writeIssueComments(db, all), (one) => writeIssueComment(db, one), onBatchFailure),
    { maxBatch: 100, maxInFlight: 2 },
  );
  return (write) => batcher.submit(write);
}
