// Appending to a run's event stream. The seq comes from the run row's counter, incremented in the
// same statement as the insert (Decisions 3): concurrent writers serialise on the run row, so seqs
// are gap-free and commit in order.
import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { boundPayload } from './bounding.ts';
import type { LiveEvent } from './live-events.ts';
import { executePrepared } from './run-rows.ts';

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
  id: number;
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

export async function appendRunEvent(
  tx: Executor,
  events: LiveEvent[],
  event: NewRunEvent,
  now: Date,
): Promise<StoredRunEvent> {
  const payload = event.payload === undefined ? null : boundPayload(event.payload);
  const rows = await executePrepared<Record<string, unknown>>(tx, sql`
    with allocated as (
      update heartbeat_runs set last_event_seq = last_event_seq + 1
      where id = ${event.runId}
      returning id, company_id, agent_id, last_event_seq
    )
    insert into heartbeat_run_events
      (company_id, run_id, agent_id, seq, event_type, stream, level, color, message, payload, created_at)
    select company_id, id, agent_id, last_event_seq, ${event.eventType}, ${event.stream ?? null},
      ${event.level ?? null}, ${event.color ?? null}, ${event.message ?? null},
      ${payload === null ? null : JSON.stringify(payload)}::jsonb, ${now.toISOString()}::timestamptz
    from allocated
    returning id, company_id, run_id, agent_id, seq, created_at`);
  const row = rows[0];
  if (!row) throw new Error(`appendRunEvent: run ${event.runId} does not exist`);
  const stored: StoredRunEvent = {
    id: Number(row.id),
    companyId: row.company_id as string,
    runId: row.run_id as string,
    agentId: row.agent_id as string,
    seq: Number(row.seq),
    eventType: event.eventType,
    stream: event.stream ?? null,
    level: event.level ?? null,
    color: event.color ?? null,
    message: event.message ?? null,
    payload,
    createdAt: new Date(row.created_at as string),
  };
  events.push({
    type: 'heartbeat.run.event',
    companyId: stored.companyId,
    runId: stored.runId,
    agentId: stored.agentId,
    seq: stored.seq,
    eventType: stored.eventType,
    stream: stored.stream,
    level: stored.level,
    color: stored.color,
    message: stored.message,
    payload: stored.payload,
  });
  return stored;
}
