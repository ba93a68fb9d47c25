// Appending to runs' event streams (Decisions 3): one statement for any number of events of any
// number of runs. Each run's seqs come from its row's counter, incremented in the same statement as
// the inserts: concurrent writers serialise on the run row, so seqs are gap-free and commit in
// order. The engine's batches and a single event go through the same statement.
import { sql } from 'drizzle-orm';
import { boundPayload } from '../rules/bounding.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { executePrepared, json, type StatementTarget, uuidArray } from '../store/statements.ts';
import type { RunRow } from '../model/runs.ts';

type RunEventLiveEvent = Extract<LiveEvent, { type: 'heartbeat.run.event' }>;

export interface NewRunEvent {
  runId: string;
  eventType: string;
  message?: string | null;
  level?: 'info' | 'warn' | 'error' | null;
  stream?: string | null;
  color?: string | null;
  payload?: unknown;
}

/** Consecutive events of one run, in order. */
export interface EventGroup {
  runId: string;
  events: NewRunEvent[];
}

/** A bounded event payload as SQL text (null stays SQL NULL). */
export const payloadText = (payload: unknown) => {
  const bounded = payload === undefined ? null : boundPayload(payload);
  return { bounded, text: bounded === null ? null : json(bounded) };
};

/** An event with its payload bounded and as SQL text, ready for a set-based statement. */
export type PreparedEvent = { event: NewRunEvent; payload: ReturnType<typeof payloadText> };

/** The columns of an event statement's input rows (`jsonb_to_recordset(...) as p(<these>)`). */
export const EVENT_INPUT_COLUMNS = sql.raw('run_id uuid, ord int, event_type text, stream text, level text, color text, message text, payload text');

/** An event as an input row of a set-based statement: `ord` orders a run's events within it. */
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

export interface EventWriteMode {
  /**
   * Wait for a run row another transaction holds (a single write), or leave its events unwritten
   * (a batch, which must never wait on one run while holding others; its caller writes them alone).
   */
  wait: boolean;
  /**
   * Drop the events of a settled run (the executor's output: nothing about a settled run changes;
   * an executor that outlived its lease meets this, its run reaped elsewhere).
   */
  unlessSettled: boolean;
}

/**
 * Appends the events of many runs in one statement on `target` (the pool, or an open transaction),
 * each run's seqs in its groups' order; their live events are pushed to `events`. Answers, per
 * group, whether it was written (see EventWriteMode for when it is not).
 */
export async function appendRunEvents(target: StatementTarget, events: LiveEvent[], groups: EventGroup[], now: Date, mode: EventWriteMode): Promise<boolean[]> {
  const prepared = groups.map((group) => group.events.map((event): PreparedEvent => ({ event, payload: payloadText(event.payload) })));
  // Two groups of one run: the second one's events continue the first one's order.
  const nextOrd = new Map<string, number>();
  const input = groups.flatMap((group, g) =>
    prepared[g].map((item) => {
      const ord = (nextOrd.get(group.runId) ?? 0) + 1;
      nextOrd.set(group.runId, ord);
      return eventInputRow(group.runId, ord, item);
    }),
  );
  const runIds = uuidArray([...new Set(groups.map((group) => group.runId))]);
  const settled = mode.unlessSettled ? sql`and r.settled_at is null` : sql``;
  const lock = mode.wait ? sql`for update` : sql`for update skip locked`;
  const rows = await executePrepared<{ run_id: string; company_id: string; agent_id: string; first: number }>(target, sql`
    with input as (
      select * from jsonb_to_recordset(${json(input)}::jsonb) as i(${EVENT_INPUT_COLUMNS})
    ), counts as (
      select run_id, count(*)::int as n from input group by run_id
    ), locked as (
      select r.id from heartbeat_runs r where r.id = any(${runIds}::uuid[]) ${settled} order by r.id ${lock}
    ), allocated as (
      update heartbeat_runs r set last_event_seq = r.last_event_seq + c.n
      from counts c join locked l on l.id = c.run_id
      where r.id = c.run_id and r.id = any(${runIds}::uuid[])
      returning r.id, r.company_id, r.agent_id, r.last_event_seq, c.n
    ), inserted as (
      insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, stream, level, color, message, payload, created_at)
      select a.company_id, a.id, a.agent_id, a.last_event_seq - a.n + i.ord, i.event_type, i.stream, i.level, i.color, i.message,
        i.payload::jsonb, ${now.toISOString()}::timestamptz
      from allocated a join input i on i.run_id = a.id
    )
    select id as run_id, company_id, agent_id, last_event_seq - n as first from allocated`);
  const written = new Map(rows.map((row) => [row.run_id, { run: { id: row.run_id, companyId: row.company_id, agentId: row.agent_id }, next: Number(row.first) }]));
  return groups.map((group, g) => {
    const run = written.get(group.runId);
    if (!run) return false;
    for (const { event, payload } of prepared[g]) events.push(liveRunEvent(run.run, ++run.next, event, payload.bounded));
    return true;
  });
}

/** One event the engine itself records (a lifecycle step): waits for its run's row; the run must exist. */
export async function appendRunEvent(target: StatementTarget, events: LiveEvent[], event: NewRunEvent, now: Date): Promise<void> {
  const [written] = await appendRunEvents(target, events, [{ runId: event.runId, events: [event] }], now, { wait: true, unlessSettled: false });
  if (!written) throw new Error(`appendRunEvent: run ${event.runId} does not exist`);
}

/** One event of the run's executor: false when it was dropped, its run being settled (EventWriteMode). */
export async function appendExecutorEvent(target: StatementTarget, events: LiveEvent[], event: NewRunEvent, now: Date): Promise<boolean> {
  const [written] = await appendRunEvents(target, events, [{ runId: event.runId, events: [event] }], now, { wait: true, unlessSettled: true });
  return written;
}

/** The live event of a stored run event. */
export function liveRunEvent(run: Pick<RunRow, 'companyId' | 'id' | 'agentId'>, seq: number, event: NewRunEvent, payload: unknown): RunEventLiveEvent {
  return {
    type: 'heartbeat.run.event',
    companyId: run.companyId,
    runId: run.id,
    agentId: run.agentId,
    seq,
    eventType: event.eventType,
    stream: event.stream ?? null,
    level: event.level ?? null,
    color: event.color ?? null,
    message: event.message ?? null,
    payload,
  };
}
