// Appending to a run's event stream. The seq comes from the run row's counter, incremented in the
// same statement as the insert (Decisions 3): concurrent writers serialise on the run row, so seqs
// are gap-free and commit in order.
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { boundPayload } from './bounding.ts';
import type { LiveEvent } from './live-events.ts';
import { executePrepared } from './run-rows.ts';
import type { RunRow } from './runs.ts';

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

export interface StoredRunEvent {
  companyId: string;
  runId: string;
  agentId: string;
  seq: number;
  eventType: string;
  stream: string | null;
  level: string | null;
  color: string | null;
  message: string | null;
  payload: unknown;
  createdAt: Date;
}

export async function appendRunEvent(tx: Executor, events: LiveEvent[], event: NewRunEvent, now: Date): Promise<StoredRunEvent> {
  const stored = await insertRunEvent(tx, events, event, now, false);
  if (!stored) throw new Error(`appendRunEvent: run ${event.runId} does not exist`);
  return stored;
}

/**
 * An event of the run's executor (the adapter's output): dropped, with false, once the run is
 * settled, since nothing about a settled run changes. That happens to an executor that outlived
 * its lease: another instance reaped its run as lost meanwhile.
 */
export async function appendExecutorEvent(tx: Executor, events: LiveEvent[], event: NewRunEvent, now: Date): Promise<boolean> {
  return (await insertRunEvent(tx, events, event, now, true)) !== null;
}

async function insertRunEvent(tx: Executor, events: LiveEvent[], event: NewRunEvent, now: Date, unlessSettled: boolean): Promise<StoredRunEvent | null> {
  const payload = event.payload === undefined ? null : boundPayload(event.payload);
  const rows = await executePrepared<Record<string, unknown>>(tx, sql`
    with allocated as (
      update heartbeat_runs set last_event_seq = last_event_seq + 1
      where id = ${event.runId}${unlessSettled ? sql` and settled_at is null` : sql``}
      returning id, company_id, agent_id, last_event_seq
    )
    insert into heartbeat_run_events
      (company_id, run_id, agent_id, seq, event_type, stream, level, color, message, payload, created_at)
    select company_id, id, agent_id, last_event_seq, ${event.eventType}, ${event.stream ?? null},
      ${event.level ?? null}, ${event.color ?? null}, ${event.message ?? null},
      ${payload === null ? null : JSON.stringify(payload)}::jsonb, ${now.toISOString()}::timestamptz
    from allocated
    returning company_id, run_id, agent_id, seq, created_at`);
  const row = rows[0];
  if (!row) return null;
  const live = liveRunEvent({ companyId: row.company_id as string, id: row.run_id as string, agentId: row.agent_id as string }, Number(row.seq), event, payload);
  events.push(live);
  const { type: _type, ...fields } = live;
  return { ...fields, createdAt: new Date(row.created_at as string) };
}

/** The live event of a stored run event (the batched writers publish the same). */
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
