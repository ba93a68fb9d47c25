// What a finished run left behind (spec §6.7 evidence), gathered in the run's terminal
// transaction, classified by the pure rules in liveness.ts and written to the run's five liveness
// columns.
import { and, count, desc, inArray, max, ne, notInArray, sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';
import { activityLog, issueComments, issueDocumentRevisions, issues, runEvents } from '../db/schema.ts';
import { ENGINE_EVENT_TYPES } from './adapters/types.ts';
import type { LiveEvent } from './live-events.ts';
import { classifyLiveness, type LivenessEvidence, type LivenessInput } from './liveness.ts';
import { executePrepared, runRowFromDriver } from './run-rows.ts';
import type { RunRow } from './runs.ts';

/** Activity that is not evidence of work. */
export const IGNORED_ACTIVITY = ['environment.lease_acquired', 'environment.lease_released'];
export const CONTINUATION_SUMMARY_KEY = 'continuation-summary';

const newest = (...dates: Array<Date | null | undefined>) =>
  dates.reduce<Date | null>((latest, date) => (date && (!latest || date > latest) ? date : latest), null);
const asDate = (value: unknown) => (value ? new Date(value as string) : null);

export type Tally = { n: number | string; latest: unknown } | undefined;

/** The classifier's input from the evidence rows gathered for `run` (see classifyRunsLiveness). */
export function livenessInputFrom(
  run: RunRow,
  issue: NonNullable<LivenessInput['issue']> | null,
  comments: Array<{ body: string; createdAt: Date }>,
  revisions: Array<{ key: string; n: number | string; latest: unknown }>,
  activity: Tally,
  toolEvents: Tally,
): LivenessInput {
  const evidence: LivenessEvidence = {
    comments: comments.length,
    documentRevisions: revisions.reduce((sum, r) => sum + Number(r.n), 0),
    planRevisions: revisions.filter((r) => r.key === 'plan').reduce((sum, r) => sum + Number(r.n), 0),
    workProducts: 0,
    workspaceOperations: 0,
    activity: Number(activity?.n ?? 0),
    toolEvents: Number(toolEvents?.n ?? 0),
    latestEvidenceAt: newest(comments[0]?.createdAt, ...revisions.map((r) => asDate(r.latest)), asDate(activity?.latest), asDate(toolEvents?.latest)),
  };
  return {
    runStatus: run.status,
    errorCode: run.errorCode,
    error: run.error,
    issue: issue ? { status: issue.status, title: issue.title, description: issue.description } : null,
    resultJson: run.resultJson,
    runComments: comments.slice(0, 5).reverse().map((c) => c.body),
    continuationSummary: null,
    stdoutExcerpt: run.stdoutExcerpt,
    stderrExcerpt: run.stderrExcerpt,
    evidence,
  };
}

/** Classifies the run and persists the result; returns the updated row. */
export async function classifyRunLiveness(tx: Transaction, _events: LiveEvent[], run: RunRow): Promise<RunRow> {
  return (await classifyRunsLiveness(tx, [run]))[0];
}

/**
 * Classifies finished runs from what each left behind and persists the results: the evidence of
 * all of them gathered in one query per kind, one update for all; the updated rows, in order.
 */
export async function classifyRunsLiveness(tx: Transaction, runs: RunRow[]): Promise<RunRow[]> {
  if (runs.length === 0) return [];
  const ids = runs.map((run) => run.id);
  const issueIds = [...new Set(runs.flatMap((run) => (run.issueId ? [run.issueId] : [])))];
  const none = Promise.resolve([]);
  const [issueRows, comments, revisions, activity, toolEvents] = await Promise.all([
    issueIds.length ? tx.select().from(issues).where(inArray(issues.id, issueIds)) : none,
    issueIds.length
      ? tx
          .select({ runId: issueComments.createdByRunId, body: issueComments.body, createdAt: issueComments.createdAt })
          .from(issueComments)
          .where(inArray(issueComments.createdByRunId, ids))
          .orderBy(desc(issueComments.createdAt))
      : none,
    issueIds.length
      ? tx
          .select({ runId: issueDocumentRevisions.createdByRunId, key: issueDocumentRevisions.key, n: count(), latest: max(issueDocumentRevisions.createdAt) })
          .from(issueDocumentRevisions)
          .where(and(inArray(issueDocumentRevisions.createdByRunId, ids), ne(issueDocumentRevisions.key, CONTINUATION_SUMMARY_KEY)))
          .groupBy(issueDocumentRevisions.createdByRunId, issueDocumentRevisions.key)
      : none,
    tx
      .select({ runId: activityLog.runId, n: count(), latest: max(activityLog.createdAt) })
      .from(activityLog)
      .where(and(inArray(activityLog.runId, ids), notInArray(activityLog.action, IGNORED_ACTIVITY)))
      .groupBy(activityLog.runId),
    tx
      .select({ runId: runEvents.runId, n: count(), latest: max(runEvents.createdAt) })
      .from(runEvents)
      .where(and(inArray(runEvents.runId, ids), notInArray(runEvents.eventType, [...ENGINE_EVENT_TYPES])))
      .groupBy(runEvents.runId),
  ]);
  const issueById = new Map(issueRows.map((issue) => [issue.id, issue]));
  const byRun = <T extends { runId: string | null }>(rows: T[]) => {
    const map = new Map<string, T[]>();
    for (const row of rows) if (row.runId) map.set(row.runId, [...(map.get(row.runId) ?? []), row]);
    return map;
  };
  const [commentsOf, revisionsOf, activityOf, toolEventsOf] = [byRun(comments), byRun(revisions), byRun(activity), byRun(toolEvents)];
  const input = runs.map((run) => {
    const issue = run.issueId ? (issueById.get(run.issueId) ?? null) : null;
    const result = classifyLiveness(
      livenessInputFrom(run, issue, issue ? (commentsOf.get(run.id) ?? []) : [], issue ? (revisionsOf.get(run.id) ?? []) : [], activityOf.get(run.id)?.[0], toolEventsOf.get(run.id)?.[0]),
    );
    return { id: run.id, state: result.state, reason: result.reason, next_action: result.nextAction, last_useful_action_at: result.lastUsefulActionAt?.toISOString() ?? null };
  });
  const rows = await executePrepared(tx, sql`
    update heartbeat_runs r
    set liveness_state = i.state::liveness_state, liveness_reason = i.reason, next_action = i.next_action, last_useful_action_at = i.last_useful_action_at
    from jsonb_to_recordset(${JSON.stringify(input)}::jsonb) as i(id uuid, state text, reason text, next_action text, last_useful_action_at timestamptz)
    where r.id = i.id
    returning r.*`);
  const classified = new Map(rows.map((row) => runRowFromDriver(row)).map((run) => [run.id, run]));
  return runs.map((run) => classified.get(run.id) ?? run);
}
