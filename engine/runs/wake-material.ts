// What the claim reads to tell an issue run what it wakes to (docs/engine.md §15): the comments its
// wake names (the latest 8, bodies cut in the database) and its issue's continuation summary, for all
// the runs of a claim in one statement; and the context the claim stores from them.
import { sql } from 'drizzle-orm';
import { isUuid } from '../../db/columns.ts';
import type { IssueReadiness } from '../model/issues.ts';
import type { IssueRow, RunRow } from '../model/runs.ts';
import { CONTINUATION_SUMMARY_KEY } from './liveness-evidence.ts';
import {
  commentsToRead,
  type ContinuationSummaryDocument,
  renderTaskMarkdown,
  renderWake,
  WAKE_COMMENT_CHARS,
  type WakeCommentRow,
} from '../rules/wake-render.ts';
import { executePrepared, type StatementTarget, uuidArray } from '../store/statements.ts';

export const CONTINUATION_SUMMARY_TITLE = 'Continuation summary';

export interface WakeMaterial {
  comments: Map<string, WakeCommentRow>;
  summaries: Map<string, ContinuationSummaryDocument>;
}

export const NO_WAKE_MATERIAL: WakeMaterial = { comments: new Map(), summaries: new Map() };

/** The comments and summaries the wakes of `runs` on `issueIds` need, in one statement. */
export async function readWakeMaterial(tx: StatementTarget, runs: RunRow[], issueIds: string[]): Promise<WakeMaterial> {
  if (issueIds.length === 0) return NO_WAKE_MATERIAL;
  const commentIds = [...new Set(runs.flatMap((run) => commentsToRead(run.contextSnapshot)).filter(isUuid))];
  const rows = await executePrepared<{
    kind: 'comment' | 'summary';
    id: string;
    issue_id: string;
    body: string;
    body_chars: number;
    at: string;
    author_agent_id: string | null;
    author_user_id: string | null;
  }>(tx, sql`
    select 'comment' as kind, c.id, c.issue_id, left(c.body, ${WAKE_COMMENT_CHARS + 1}) as body, char_length(c.body) as body_chars,
      c.created_at::text as at, c.author_agent_id, c.author_user_id
    from issue_comments c
    where c.id = any(${uuidArray(commentIds)}::uuid[]) and c.issue_id = any(${uuidArray(issueIds)}::uuid[])
    union all
    select 'summary', d.id, d.issue_id, d.body, char_length(d.body), d.updated_at::text, null, null
    from issue_documents d
    where d.issue_id = any(${uuidArray(issueIds)}::uuid[]) and d.key = ${CONTINUATION_SUMMARY_KEY}`);
  const material: WakeMaterial = { comments: new Map(), summaries: new Map() };
  for (const row of rows) {
    const at = new Date(row.at).toISOString();
    if (row.kind === 'summary') {
      material.summaries.set(row.issue_id, { key: CONTINUATION_SUMMARY_KEY, title: CONTINUATION_SUMMARY_TITLE, body: row.body, updatedAt: at });
    } else {
      material.comments.set(row.id, {
        id: row.id,
        issueId: row.issue_id,
        body: row.body,
        bodyChars: Number(row.body_chars),
        createdAt: at,
        authorAgentId: row.author_agent_id,
        authorUserId: row.author_user_id,
      });
    }
  }
  return material;
}

/**
 * What the claim adds to an issue run's context (§15): `wake`, `taskMarkdown` and
 * `continuationSummary`, rendered from its issue as the claim read it. Empty for a run whose issue is
 * gone: it is told nothing it could not check.
 */
export function wakeContextOf(run: RunRow, issue: IssueRow | null, readiness: IssueReadiness | null, material: WakeMaterial): Record<string, unknown> {
  if (!issue) return {};
  const comments = commentsToRead(run.contextSnapshot).flatMap((id) => {
    const row = material.comments.get(id);
    return row && row.issueId === issue.id ? [row] : [];
  });
  const summary = material.summaries.get(issue.id) ?? null;
  const wakeIssue = { id: issue.id, identifier: issue.identifier, title: issue.title, description: issue.description, status: issue.status, priority: issue.priority };
  const wake = renderWake({ context: run.contextSnapshot, issue: wakeIssue, blockers: readiness?.unresolvedBlockers ?? [], comments, summary });
  return { wake, taskMarkdown: renderTaskMarkdown(wake, wakeIssue), continuationSummary: summary };
}
