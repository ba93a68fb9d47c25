// Log retention (docs/engine.md §6.5): with HEARTBEAT_LOG_RETENTION_DAYS set, the logs of settled runs
// whose pieces are older than that are removed, whole, and the run is marked with when
// (`log_expired_at`), so that the API says the log expired rather than answering empty.
import { sql } from 'drizzle-orm';
import type { EngineDeps } from '../model/deps.ts';
import { executePrepared, iso } from '../store/statements.ts';

const RUNS_PER_STATEMENT = 200;

/** Removes the expired logs, RUNS_PER_STATEMENT runs a statement; returns how many runs' logs went. */
export async function expireLogs(deps: Pick<EngineDeps, 'db'>, now: Date, retentionDays: number): Promise<number> {
  if (!(retentionDays > 0)) return 0;
  const cutoff = new Date(now.getTime() - retentionDays * 86_400_000);
  let expired = 0;
  for (;;) {
    // Pieces by age off the table's block range index; a run still running keeps its log.
    const [row] = await executePrepared<{ n: number }>(deps.db, sql`
      with old as (
        select distinct c.run_id from heartbeat_run_log_chunks c
        join heartbeat_runs r on r.id = c.run_id and r.settled_at is not null
        where c.created_at < ${iso(cutoff)}::timestamptz
        limit ${RUNS_PER_STATEMENT}
      ), marked as (
        update heartbeat_runs r set log_expired_at = ${iso(now)}::timestamptz
        from old where r.id = old.run_id and r.log_expired_at is null
        returning r.id
      ), gone as (
        delete from heartbeat_run_log_chunks c using old where c.run_id = old.run_id
      )
      select count(*)::int as n from old`);
    expired += Number(row.n);
    if (Number(row.n) < RUNS_PER_STATEMENT) return expired;
  }
}
