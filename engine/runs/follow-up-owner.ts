// Who writes a finished run's follow-up (docs/engine.md §6.11-K). A run its finish leaves unsettled
// (finish.ts needsFollowUp) is followed up by the instance that owns it (`owner_instance_id`): its
// executor, the reaper that failed it as lost (lost-runs.ts), or an instance that took it over
// because that owner died between the finish and the settle. The owner is the one writer: the
// follow-up's own writes first lock the run and go on only while it is unsettled and still this
// instance's, and a takeover moves the owner under the same row lock. So an owner that was only
// declared dead (cut off, then back) writes nothing for a run taken from it.
import { sql } from 'drizzle-orm';
import type { EngineDeps } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';
import { CONTINUATION_SUMMARY_KEY } from './liveness-evidence.ts';
import { executePrepared, iso, json, runRowFromDriver, type StatementTarget, uuidArray } from '../store/statements.ts';

/**
 * Locks the runs `runIds` (in id order) and answers those whose follow-up this instance may still
 * write: unsettled and owned by `instanceId`. In the follow-up's transaction, before its writes.
 */
export async function lockOwnFollowUps(target: StatementTarget, runIds: string[], instanceId: string): Promise<Set<string>> {
  if (runIds.length === 0) return new Set();
  const rows = await executePrepared<{ id: string }>(target, sql`
    select id from heartbeat_runs
    where id = any(${uuidArray(runIds)}::uuid[]) and settled_at is null and owner_instance_id = ${instanceId}::uuid
    order by id
    for update`);
  return new Set(rows.map((row) => row.id));
}

/** A finished run whose follow-up this instance took over, with what of it was already written. */
export interface TakenOverRun {
  /** The row as the takeover left it (owned by this instance). */
  run: RunRow;
  /**
   * The follow-up's own transaction committed (writeFollowUps, or the reaper's release): the run
   * left its continuation summary (§16), which that transaction writes, and no issue's lock names it
   * any more. What may be left is the part after it: the continuation (§6.8) and the settle.
   */
  followUpWritten: boolean;
  /** Its bounded retry (§6.12) was already scheduled, or found exhausted: not asked for again. */
  boundedRetryDone: boolean;
}

/**
 * Takes over the follow-up of finished, unsettled runs found without a live owner (recovery/
 * process-loss.ts findAbandonedFollowUps): each row is locked without waiting (a run another
 * transaction holds, e.g. its owner's follow-up, is left for the next pass) and moved to this
 * instance only if it is still unsettled and still names the owner it was found with. So of
 * instances taking over at once, one gets each run, and an owner that wrote its follow-up meanwhile
 * keeps it. Answers the runs taken, with what of their follow-up the dead owner already wrote.
 */
export async function takeOverFollowUps(deps: EngineDeps, runs: Array<Pick<RunRow, 'id' | 'ownerInstanceId'>>): Promise<TakenOverRun[]> {
  if (runs.length === 0) return [];
  const now = iso(deps.clock.now());
  const rows = await executePrepared<Record<string, unknown> & { follow_up_written: boolean; bounded_retry_done: boolean }>(deps.db, sql`
    with input as (
      select * from jsonb_to_recordset(${json(runs.map((run) => ({ id: run.id, owner: run.ownerInstanceId })))}::jsonb) as i(id uuid, owner uuid)
    ), target as (
      select r.id from heartbeat_runs r join input i on i.id = r.id
      where r.id = any(${uuidArray(runs.map((run) => run.id))}::uuid[])
        and r.status in ('succeeded', 'failed', 'timed_out') and r.settled_at is null
        and r.owner_instance_id is not distinct from i.owner
      order by r.id
      for update of r skip locked
    )
    update heartbeat_runs r set owner_instance_id = ${deps.settings.instanceId}::uuid, updated_at = ${now}::timestamptz
    from target t
    where r.id = t.id
    returning r.*,
      exists (select 1 from issue_document_revisions v where v.created_by_run_id = r.id and v.key = ${CONTINUATION_SUMMARY_KEY})
        and not exists (select 1 from issues x where x.execution_run_id = r.id) as follow_up_written,
      exists (select 1 from heartbeat_runs x where x.retry_of_run_id = r.id and x.scheduled_retry_reason is not null)
        or exists (select 1 from heartbeat_run_events e where e.run_id = r.id and e.event_type = 'lifecycle' and e.message like 'Bounded retry exhausted%')
        as bounded_retry_done`);
  return rows.map((row) => ({ run: runRowFromDriver(row), followUpWritten: row.follow_up_written, boundedRetryDone: row.bounded_retry_done }));
}
