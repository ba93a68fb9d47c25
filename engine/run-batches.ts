// The run lifecycle of the common case, written for many runs at once. A busy engine starts,
// records events for and finishes hundreds of runs a second; one statement per run per step would
// make the database, not the runs, the limit. Here each step is a few set-based statements for a
// whole batch of runs (see batcher.ts), with exactly the rows, columns and live events the per-run
// code in execute.ts and finalize.ts writes for the same runs:
// - start (spec §6.4 step 3): context and log file recorded, the agent running, `run started`;
// - events (§6.6): the adapter's events, seq allocated per run in order;
// - finish (§6.4 steps 6-8 and settle) of a run without an issue: finish-batch.ts.
// Any failure of a batch is retried item by item on the per-run path (batcher.ts eachOnFailure).
import { sql } from 'drizzle-orm';
import type { agents } from '../db/schema.ts';
import { PER_ITEM } from './batcher.ts';
import { boundPayload } from './bounding.ts';
import type { EngineDeps } from './deps.ts';
import type { LiveEvent } from './live-events.ts';
import { liveRunEvent, type NewRunEvent } from './run-events.ts';
import { executePrepared, type StatementTarget, uuidArray } from './run-rows.ts';
import type { RunRow } from './runs.ts';

export type AgentRow = typeof agents.$inferSelect;

/** Agent statuses from which a starting run turns the agent `running` (as execute.ts). */
export const RUNNING_FROM = ['active', 'idle', 'running', 'error'] as const;

export const iso = (date: Date) => date.toISOString();
export const json = (value: unknown) => JSON.stringify(value);
/** A bounded event payload as SQL text (null stays SQL NULL, as appendRunEvent writes it). */
export const payloadText = (payload: unknown) => {
  const bounded = payload === undefined ? null : boundPayload(payload);
  return { bounded, text: bounded === null ? null : json(bounded) };
};

/** An event with its payload bounded and as SQL text, ready for a batch statement. */
export type PreparedEvent = { event: NewRunEvent; payload: ReturnType<typeof payloadText> };

/** The columns of an event batch's input rows (`jsonb_to_recordset(...) as p(<these>)`). */
export const EVENT_INPUT_COLUMNS = sql.raw('run_id uuid, ord int, event_type text, stream text, level text, color text, message text, payload text');

/** An event as an input row of a batch statement: `ord` orders a run's events within the batch. */
export function eventInputRow(runId: string, ord: number, { event, payload }: PreparedEvent) {
  return {
    run_id: runId,
    ord,
    event_type: event.eventType,
    stream: event.stream ?? null,
    level: event.level ?? null,
    color: event.color ?? null,
    message: event.message ?? null,
    payload: payload.text,
  };
}

// ---- start ----------------------------------------------------------------------------------------

export interface RunStart {
  run: RunRow;
  agent: AgentRow;
  context: Record<string, unknown>;
  logRef: string;
}

/** The `run started` event of a run (execute.ts writes the same one on the per-run path). */
export function runStartedEvent(item: RunStart): NewRunEvent {
  return {
    runId: item.run.id,
    eventType: 'lifecycle',
    level: 'info',
    message: 'run started',
    payload: { adapterType: item.agent.adapterType, invocationSource: item.run.invocationSource, wakeReason: item.context.wakeReason ?? null },
  };
}

/**
 * Starts runs in one statement; publishes, per run, `agent.status` (when the agent turned running)
 * and the event. A run whose row another transaction holds is left to the per-run path (PER_ITEM),
 * so the batch never waits on one run while holding others.
 */
export async function startRuns(deps: EngineDeps, items: RunStart[]): Promise<Array<void | typeof PER_ITEM>> {
  const now = deps.clock.now();
  const prepared = items.map((item) => {
    const event = runStartedEvent(item);
    return { event, payload: payloadText(event.payload) };
  });
  const input = items.map((item, i) => ({
    run_id: item.run.id,
    agent_id: item.agent.id,
    context: json(item.context),
    log_ref: item.logRef,
    payload: prepared[i].payload.text,
  }));
  const runIds = uuidArray(items.map((item) => item.run.id));
  const agentIds = uuidArray([...new Set(items.map((item) => item.agent.id))]);
  const rows = await executePrepared<{ kind: 'event' | 'agent'; id: string; seq: number | null; last_heartbeat_at: string | null }>(deps.db, sql`
    with input as (
      select * from jsonb_to_recordset(${json(input)}::jsonb) as i(run_id uuid, agent_id uuid, context text, log_ref text, payload text)
    ), locked as (
      select r.id from heartbeat_runs r where r.id = any(${runIds}::uuid[]) order by r.id for update skip locked
    ), started as (
      update heartbeat_runs r
      set context_snapshot = i.context::jsonb, log_store = 'file', log_ref = i.log_ref, updated_at = ${iso(now)}::timestamptz,
          last_event_seq = r.last_event_seq + 1
      from input i join locked l on l.id = i.run_id
      where r.id = i.run_id and r.id = any(${runIds}::uuid[])
      returning r.id, r.company_id, r.agent_id, r.last_event_seq
    ), agent_locks as (
      select a.id from agents a
      where a.id = any(${agentIds}::uuid[]) and a.id in (select i.agent_id from input i join started s on s.id = i.run_id)
        and a.status in ('active', 'idle', 'running', 'error')
      order by a.id for no key update
    ), running as (
      update agents a set status = 'running', updated_at = ${iso(now)}::timestamptz
      from agent_locks l where a.id = l.id
      returning a.id, a.last_heartbeat_at
    ), inserted as (
      insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, level, message, payload, created_at)
      select s.company_id, s.id, s.agent_id, s.last_event_seq, 'lifecycle', 'info', 'run started', i.payload::jsonb, ${iso(now)}::timestamptz
      from started s join input i on i.run_id = s.id
      returning run_id, seq
    )
    select 'event' as kind, run_id as id, seq, null::text as last_heartbeat_at from inserted
    union all
    select 'agent', id, null, last_heartbeat_at::text from running`);
  const seqs = new Map<string, number>();
  const running = new Map<string, string | null>();
  for (const row of rows) {
    if (row.kind === 'event') seqs.set(row.id, Number(row.seq));
    else running.set(row.id, row.last_heartbeat_at);
  }
  const events: LiveEvent[] = [];
  for (const [i, item] of items.entries()) {
    const { run, agent } = item;
    const seq = seqs.get(run.id);
    if (seq === undefined) continue;
    if (running.has(agent.id)) {
      const at = running.get(agent.id);
      events.push({ type: 'agent.status', companyId: agent.companyId, agentId: agent.id, status: 'running', lastHeartbeatAt: at ? new Date(at).toISOString() : null, outcome: 'running' });
    }
    events.push(liveRunEvent(run, seq, prepared[i].event, prepared[i].payload.bounded));
  }
  if (events.length > 0) deps.bus.publish(events);
  return items.map((item) => (seqs.has(item.run.id) ? undefined : PER_ITEM));
}

// ---- events ---------------------------------------------------------------------------------------

/** Consecutive events of one run, in order. */
export interface EventGroup {
  run: Pick<RunRow, 'companyId' | 'id' | 'agentId'>;
  events: NewRunEvent[];
}

/**
 * Appends the events of many runs in one statement; each run's seqs follow its order. Groups of a
 * run whose row another transaction holds, or that is settled, are left to the per-run path
 * (PER_ITEM), which drops the events of a settled run (appendExecutorEvent).
 */
export async function appendEventGroups(deps: EngineDeps, groups: EventGroup[]): Promise<Array<void | typeof PER_ITEM>> {
  const events: LiveEvent[] = [];
  const results = await insertEventGroups(deps.db, events, groups, deps.clock.now());
  if (events.length > 0) deps.bus.publish(events);
  return results;
}

/** appendEventGroups on `target` (the pool, or an open transaction), its live events pushed to `events`. */
export async function insertEventGroups(target: StatementTarget, events: LiveEvent[], groups: EventGroup[], now: Date): Promise<Array<void | typeof PER_ITEM>> {
  const prepared = groups.map((group) => group.events.map((event): PreparedEvent => ({ event, payload: payloadText(event.payload) })));
  // Two groups of one run in a batch: the second one's events continue the first one's order.
  const nextOrd = new Map<string, number>();
  const input = groups.flatMap((group, g) =>
    prepared[g].map((item) => {
      const ord = (nextOrd.get(group.run.id) ?? 0) + 1;
      nextOrd.set(group.run.id, ord);
      return eventInputRow(group.run.id, ord, item);
    }),
  );
  const runIds = uuidArray([...new Set(groups.map((group) => group.run.id))]);
  const rows = await executePrepared<{ run_id: string; first: number }>(target, sql`
    with input as (
      select * from jsonb_to_recordset(${json(input)}::jsonb) as i(${EVENT_INPUT_COLUMNS})
    ), counts as (
      select run_id, count(*)::int as n from input group by run_id
    ), locked as (
      select r.id from heartbeat_runs r where r.id = any(${runIds}::uuid[]) and r.settled_at is null order by r.id for update skip locked
    ), allocated as (
      update heartbeat_runs r set last_event_seq = r.last_event_seq + c.n
      from counts c join locked l on l.id = c.run_id
      where r.id = c.run_id and r.id = any(${runIds}::uuid[])
      returning r.id, r.company_id, r.agent_id, r.last_event_seq, c.n
    ), inserted as (
      insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, stream, level, color, message, payload, created_at)
      select a.company_id, a.id, a.agent_id, a.last_event_seq - a.n + i.ord, i.event_type, i.stream, i.level, i.color, i.message,
        i.payload::jsonb, ${iso(now)}::timestamptz
      from allocated a join input i on i.run_id = a.id
    )
    select id as run_id, last_event_seq - n as first from allocated`);
  const next = new Map(rows.map((row) => [row.run_id, Number(row.first)]));
  return groups.map((group, g) => {
    let seq = next.get(group.run.id);
    if (seq === undefined) return PER_ITEM;
    for (const { event, payload } of prepared[g]) events.push(liveRunEvent(group.run, ++seq, event, payload.bounded));
    next.set(group.run.id, seq);
    return undefined;
  });
}
