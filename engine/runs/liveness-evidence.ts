// What a finished run left behind (docs/engine.md §6.7 evidence), gathered in one statement for any
// number of runs (the finish's, runs/finish.ts, or a later classification), classified by the pure
// rules in rules/liveness.ts and written to the run's five liveness columns.
import { sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import type { IssueStatus } from '../../db/enums.ts';
import { ENGINE_EVENT_TYPES } from '../adapters/types.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { classifyLiveness, type LivenessEvidence, type LivenessInput } from '../rules/liveness.ts';
import { executePrepared, runRowFromDriver, type StatementTarget, uuidArray } from '../store/statements.ts';
import type { RunRow } from '../model/runs.ts';
import type { NewRunEvent } from './events.ts';

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
 * all of them gathered in one statement (runEvidence), one update for all; the updated rows, in order.
 */
export async function classifyRunsLiveness(tx: Transaction, runs: RunRow[]): Promise<RunRow[]> {
  if (runs.length === 0) return [];
  const evidence = collectEvidence(await runEvidence(tx, runs));
  const input = runs.map((run) => {
    const of = evidence.get(run.id);
    const issue = run.issueId ? (of?.issue ?? null) : null;
    const result = classifyLiveness(livenessInputFrom(run, issue, issue ? (of?.comments ?? []) : [], issue ? (of?.revisions ?? []) : [], of?.activity, of?.toolEvents));
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

/**
 * The run's tool events as the liveness evidence counts them, with its last events, which this
 * transaction writes (stamped `now`), added to those already written.
 */
export function withPendingTools(written: Tally, pending: NewRunEvent[], now: Date): Tally {
  const tools = pending.filter((e) => !ENGINE_EVENT_TYPES.includes(e.eventType)).length;
  if (tools === 0) return written;
  return { n: Number(written?.n ?? 0) + tools, latest: now };
}

type EvidenceRow = {
  kind: 'activity' | 'tool' | 'lock' | 'comment' | 'revision' | 'issue';
  run_id: string;
  n: number;
  latest_ms: number | null;
  text: string | null;
  key: string | null;
  detail: string | null;
};

/**
 * What the liveness classifier needs of the runs (§6.7 evidence: their activity and tool events,
 * and for issue runs their comments, document revisions and issue), and whether an issue's
 * execution lock points at any of them, in one statement.
 */
export function runEvidence(tx: StatementTarget, runs: Array<{ id: string; issueId?: string | null }>) {
  const ms = (column: string) => sql.raw(`(extract(epoch from ${column}) * 1000)::float8`);
  const ids = uuidArray(runs.map((run) => run.id));
  // What only a run on an issue can leave: read for those alone (undefined: not known, read).
  const issueRuns = runs.flatMap((run) => (run.issueId === null ? [] : [run.id]));
  const onIssues = uuidArray(issueRuns);
  const issueWork =
    issueRuns.length === 0
      ? sql``
      : sql`union all
    select 'comment', created_by_run_id, 1, ${ms('created_at')}, body, id::text,
      case when row_number() over (partition by created_by_run_id order by created_at, id) = 1 then 'first' end
    from issue_comments where created_by_run_id = any(${onIssues}::uuid[])
    union all
    select 'revision', created_by_run_id, count(*)::int, ${ms('max(created_at)')}, null, key, null
    from issue_document_revisions where created_by_run_id = any(${onIssues}::uuid[]) and key <> ${CONTINUATION_SUMMARY_KEY}
    group by created_by_run_id, key
    union all
    select 'issue', r.id, 1, null, i.title, i.status::text, i.description
    from heartbeat_runs r join issues i on i.id = r.issue_id where r.id = any(${onIssues}::uuid[])`;
  return executePrepared<EvidenceRow>(tx, sql`
    select 'activity' as kind, run_id, count(*)::int as n, ${ms('max(created_at)')} as latest_ms, null::text as text, null::text as key, null::text as detail
    from activity_log where run_id = any(${ids}::uuid[]) and action not in (${sql.join(IGNORED_ACTIVITY.map((a) => sql`${a}`), sql`, `)})
    group by run_id
    union all
    select 'tool', run_id, count(*)::int, ${ms('max(created_at)')}, null, null, null
    from heartbeat_run_events where run_id = any(${ids}::uuid[]) and event_type not in (${sql.join(ENGINE_EVENT_TYPES.map((t) => sql`${t}`), sql`, `)})
    group by run_id
    union all
    select 'lock', execution_run_id, 1, null, null, null, null from issues where execution_run_id = any(${ids}::uuid[])
    ${issueWork}`);
}

export interface RunEvidence {
  activity: Tally;
  toolEvents: Tally;
  holdsIssueLock: boolean;
  comments: Array<{ body: string; createdAt: Date }>;
  /** The run's first comment (by time, then id): the one that satisfies the comment policy (§6.10). */
  firstCommentId?: string;
  revisions: Array<{ key: string; n: number; latest: unknown }>;
  issue: { status: IssueStatus; title: string; description: string | null } | null;
}

export function collectEvidence(rows: EvidenceRow[]): Map<string, RunEvidence> {
  const byRun = new Map<string, RunEvidence>();
  const of = (runId: string) => {
    let entry = byRun.get(runId);
    if (!entry) byRun.set(runId, (entry = { activity: undefined, toolEvents: undefined, holdsIssueLock: false, comments: [], revisions: [], issue: null }));
    return entry;
  };
  const at = (ms: number | null) => (ms === null ? null : new Date(Number(ms)));
  for (const row of rows) {
    const entry = of(row.run_id);
    if (row.kind === 'activity') entry.activity = { n: row.n, latest: at(row.latest_ms) };
    else if (row.kind === 'tool') entry.toolEvents = { n: row.n, latest: at(row.latest_ms) };
    else if (row.kind === 'lock') entry.holdsIssueLock = true;
    else if (row.kind === 'comment') {
      entry.comments.push({ body: row.text ?? '', createdAt: at(row.latest_ms)! });
      if (row.detail === 'first') entry.firstCommentId = row.key!;
    }
    else if (row.kind === 'revision') entry.revisions.push({ key: row.key!, n: row.n, latest: at(row.latest_ms) });
    else entry.issue = { status: row.key! as IssueStatus, title: row.text ?? '', description: row.detail };
  }
  // Newest first, as the classifier reads them.
  for (const entry of byRun.values()) entry.comments.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  return byRun;
}
