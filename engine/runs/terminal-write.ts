// The terminal write of finished runs (docs/engine.md §6.4 steps 6-7): one statement for any number
// of runs, which writes each terminal row (settled where nothing follows, or where the finish wrote
// its follow-up), its last events and the terminal event, its wakeup, its session and cost ledger
// rows, and the agents' runtime counters. runs/finish.ts decides what each row holds; this writes it.

import { sql } from 'drizzle-orm';
import type { AdapterType, WakeupStatus } from '../../db/enums.ts';
import type { TerminalRunStatus } from '../rules/run-outcome.ts';
import type { SessionOutcome } from '../rules/sessions.ts';
import type { RunRow } from '../model/runs.ts';
import { executePrepared, iso, json, type StatementTarget, uuidArray } from '../store/statements.ts';
import { costEventOf, costEventStatements, type RunCost } from './cost-ledger.ts';
import { EVENT_INPUT_COLUMNS, eventInputRow, type NewRunEvent, type payloadText, type PreparedEvent } from './events.ts';
import type { RunEvidence } from './liveness-evidence.ts';
import type { CommentAnswer } from './settle.ts';
import { taskSessionStatements, taskSessionWrites } from './task-sessions.ts';

/** What of the finish's item the write uses: whether it has output, and the agent's adapter. */
export type TerminalItem = { output: unknown; agent: { adapterType: AdapterType } };

/** A run the finish decided to end: what its terminal write stores, and what the finish tells about it. */
export interface Terminal<Item extends TerminalItem = TerminalItem> {
  item: Item;
  /** The session the run leaves (§12.4-12.5), for the task key it works on. */
  session: { outcome: SessionOutcome; taskKey: string | null };
  /** What the run used and is billed (§13). */
  cost: RunCost;
  /** The terminal row, before any settle. */
  run: RunRow;
  /** The row as this transaction leaves it (settled when nothing follows). */
  stored: RunRow;
  followUp: boolean;
  /** Its place among the answers. */
  answer: number;
  evidence?: RunEvidence;
  /** The comment policy's answer, when the finish wrote the run's follow-up (recorded with its settle). */
  comment?: CommentAnswer | null;
  wakeError: string | null;
  pending: PreparedEvent[];
  event: NewRunEvent;
  payload: ReturnType<typeof payloadText>;
}

/** The wakeup's status for each terminal status of its run. */
const WAKE_STATUS_FOR: Record<TerminalRunStatus, WakeupStatus> = {
  succeeded: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
  timed_out: 'timed_out',
};

/** The terminal rows (settled where nothing follows), their wakeups, events and the agents' runtime counters. */
export async function writeTerminals(tx: StatementTarget, terminals: Terminal[], now: Date): Promise<Map<string, number>> {
  if (terminals.length === 0) return new Map();
  const runs = terminals.map(({ item, run: t, followUp, comment, wakeError, pending, event, payload }) => ({
    run_id: t.id,
    pending_events: pending.length,
    settle: !followUp,
    comment_status: comment?.status ?? null,
    satisfied_by: comment?.satisfiedBy ?? null,
    has_output: item.output !== null,
    status: t.status,
    error: t.error,
    error_code: t.errorCode,
    exit_code: t.exitCode,
    signal: t.signal,
    usage_json: t.usageJson === null ? null : json(t.usageJson),
    result_json: t.resultJson === null ? null : json(t.resultJson),
    log_store: t.logStore,
    log_ref: t.logRef,
    log_bytes: t.logBytes,
    log_sha256: t.logSha256,
    stdout_excerpt: t.stdoutExcerpt,
    stderr_excerpt: t.stderrExcerpt,
    last_output_at: t.lastOutputAt ? iso(t.lastOutputAt) : null,
    last_output_seq: t.lastOutputSeq,
    last_output_stream: t.lastOutputStream,
    last_output_bytes: t.lastOutputBytes,
    liveness_state: t.livenessState,
    liveness_reason: t.livenessReason,
    next_action: t.nextAction,
    last_useful_action_at: t.lastUsefulActionAt ? iso(t.lastUsefulActionAt) : null,
    wake_id: t.wakeupRequestId,
    wake_status: WAKE_STATUS_FOR[t.status as keyof typeof WAKE_STATUS_FOR],
    wake_error: wakeError,
    event_type: event.eventType,
    event_level: event.level,
    event_message: event.message,
    event_payload: payload.text,
    adapter_type: item.agent.adapterType,
    session_id_after: t.sessionIdAfter,
  }));
  const costRows = terminals.flatMap(({ run, cost }) => costEventOf(run, cost) ?? []);
  const sessionRows = taskSessionWrites(terminals.map(({ item, run, session }) => ({ run, adapterType: item.agent.adapterType, session })));
  const pendingRows = terminals.flatMap(({ run: t, pending }) => pending.map((item, i) => eventInputRow(t.id, i + 1, item)));
  // The runtime counters per agent, in order: the totals add up and the last run wins.
  const byAgent = new Map<string, { agent_id: string; company_id: string; adapter_type: string; last_run_id: string; last_run_status: string; last_error: string | null; input: number; output: number; cached: number; cost: number; runs: number; set_session: boolean; session_id: string | null }>();
  for (const { item, run: t, session, cost } of terminals) {
    const entry = byAgent.get(t.agentId) ?? { agent_id: t.agentId, company_id: t.companyId, adapter_type: '', last_run_id: '', last_run_status: '', last_error: null, input: 0, output: 0, cached: 0, cost: 0, runs: 0, set_session: false, session_id: null };
    Object.assign(entry, { adapter_type: item.agent.adapterType, last_run_id: t.id, last_run_status: t.status, last_error: t.error });
    // The agent's fallback session (§12.1): left by runs without a task key; cleared by any clearSession.
    const { write } = session.outcome;
    if (write.kind === 'delete' || (session.taskKey === null && write.kind === 'upsert')) {
      Object.assign(entry, { set_session: true, session_id: write.kind === 'upsert' ? write.params.sessionId : null });
    }
    // The runtime counters grow by what the ledger records (§13.4).
    entry.input += cost.usage?.inputTokens ?? 0;
    entry.output += cost.usage?.outputTokens ?? 0;
    entry.cached += cost.usage?.cachedInputTokens ?? 0;
    entry.cost += cost.cents;
    entry.runs += 1;
    byAgent.set(t.agentId, entry);
  }
  const setsFallback = [...byAgent.values()].some((entry) => entry.set_session);
  const keep = (column: string) => sql.raw(`${column} = case when i.has_output then i.${column} else r.${column} end`);
  const rows = await executePrepared<{ run_id: string; seq: number }>(tx, sql`
    with input as (
      select * from jsonb_to_recordset(${json(runs)}::jsonb) as i(
        run_id uuid, status run_status, error text, error_code text, exit_code int, signal text, usage_json text, result_json text,
        log_store text, log_ref text, log_bytes bigint, log_sha256 text, stdout_excerpt text, stderr_excerpt text,
        last_output_at timestamptz, last_output_seq int, last_output_stream text, last_output_bytes bigint,
        liveness_state liveness_state, liveness_reason text, next_action text, last_useful_action_at timestamptz,
        wake_id uuid, wake_status wakeup_status, wake_error text, event_type text, event_level text, event_message text, event_payload text,
        adapter_type adapter_type, pending_events int, settle boolean, comment_status issue_comment_status, satisfied_by uuid,
        has_output boolean, session_id_after text)
    ), pending as (
      select * from jsonb_to_recordset(${json(pendingRows)}::jsonb) as p(${EVENT_INPUT_COLUMNS})
    ), finished as (
      update heartbeat_runs r set
        status = i.status, error = i.error, error_code = i.error_code, finished_at = ${iso(now)}::timestamptz,
        exit_code = i.exit_code, signal = i.signal, usage_json = i.usage_json::jsonb, result_json = i.result_json::jsonb,
        run_token_hash = null, ${keep('log_store')}, ${keep('log_ref')}, ${keep('log_bytes')}, ${keep('log_sha256')},
        ${keep('stdout_excerpt')}, ${keep('stderr_excerpt')}, ${keep('last_output_at')},
        ${keep('last_output_seq')}, ${keep('last_output_stream')}, ${keep('last_output_bytes')},
        liveness_state = i.liveness_state, liveness_reason = i.liveness_reason, next_action = i.next_action,
        last_useful_action_at = i.last_useful_action_at,
        issue_comment_status = case when i.settle then coalesce(i.comment_status, 'not_applicable') else r.issue_comment_status end,
        issue_comment_satisfied_by_comment_id = coalesce(i.satisfied_by, r.issue_comment_satisfied_by_comment_id),
        settled_at = case when i.settle then ${iso(now)}::timestamptz else r.settled_at end,
        updated_at = ${iso(now)}::timestamptz,
        last_event_seq = r.last_event_seq + i.pending_events + 1,
        session_id_after = i.session_id_after
      from input i where r.id = i.run_id and r.id = any(${uuidArray(terminals.map((t) => t.run.id))}::uuid[])
      returning r.id, r.company_id, r.agent_id, r.last_event_seq, i.pending_events
    ), wakes as (
      update agent_wakeup_requests w set status = i.wake_status, updated_at = ${iso(now)}::timestamptz, finished_at = ${iso(now)}::timestamptz,
        error = case when i.wake_error is null then w.error else i.wake_error end
      from input i where w.id = i.wake_id and w.id = any(${uuidArray(terminals.flatMap((t) => (t.run.wakeupRequestId ? [t.run.wakeupRequestId] : [])))}::uuid[])
      returning w.id
    )${taskSessionStatements(sessionRows, now)}${costEventStatements(costRows, now)}, inserted as (
      insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, stream, level, color, message, payload, created_at)
      select f.company_id, f.id, f.agent_id, f.last_event_seq - f.pending_events - 1 + p.ord, p.event_type, p.stream, p.level, p.color, p.message,
        p.payload::jsonb, ${iso(now)}::timestamptz
      from finished f join pending p on p.run_id = f.id
      union all
      select f.company_id, f.id, f.agent_id, f.last_event_seq, i.event_type, null, i.event_level, null, i.event_message, i.event_payload::jsonb,
        ${iso(now)}::timestamptz
      from finished f join input i on i.run_id = f.id
    ), runtime as (
      insert into agent_runtime_state (agent_id, company_id, adapter_type, last_run_id, last_run_status, last_error,
        total_input_tokens, total_output_tokens, total_cached_input_tokens, total_cost_cents, total_runs, session_id, updated_at)
      select x.agent_id, x.company_id, x.adapter_type, x.last_run_id, x.last_run_status, x.last_error, x.input, x.output, x.cached, x.cost, x.runs,
        ${setsFallback ? sql`case when x.set_session then x.session_id else (select s.session_id from agent_runtime_state s where s.agent_id = x.agent_id) end` : sql`null`},
        ${iso(now)}::timestamptz
      from jsonb_to_recordset(${json([...byAgent.values()])}::jsonb) as x(agent_id uuid, company_id uuid, adapter_type adapter_type,
        last_run_id uuid, last_run_status run_status, last_error text, input bigint, output bigint, cached bigint, cost bigint, runs int,
        set_session boolean, session_id text)
      where exists (select 1 from agents a where a.id = x.agent_id)
      on conflict (agent_id) do update set
        adapter_type = excluded.adapter_type, last_run_id = excluded.last_run_id, last_run_status = excluded.last_run_status,
        last_error = excluded.last_error,
        session_id = ${setsFallback ? sql`excluded.session_id` : sql`agent_runtime_state.session_id`},
        total_input_tokens = agent_runtime_state.total_input_tokens + excluded.total_input_tokens,
        total_output_tokens = agent_runtime_state.total_output_tokens + excluded.total_output_tokens,
        total_cached_input_tokens = agent_runtime_state.total_cached_input_tokens + excluded.total_cached_input_tokens,
        total_cost_cents = agent_runtime_state.total_cost_cents + excluded.total_cost_cents,
        total_runs = agent_runtime_state.total_runs + excluded.total_runs,
        updated_at = excluded.updated_at
      returning agent_id
    )
    select id as run_id, last_event_seq as seq from finished`);
  const seqs = new Map(rows.map((row) => [row.run_id, Number(row.seq)]));
  if (seqs.size !== terminals.length) throw new Error('finishRuns: a locked run was not written');
  return seqs;
}
