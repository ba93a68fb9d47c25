// The finish of many runs without an issue in one transaction (spec §6.4 steps 6-8 and the settle;
// see run-batches.ts for the batching as a whole). For such a run every follow-up step is settled
// by what its row says (no summary comment, no comment retry, no issue to release, no
// continuation), so the terminal write, liveness, runtime state, agent status and settle are one
// transaction. A run that needs more (a transient failure to retry, an issue lock pointing at it,
// a row cancelled meanwhile) is handed back to the per-run path (finalize.ts). The run's last
// events, when their own write had not started yet (execute.ts takeEvents), are written here first:
// a run that emits events and ends at once costs one transaction, not two.
import { sql } from 'drizzle-orm';
import type { AdapterResult } from './adapters/types.ts';
import { PER_ITEM } from './batcher.ts';
import type { EngineDeps } from './deps.ts';
import { outputColumns, terminalColumns, WAKE_STATUS_FOR } from './finalize.ts';
import type { LiveEvent } from './live-events.ts';
import { classifyLiveness } from './liveness.ts';
import { ENGINE_EVENT_TYPES } from './adapters/types.ts';
import { IGNORED_ACTIVITY, livenessInputFrom } from './liveness-evidence.ts';
import { transientContract } from './retry-rules.ts';
import { type AgentRow, EVENT_INPUT_COLUMNS, eventInputRow, iso, json, payloadText, type PreparedEvent } from './run-batches.ts';
import { resolveRunOutcome } from './run-outcome.ts';
import { liveRunEvent, type NewRunEvent } from './run-events.ts';
import type { RunOutputSummary } from './run-output.ts';
import { pipelinedTransaction } from './pipelined-transaction.ts';
import { executePrepared, runRowFromDriver, type StatementTarget, uuidArray } from './run-rows.ts';
import { type RunRow, runStatusEvent } from './runs.ts';

export interface PlainFinish {
  runId: string;
  agent: Pick<AgentRow, 'id' | 'adapterType' | 'adapterConfig'>;
  result: AdapterResult;
  output: RunOutputSummary;
  /** The run's last events, not written yet: written first, in this transaction, in order. */
  events: NewRunEvent[];
}

interface Finished {
  item: PlainFinish;
  terminal: RunRow;
  settled: RunRow;
  wakeError: string | null;
  /** The run's last events (PlainFinish.events), bounded, written just before its terminal event. */
  pending: PreparedEvent[];
  event: NewRunEvent;
  payload: ReturnType<typeof payloadText>;
}

/**
 * Finishes runs without an issue, not crashed, in one transaction. Answers, per item, [] (the runs
 * its follow-up queued: none) when it was finished here, or PER_ITEM when the per-run path must
 * finish it: nothing was written for it (its row was held by another transaction, already
 * terminal, gone, or it needs a follow-up step).
 */
export async function finishPlainRuns(deps: EngineDeps, items: PlainFinish[]): Promise<Array<RunRow[] | typeof PER_ITEM>> {
  const firstHeartbeats: Array<{ agentId: string; agentRole: string }> = [];
  // Two round trips (pipelined-transaction.ts): BEGIN with the reads, the writes with COMMIT.
  const results = await pipelinedTransaction(deps, async (tx, events) => {
    const now = deps.clock.now();
    const ids = uuidArray(items.map((item) => item.runId));
    // The runs (skipping any another transaction holds) and their liveness evidence. The agents'
    // rows are locked only at the end, right before the commit (finalizeAgents): every enqueue,
    // claim and start of those agents waits for that lock, so it is held as briefly as possible.
    const [rawRows, evidenceRows] = await Promise.all([
      executePrepared(tx, sql`select * from heartbeat_runs where id = any(${ids}::uuid[]) order by id for update skip locked`),
      plainRunEvidence(tx, ids),
    ]);
    const rows = rawRows.map(runRowFromDriver);
    const evidence = { activity: new Map<string, Tally>(), toolEvents: new Map<string, Tally>() };
    const lockedIssue = new Set<string>();
    for (const row of evidenceRows) {
      if (row.kind === 'lock') lockedIssue.add(row.run_id);
      else (row.kind === 'activity' ? evidence.activity : evidence.toolEvents).set(row.run_id, { n: row.n, latest: row.latest_ms === null ? null : new Date(Number(row.latest_ms)) });
    }
    const rowById = new Map(rows.map((row) => [row.id, row]));
    // The liveness update stamps updated_at with the wall clock (the column's onUpdate), and so
    // does the settle after it: the terminal and the settled states carry those times.
    const classifiedAt = new Date();
    const finished: Array<Finished | null> = items.map((item) => {
      const row = rowById.get(item.runId);
      if (!row || row.issueId !== null || typeof row.contextSnapshot.issueId === 'string' || lockedIssue.has(row.id)) return null;
      const outcome = resolveRunOutcome(row, item.result);
      if (!outcome) return null;
      const written: RunRow = {
        ...row,
        ...outputColumns(item.output),
        ...terminalColumns(outcome, item.result, item.agent.adapterConfig.timeoutSec, now),
      };
      // A transient failure gets a bounded retry: that is the per-run path's work.
      if (written.status === 'failed' && transientContract(written)) return null;
      const act = evidence.activity.get(row.id);
      const tools = withPendingTools(evidence.toolEvents.get(row.id), item.events, now);
      const liveness = classifyLiveness(livenessInputFrom(written, null, [], [], act, tools));
      const terminal: RunRow = {
        ...written,
        lastEventSeq: row.lastEventSeq + item.events.length,
        livenessState: liveness.state,
        livenessReason: liveness.reason,
        nextAction: liveness.nextAction,
        lastUsefulActionAt: liveness.lastUsefulActionAt,
        updatedAt: classifiedAt,
      };
      const event: NewRunEvent = {
        runId: row.id,
        eventType: 'lifecycle',
        level: outcome.status === 'succeeded' ? 'info' : 'error',
        message: `run ${outcome.status}`,
        payload: { status: outcome.status, exitCode: terminal.exitCode, ...(outcome.error ? { error: outcome.error } : {}) },
      };
      const settled: RunRow = { ...terminal, issueCommentStatus: 'not_applicable', settledAt: now, lastEventSeq: terminal.lastEventSeq + 1 };
      const pending = item.events.map((e) => ({ event: e, payload: payloadText(e.payload) }));
      return { item, terminal, settled, wakeError: outcome.error, pending, event, payload: payloadText(event.payload) };
    });
    const done = finished.filter((f): f is Finished => f !== null);
    // Nothing to write: no COMMIT, the transaction rolls back and every item goes the per-run way.
    if (done.length === 0) return null;
    const settledAt = new Date(Math.max(Date.now(), classifiedAt.getTime()));
    for (const f of done) f.settled.updatedAt = settledAt;

    // Sent together: the server runs them one after the other, in one round trip.
    const [seqs, agentEvents] = await Promise.all([writeFinished(tx, done, now, settledAt), finalizeAgents(tx, done, now, firstHeartbeats), tx.commit()]);
    for (const f of done) {
      const run = f.terminal;
      const terminalSeq = seqs.get(run.id)!;
      f.pending.forEach(({ event, payload }, i) => events.push(liveRunEvent(run, terminalSeq - f.pending.length + i, event, payload.bounded)));
      events.push(liveRunEvent(run, terminalSeq, f.event, f.payload.bounded), runStatusEvent(run));
      const agentEvent = agentEvents.get(f);
      if (agentEvent) events.push(agentEvent);
      events.push(runStatusEvent(f.settled));
    }
    return finished.map((f): RunRow[] | typeof PER_ITEM => (f ? [] : PER_ITEM));
  });
  if (!results) return items.map((): typeof PER_ITEM => PER_ITEM);
  for (const hook of firstHeartbeats) deps.onFirstHeartbeat?.(hook);
  return results;
}

/** The terminal rows (with liveness and settle), their wakeups, terminal events and runtime state. */
async function writeFinished(tx: StatementTarget, done: Finished[], now: Date, settledAt: Date): Promise<Map<string, number>> {
  const runs = done.map(({ item, terminal: t, wakeError, pending, event, payload }) => ({
    run_id: t.id,
    pending_events: pending.length,
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
  }));
  const pendingRows = done.flatMap(({ terminal: t, pending }) => pending.map((item, i) => eventInputRow(t.id, i + 1, item)));
  // updateRuntimeState per run, in order: per agent, the totals add up and the last run wins.
  const byAgent = new Map<string, { agent_id: string; company_id: string; adapter_type: string; last_run_id: string; last_run_status: string; last_error: string | null; input: number; output: number; cached: number; cost: number; runs: number }>();
  for (const { item, terminal: t } of done) {
    const usage = t.usageJson;
    const entry = byAgent.get(t.agentId) ?? { agent_id: t.agentId, company_id: t.companyId, adapter_type: '', last_run_id: '', last_run_status: '', last_error: null, input: 0, output: 0, cached: 0, cost: 0, runs: 0 };
    Object.assign(entry, { adapter_type: item.agent.adapterType, last_run_id: t.id, last_run_status: t.status, last_error: t.error });
    entry.input += counter(usage, 'inputTokens', 'input_tokens');
    entry.output += counter(usage, 'outputTokens', 'output_tokens');
    entry.cached += counter(usage, 'cachedInputTokens', 'cached_input_tokens');
    entry.cost += counter(usage, 'costCents', 'cost_cents');
    entry.runs += 1;
    byAgent.set(t.agentId, entry);
  }
  const rows = await executePrepared<{ run_id: string; seq: number }>(tx, sql`
    with input as (
      select * from jsonb_to_recordset(${json(runs)}::jsonb) as i(
        run_id uuid, status run_status, error text, error_code text, exit_code int, signal text, usage_json text, result_json text,
        log_store text, log_ref text, log_bytes bigint, log_sha256 text, stdout_excerpt text, stderr_excerpt text,
        last_output_at timestamptz, last_output_seq int, last_output_stream text, last_output_bytes bigint,
        liveness_state liveness_state, liveness_reason text, next_action text, last_useful_action_at timestamptz,
        wake_id uuid, wake_status wakeup_status, wake_error text, event_type text, event_level text, event_message text, event_payload text,
        adapter_type adapter_type, pending_events int)
    ), pending as (
      select * from jsonb_to_recordset(${json(pendingRows)}::jsonb) as p(${EVENT_INPUT_COLUMNS})
    ), finished as (
      update heartbeat_runs r set
        status = i.status, error = i.error, error_code = i.error_code, finished_at = ${iso(now)}::timestamptz,
        exit_code = i.exit_code, signal = i.signal, usage_json = i.usage_json::jsonb, result_json = i.result_json::jsonb,
        run_token_hash = null, log_store = i.log_store, log_ref = i.log_ref, log_bytes = i.log_bytes, log_sha256 = i.log_sha256,
        stdout_excerpt = i.stdout_excerpt, stderr_excerpt = i.stderr_excerpt, last_output_at = i.last_output_at,
        last_output_seq = i.last_output_seq, last_output_stream = i.last_output_stream, last_output_bytes = i.last_output_bytes,
        liveness_state = i.liveness_state, liveness_reason = i.liveness_reason, next_action = i.next_action,
        last_useful_action_at = i.last_useful_action_at, issue_comment_status = 'not_applicable',
        settled_at = ${iso(now)}::timestamptz, updated_at = ${iso(settledAt)}::timestamptz,
        last_event_seq = r.last_event_seq + i.pending_events + 1
      from input i where r.id = i.run_id and r.id = any(${uuidArray(done.map((f) => f.terminal.id))}::uuid[])
      returning r.id, r.company_id, r.agent_id, r.last_event_seq, i.pending_events
    ), wakes as (
      update agent_wakeup_requests w set status = i.wake_status, updated_at = ${iso(now)}::timestamptz, finished_at = ${iso(now)}::timestamptz,
        error = case when i.wake_error is null then w.error else i.wake_error end
      from input i where w.id = i.wake_id and w.id = any(${uuidArray(done.flatMap((f) => (f.terminal.wakeupRequestId ? [f.terminal.wakeupRequestId] : [])))}::uuid[])
      returning w.id
    ), inserted as (
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
        total_input_tokens, total_output_tokens, total_cached_input_tokens, total_cost_cents, total_runs, updated_at)
      select x.agent_id, x.company_id, x.adapter_type, x.last_run_id, x.last_run_status, x.last_error, x.input, x.output, x.cached, x.cost, x.runs,
        ${iso(now)}::timestamptz
      from jsonb_to_recordset(${json([...byAgent.values()])}::jsonb) as x(agent_id uuid, company_id uuid, adapter_type adapter_type,
        last_run_id uuid, last_run_status run_status, last_error text, input bigint, output bigint, cached bigint, cost bigint, runs int)
      on conflict (agent_id) do update set
        adapter_type = excluded.adapter_type, last_run_id = excluded.last_run_id, last_run_status = excluded.last_run_status,
        last_error = excluded.last_error,
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
  if (seqs.size !== done.length) throw new Error('finishPlainRuns: a locked run was not written');
  return seqs;
}

const counter = (usage: Record<string, unknown> | null, ...keys: string[]) => {
  for (const key of keys) {
    const value = usage?.[key];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  }
  return 0;
};

/**
 * The run's tool events as the liveness evidence counts them, with its last events, which this
 * transaction writes (stamped `now`), added to those already written.
 */
function withPendingTools(written: Tally, pending: NewRunEvent[], now: Date): Tally {
  const tools = pending.filter((e) => !ENGINE_EVENT_TYPES.includes(e.eventType)).length;
  if (tools === 0) return written;
  return { n: Number(written?.n ?? 0) + tools, latest: now };
}

type LockedAgent = { id: string; company_id: string; status: string; role: string; last_heartbeat_at: string | null };
type Tally = { n: number | string; latest: unknown } | undefined;

/**
 * What the liveness classifier needs of runs without an issue (their activity and tool events: the
 * only evidence such a run can leave, as classifyRunsLiveness counts it), and whether an issue's
 * execution lock points at any of them, in one statement.
 */
function plainRunEvidence(tx: StatementTarget, ids: string) {
  return executePrepared<{ kind: 'activity' | 'tool' | 'lock'; run_id: string; n: number; latest_ms: number | null }>(tx, sql`
    select 'activity' as kind, run_id, count(*)::int as n, (extract(epoch from max(created_at)) * 1000)::float8 as latest_ms
    from activity_log where run_id = any(${ids}::uuid[]) and action not in (${sql.join(IGNORED_ACTIVITY.map((a) => sql`${a}`), sql`, `)})
    group by run_id
    union all
    select 'tool', run_id, count(*)::int, (extract(epoch from max(created_at)) * 1000)::float8
    from heartbeat_run_events where run_id = any(${ids}::uuid[]) and event_type not in (${sql.join(ENGINE_EVENT_TYPES.map((t) => sql`${t}`), sql`, `)})
    group by run_id
    union all
    select 'lock', execution_run_id, 1, null from issues where execution_run_id = any(${ids}::uuid[])`);
}

/**
 * finalizeAgentStatus (spec §6.15) for the agents of the batch, after their runs' terminal writes:
 * their rows locked in a fixed order and read, then updated, two statements sent at once. The
 * update runs after the lock was granted, so its count of running runs sees every claim committed
 * before (a claim takes the same lock to turn the agent running). Each run's event carries the
 * status its own finalize would compute, the row the last one's.
 */
async function finalizeAgents(
  tx: StatementTarget,
  done: Finished[],
  now: Date,
  firstHeartbeats: Array<{ agentId: string; agentRole: string }>,
): Promise<Map<Finished, LiveEvent>> {
  const outcomeStatus = (outcome: string) => (outcome === 'succeeded' || outcome === 'cancelled' ? 'idle' : 'error');
  const lastOutcome = new Map<string, string>();
  for (const f of done) lastOutcome.set(f.terminal.agentId, f.terminal.status);
  const agentIds = [...lastOutcome.keys()].sort();
  const input = agentIds.map((id) => ({ id, final_status: outcomeStatus(lastOutcome.get(id)!) }));
  // Paused and terminated agents keep their status and heartbeat time; a deleted one has no row.
  const [locked, rows] = await Promise.all([
    executePrepared<LockedAgent>(tx, sql`
      select id, company_id, status, role, last_heartbeat_at::text as last_heartbeat_at
      from agents where id = any(${uuidArray(agentIds)}::uuid[]) order by id for no key update`),
    executePrepared<{ id: string; running: number }>(tx, sql`
      update agents a
      set status = case when r.running > 0 then 'running'::agent_status else x.final_status end,
          last_heartbeat_at = ${iso(now)}::timestamptz, updated_at = ${iso(now)}::timestamptz
      from jsonb_to_recordset(${json(input)}::jsonb) as x(id uuid, final_status agent_status),
        lateral (select count(*)::int as running from heartbeat_runs h where h.agent_id = x.id and h.status = 'running') r
      where a.id = x.id and a.status not in ('paused', 'terminated')
      returning a.id, r.running`),
  ]);
  const events = new Map<Finished, LiveEvent>();
  const active = locked.filter((agent) => agent.status !== 'paused' && agent.status !== 'terminated');
  const running = new Map(rows.map((row) => [row.id, Number(row.running)]));
  for (const agent of active) {
    if (!running.has(agent.id)) continue;
    for (const f of done) {
      if (f.terminal.agentId !== agent.id) continue;
      const outcome = f.terminal.status;
      const status = running.get(agent.id)! > 0 ? 'running' : outcomeStatus(outcome);
      events.set(f, { type: 'agent.status', companyId: agent.company_id, agentId: agent.id, status: status as 'running', lastHeartbeatAt: iso(now), outcome });
    }
    if (agent.last_heartbeat_at === null) firstHeartbeats.push({ agentId: agent.id, agentRole: agent.role });
  }
  return events;
}
