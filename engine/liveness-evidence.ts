// What a finished run left behind (spec §6.7 evidence), gathered in the run's terminal
// transaction, classified by the pure rules in liveness.ts and written to the run's five liveness
// columns.
import { and, count, desc, eq, max, ne, notInArray } from 'drizzle-orm';
import type { Executor, Transaction } from '../db/client.ts';
import { activityLog, heartbeatRuns, issueComments, issueDocumentRevisions, runEvents } from '../db/schema.ts';
import { ENGINE_EVENT_TYPES } from './adapters/types.ts';
import type { LiveEvent } from './live-events.ts';
import { classifyLiveness, type LivenessEvidence, type LivenessInput } from './liveness.ts';
import type { RunRow } from './runs.ts';

/** Activity that is not evidence of work. */
export const IGNORED_ACTIVITY = ['environment.lease_acquired', 'environment.lease_released'];
const CONTINUATION_SUMMARY_KEY = 'continuation-summary';

const newest = (...dates: Array<Date | null | undefined>) =>
  dates.reduce<Date | null>((latest, date) => (date && (!latest || date > latest) ? date : latest), null);
const asDate = (value: unknown) => (value ? new Date(value as string) : null);

export async function gatherLivenessInput(db: Executor, run: RunRow): Promise<LivenessInput> {
  const issue = run.issueId ? await db.query.issues.findFirst({ where: { id: run.issueId } }) : null;
  const [comments, revisions, activity, toolEvents] = await Promise.all([
    issue
      ? db.select({ body: issueComments.body, createdAt: issueComments.createdAt }).from(issueComments).where(eq(issueComments.createdByRunId, run.id)).orderBy(desc(issueComments.createdAt))
      : [],
    issue
      ? db
          .select({ key: issueDocumentRevisions.key, n: count(), latest: max(issueDocumentRevisions.createdAt) })
          .from(issueDocumentRevisions)
          .where(and(eq(issueDocumentRevisions.createdByRunId, run.id), ne(issueDocumentRevisions.key, CONTINUATION_SUMMARY_KEY)))
          .groupBy(issueDocumentRevisions.key)
      : [],
    db
      .select({ n: count(), latest: max(activityLog.createdAt) })
      .from(activityLog)
      .where(and(eq(activityLog.runId, run.id), notInArray(activityLog.action, IGNORED_ACTIVITY))),
    db
      .select({ n: count(), latest: max(runEvents.createdAt) })
      .from(runEvents)
      .where(and(eq(runEvents.runId, run.id), notInArray(runEvents.eventType, [...ENGINE_EVENT_TYPES]))),
  ]);
  return livenessInputFrom(run, issue ?? null, comments, revisions, activity[0], toolEvents[0]);
}

type Tally = { n: number | string; latest: unknown } | undefined;

/** The classifier's input from the evidence rows gathered for `run` (see gatherLivenessInput). */
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
  const result = classifyLiveness(await gatherLivenessInput(tx, run));
  const [classified] = await tx
    .update(heartbeatRuns)
    .set({ livenessState: result.state, livenessReason: result.reason, nextAction: result.nextAction, lastUsefulActionAt: result.lastUsefulActionAt })
    .where(eq(heartbeatRuns.id, run.id))
    .returning();
  return classified;
}
