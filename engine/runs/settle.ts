// The settle (docs/engine.md §6.4): a terminal run whose follow-up work is done becomes final.
import { getColumns, sql } from 'drizzle-orm';
import { heartbeatRuns } from '../../db/schema.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { RUN_STATUS_EVENT_COLUMNS, type RunStatusRow, runStatusEvent, TERMINAL_STATUSES } from '../model/runs.ts';
import { executePrepared, iso, json, runRowFromDriver, type StatementTarget, uuidArray } from '../store/statements.ts';

/** §6.10's common answer for a run (the comment policy's): recorded by the settle's statement. */
export interface CommentAnswer {
  runId: string;
  status: 'not_applicable' | 'satisfied';
  satisfiedBy?: string;
}

const TERMINAL = sql.raw(TERMINAL_STATUSES.map((status) => `'${status}'`).join(', '));
// What the settle reads back: the columns of the run's status event, not the whole row (its context,
// result and usage would be sent and parsed for nothing).
const COLUMNS = getColumns(heartbeatRuns);
const RETURNED = sql.raw(RUN_STATUS_EVENT_COLUMNS.map((key) => `r.${COLUMNS[key].name}`).join(', '));
const statusRow = (raw: Record<string, unknown>): RunStatusRow => {
  const row = runRowFromDriver(raw);
  return Object.fromEntries(RUN_STATUS_EVENT_COLUMNS.map((key) => [key, row[key]])) as RunStatusRow;
};

/**
 * Marks terminal runs settled (one or many): their follow-up work is done, so their events and state
 * are final. Subscribers to the run's event stream complete on it. The comment policy's answers for
 * runs of the same follow-up (settled now or not) are written by the same statement: one new
 * version of each run's row, not two. Returns the runs it settled, as their status events see them.
 */
export async function settleRun(
  target: StatementTarget,
  events: LiveEvent[],
  runIds: string | string[],
  now: Date,
  answers: CommentAnswer[] = [],
): Promise<RunStatusRow[]> {
  const settle = typeof runIds === 'string' ? [runIds] : runIds;
  const rows = new Map<string, { id: string; settle: boolean; comment_status: string | null; satisfied_by: string | null }>();
  for (const id of settle) rows.set(id, { id, settle: true, comment_status: null, satisfied_by: null });
  for (const answer of answers) {
    rows.set(answer.runId, { id: answer.runId, settle: rows.has(answer.runId), comment_status: answer.status, satisfied_by: answer.satisfiedBy ?? null });
  }
  if (rows.size === 0) return [];
  const written = await executePrepared<Record<string, unknown> & { settled_now: boolean }>(target, sql`
    with input as (
      select * from jsonb_to_recordset(${json([...rows.values()])}::jsonb) as i(id uuid, settle boolean, comment_status text, satisfied_by uuid)
    ), target as (
      select r.id, i.comment_status, i.satisfied_by,
        i.settle and r.status in (${TERMINAL}) and r.settled_at is null as settling
      from heartbeat_runs r join input i on i.id = r.id
      where r.id = any(${uuidArray([...rows.keys()])}::uuid[])
      for update of r
    )
    update heartbeat_runs r set
      issue_comment_status = coalesce(t.comment_status::issue_comment_status, r.issue_comment_status),
      issue_comment_satisfied_by_comment_id = coalesce(t.satisfied_by, r.issue_comment_satisfied_by_comment_id),
      settled_at = case when t.settling then ${iso(now)}::timestamptz else r.settled_at end,
      updated_at = case when t.settling then ${iso(now)}::timestamptz else r.updated_at end
    from target t
    where r.id = t.id and (t.settling or t.comment_status is not null)
    returning ${RETURNED}, t.settling as settled_now`);
  const settled = written.filter((row) => row.settled_now).map(statusRow);
  for (const run of settled) events.push(runStatusEvent(run));
  return settled;
}
