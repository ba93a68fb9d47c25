// Whether issues may run (model/issues.ts IssueReadiness), read for one issue or many: all their
// blockers resolved (done or cancelled, Decisions 6).
import { and, eq, inArray, notInArray } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import type { Executor } from '../../db/client.ts';
import { issueRelations, issues } from '../../db/schema.ts';
import { type IssueReadiness, RESOLVED_ISSUE_STATUSES } from '../model/issues.ts';

const blocker = alias(issues, 'blocker');

/** Readiness of several issues in one query; issues without blockers are ready. */
export async function issueReadiness(db: Executor, issueIds: string[]): Promise<Map<string, IssueReadiness>> {
  const result = new Map<string, IssueReadiness>();
  for (const id of issueIds) {
    result.set(id, { isDependencyReady: true, unresolvedBlockerIssueIds: [], unresolvedBlockerCount: 0, unresolvedBlockers: [] });
  }
  if (issueIds.length === 0) return result;
  const rows = await db
    .select({
      issueId: issueRelations.relatedIssueId,
      id: blocker.id,
      identifier: blocker.identifier,
      title: blocker.title,
      status: blocker.status,
    })
    .from(issueRelations)
    .innerJoin(blocker, eq(blocker.id, issueRelations.issueId))
    .where(
      and(
        inArray(issueRelations.relatedIssueId, issueIds),
        eq(issueRelations.type, 'blocks'),
        notInArray(blocker.status, [...RESOLVED_ISSUE_STATUSES]),
      ),
    )
    .orderBy(blocker.createdAt);
  for (const row of rows) {
    const entry = result.get(row.issueId)!;
    entry.isDependencyReady = false;
    entry.unresolvedBlockerIssueIds.push(row.id);
    entry.unresolvedBlockerCount += 1;
    entry.unresolvedBlockers.push({ id: row.id, identifier: row.identifier, title: row.title, status: row.status });
  }
  return result;
}

export async function readinessOf(db: Executor, issueId: string): Promise<IssueReadiness> {
  return (await issueReadiness(db, [issueId])).get(issueId)!;
}
