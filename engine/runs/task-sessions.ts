// The sessions runs resume (docs/engine.md §12), as the claim and the finish see them: the claim reads
// the stored task sessions of the runs it takes, in one statement for all of them, and decides each
// run's session (rules/sessions.ts); the finish writes what each run left (finish.ts, in its own
// statement). The operations on sessions (list, reset, resume from a run) are in sessions/.
import { sql } from 'drizzle-orm';
import type { AdapterType } from '../../db/enums.ts';
import type { RunRow } from '../model/runs.ts';
import {
  readSessionPolicy,
  resolveRunSession,
  rotationHandoff,
  rotationReason,
  type RunSession,
  type SessionDecision,
  type SessionOutcome,
  rotationLine,
  sessionParamsFrom,
  skippedResumeLine,
  type StoredTaskSession,
  taskKeyOf,
} from '../rules/sessions.ts';
import { runSummaryText } from '../rules/run-outcome.ts';
import { executePrepared, iso, json, type StatementTarget } from '../store/statements.ts';

/** A run the claim takes, with its agent. */
export interface SessionClaimItem {
  run: RunRow;
  agent: { id: string; companyId: string; adapterType: AdapterType; runtimeConfig: Record<string, unknown> };
  /** The issue it works on, if any (a rotation handoff names it). */
  issueId: string | null;
}

/** The session a claimed run is given, and what its context and log say about it. */
export interface RunSessionStart extends SessionDecision {
  /** Set when the session was rotated (§12.9): why, and the handoff the run gets instead. */
  rotation: { reason: string; handoff: string } | null;
}

interface SessionRow {
  run_id: string;
  session_params: unknown;
  session_display_id: string | null;
  last_run_id: string | null;
  fallback_session_id: string | null;
  runs: number | null;
  newest_raw_input: number | null;
  newest_at: string | null;
  oldest_at: string | null;
  last_result: Record<string, unknown> | null;
  last_error: string | null;
  continuation_summary: string | null;
  handoff_issue: { identifier: string | null; title: string | null } | null;
}

/** What the session read needs of a run: its context (task key, explicit resume) and where it belongs. */
export interface SessionReadItem {
  /** A key for the answer: the run's id, or any id for a run not written yet. */
  key: string;
  companyId: string;
  agentId: string;
  context: Record<string, unknown>;
  issueId: string | null;
}

/** The session read's answer, by item key (decideRunSessions reads it). */
export type SessionRows = Map<string, SessionRow>;

/**
 * §12.3 for runs about to be claimed: the stored task sessions and the agents' fallback sessions, in
 * one statement, and, only for agents with a rotation policy, the statistics of the session each run
 * would resume (its runs, the newest one's raw input tokens, its age) with what a handoff quotes. The
 * agent's adapter type and policy are read with it, so it can be sent before the agent's row is
 * known (enqueue-without-issue.ts sends it with its first reads).
 */
export async function readRunSessions(tx: StatementTarget, items: SessionReadItem[]): Promise<SessionRows> {
  if (items.length === 0) return new Map();
  const input = items.map(({ key, companyId, agentId, context, issueId }) => ({
    run_id: key,
    company_id: companyId,
    agent_id: agentId,
    task_key: taskKeyOf(context),
    explicit_session_id: sessionParamsFrom(context.resumeSessionParams)?.sessionId ?? null,
    issue_id: issueId,
  }));
  const rows = await executePrepared<SessionRow & Record<string, unknown>>(tx, sql`
    with input as (
      select i.*, a.adapter_type,
        coalesce(jsonb_path_exists(a.runtime_config, '$.sessionPolicy.* ? (@.type() == "number" && @ > 0)'), false) as rotation
      from jsonb_to_recordset(${json(input)}::jsonb) as i(run_id text, company_id uuid, agent_id uuid, task_key text, explicit_session_id text, issue_id uuid)
      join agents a on a.id = i.agent_id
    ), found as (
      select i.*, s.session_params, s.session_display_id, s.last_run_id,
        case when i.task_key is null then rs.session_id end as fallback_session_id,
        coalesce(i.explicit_session_id, s.session_params->>'sessionId', case when i.task_key is null then rs.session_id end) as resumes
      from input i
      left join agent_task_sessions s on s.company_id = i.company_id and s.agent_id = i.agent_id and s.adapter_type = i.adapter_type
        and s.task_key = i.task_key
      left join agent_runtime_state rs on rs.agent_id = i.agent_id
    )
    select f.run_id, f.session_params, f.session_display_id, f.last_run_id, f.fallback_session_id,
      st.runs, st.newest_raw_input, st.newest_at, st.oldest_at, st.last_result, st.last_error, st.continuation_summary, st.handoff_issue
    from found f
    left join lateral (
      select count(*)::int as runs,
        (array_agg(coalesce((r.usage_json->'raw'->>'inputTokens')::bigint, (r.usage_json->>'rawInputTokens')::bigint,
          (r.usage_json->>'inputTokens')::bigint) order by r.created_at desc))[1] as newest_raw_input,
        max(r.created_at)::text as newest_at, min(r.created_at)::text as oldest_at,
        (array_agg(r.result_json order by r.created_at desc))[1] as last_result,
        (array_agg(r.error order by r.created_at desc))[1] as last_error,
        case when f.rotation then (select d.body from issue_documents d where d.issue_id = f.issue_id and d.key = 'continuation-summary') end
          as continuation_summary,
        case when f.rotation then (select jsonb_build_object('identifier', x.identifier, 'title', x.title) from issues x where x.id = f.issue_id) end
          as handoff_issue
      from heartbeat_runs r
      where f.rotation and f.resumes is not null and r.agent_id = f.agent_id and r.session_id_after = f.resumes
    ) st on f.rotation`);
  return new Map(rows.map((row) => [row.run_id, row]));
}

/** §12.3 for the runs of a claim: their sessions, read in one statement (readRunSessions), decided. */
export async function decideRunSessions(tx: StatementTarget, items: SessionClaimItem[]): Promise<RunSessionStart[]> {
  const rows = await readRunSessions(
    tx,
    items.map(({ run, agent, issueId }) => ({ key: run.id, companyId: agent.companyId, agentId: agent.id, context: run.contextSnapshot, issueId })),
  );
  return items.map(({ run, agent }) => decideRunSession(run.contextSnapshot, agent.runtimeConfig, rows.get(run.id)));
}

/** §12.3 for one run, from what readRunSessions read for it. */
export function decideRunSession(context: Record<string, unknown>, runtimeConfig: Record<string, unknown>, row: SessionRow | undefined): RunSessionStart {
  const params = sessionParamsFrom(row?.session_params);
  const stored: StoredTaskSession | null =
    params && row ? { taskKey: taskKeyOf(context) ?? '', params, displayId: row.session_display_id, lastRunId: row.last_run_id } : null;
  const decision = resolveRunSession({ ctx: context, stored, fallbackSessionId: row?.fallback_session_id ?? null });
  // No statistics: the agent has no rotation policy (the lateral read nothing).
  if (!decision.session || !row || row.runs === null) return { ...decision, rotation: null };
  const reason = rotationReason(readSessionPolicy(runtimeConfig), {
    runs: Number(row.runs),
    newestRawInputTokens: row.newest_raw_input === null ? null : Number(row.newest_raw_input),
    newestAt: row.newest_at ? new Date(row.newest_at) : null,
    oldestAt: row.oldest_at ? new Date(row.oldest_at) : null,
  });
  if (reason === null) return { ...decision, rotation: null };
  const handoff = rotationHandoff({
    previousSessionId: decision.session.id,
    issue: row.handoff_issue,
    reason,
    lastRunSummary: runSummaryText(row.last_result) ?? row.last_error,
    continuationSummary: row.continuation_summary,
  });
  return { ...decision, session: null, source: 'none', rotation: { reason, handoff } };
}

/**
 * The context keys about a session: the requests a wake makes (one-shot: a follow-up run that
 * copies its source's context must not repeat them) and the decision the claim records. The claim
 * replaces them all with its own decision (sessionContext).
 */
export const SESSION_CONTEXT_KEYS = [
  'session',
  'sessionResetReason',
  'sessionRotationReason',
  'sessionHandoff',
  'forceFreshSession',
  'resumeSessionParams',
  'resumeSessionDisplayId',
] as const;

/** What the claim adds to a run's context about its session (`context.session` and the rest). */
export function sessionContext(start: RunSessionStart): Record<string, unknown> {
  const context: Record<string, unknown> = {};
  if (start.session) context.session = start.session satisfies RunSession;
  if (start.resetReason) context.sessionResetReason = start.resetReason;
  if (start.rotation) Object.assign(context, { sessionRotationReason: start.rotation.reason, sessionHandoff: start.rotation.handoff });
  return context;
}

/** The session a run was given, from its context as the claim stored it (null: a fresh one). */
export function runSessionOf(context: Record<string, unknown>): RunSession | null {
  const session = context.session as Partial<RunSession> | null | undefined;
  const params = sessionParamsFrom(session?.params);
  if (!session || !params || typeof session.id !== 'string') return null;
  return { id: session.id, params, displayId: typeof session.displayId === 'string' ? session.displayId : null, taskKey: typeof session.taskKey === 'string' ? session.taskKey : null };
}

/** The engine's log lines about a run's session (§12.3, §12.9), from its context as the claim stored it. */
export function sessionLogLines(context: Record<string, unknown>): string[] {
  const lines: string[] = [];
  if (typeof context.sessionResetReason === 'string') lines.push(skippedResumeLine(taskKeyOf(context), context.sessionResetReason));
  if (typeof context.sessionRotationReason === 'string') lines.push(rotationLine(context.sessionRotationReason));
  return lines;
}

/** A task session row to write: the last run of a batch on each (agent, adapter type, task key) wins. */
export interface TaskSessionWrite {
  company_id: string;
  agent_id: string;
  adapter_type: AdapterType;
  task_key: string;
  run_id: string;
  delete: boolean;
  params: string | null;
  display_id: string | null;
  last_error: string | null;
}

/** A finished run, for the task session it leaves (finish.ts). */
export interface FinishedSession {
  run: RunRow;
  adapterType: AdapterType;
  session: { outcome: SessionOutcome; taskKey: string | null };
}

/** §12.4-12.5: the task sessions finished runs leave (replaced, with their last run and error, or deleted). */
export function taskSessionWrites(finished: FinishedSession[]): TaskSessionWrite[] {
  const byKey = new Map<string, TaskSessionWrite>();
  for (const { run, adapterType, session } of finished) {
    const { write } = session.outcome;
    if (session.taskKey === null || write.kind === 'keep') continue;
    byKey.set(`${run.agentId}\u0000${adapterType}\u0000${session.taskKey}`, {
      company_id: run.companyId,
      agent_id: run.agentId,
      adapter_type: adapterType,
      task_key: session.taskKey,
      run_id: run.id,
      delete: write.kind === 'delete',
      params: write.kind === 'upsert' ? json(write.params) : null,
      display_id: write.kind === 'upsert' ? write.displayId : null,
      last_error: run.status === 'succeeded' ? null : (run.error ?? 'run_failed'),
    });
  }
  return [...byKey.values()];
}

/** The finish statement's part that writes task sessions: nothing when no run left one. */
export function taskSessionStatements(rows: TaskSessionWrite[], now: Date) {
  if (rows.length === 0) return sql``;
  return sql`, session_input as (
      select * from jsonb_to_recordset(${json(rows)}::jsonb) as s(company_id uuid, agent_id uuid, adapter_type adapter_type, task_key text,
        run_id uuid, delete boolean, params text, display_id text, last_error text)
    ), session_upserts as (
      insert into agent_task_sessions (company_id, agent_id, adapter_type, task_key, session_params, session_display_id, last_run_id, last_error,
        created_at, updated_at)
      select s.company_id, s.agent_id, s.adapter_type, s.task_key, s.params::jsonb, s.display_id, s.run_id, s.last_error,
        ${iso(now)}::timestamptz, ${iso(now)}::timestamptz
      from session_input s where not s.delete and exists (select 1 from agents a where a.id = s.agent_id)
      on conflict (company_id, agent_id, adapter_type, task_key) do update set
        session_params = excluded.session_params, session_display_id = excluded.session_display_id, last_run_id = excluded.last_run_id,
        last_error = excluded.last_error, updated_at = excluded.updated_at
      returning id
    ), session_deletes as (
      delete from agent_task_sessions t using session_input s
      where s.delete and t.company_id = s.company_id and t.agent_id = s.agent_id and t.adapter_type = s.adapter_type and t.task_key = s.task_key
      returning t.id
    )`;
}
