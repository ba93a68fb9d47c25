// How an agent's recent runs went, for the console's agent pages: its runs created since a moment,
// counted by status, with the share of the finished ones that succeeded and how long they took.
// What they cost is the cost ledger's (engine/costs/cost-summary.ts), not repeated here.
import { sql } from 'drizzle-orm';
import type { EngineDeps } from '../model/deps.ts';
import { executePrepared, iso } from '../store/statements.ts';

/** The window when none is given: the last week. */
export const AGENT_RUN_STATS_DEFAULT_DAYS = 7;

export interface AgentRunStats {
  total: number;
  succeeded: number;
  failed: number;
  cancelled: number;
  timedOut: number;
  running: number;
  /** Queued, or waiting for a scheduled retry. */
  queued: number;
  /** succeeded / finished (succeeded, failed, cancelled or timed out); null when none finished. */
  successRate: number | null;
  /** 95th percentile (interpolated) of finished_at - started_at of the finished runs that had started; null: none. */
  p95DurationMs: number | null;
}

type Row = { total: number; succeeded: number; failed: number; cancelled: number; timed_out: number; running: number; queued: number; p95_duration_ms: number | null };

/** The agent's runs created at or after `since` (default: AGENT_RUN_STATS_DEFAULT_DAYS ago), in its company. */
export async function agentRunStats(deps: EngineDeps, input: { companyId: string; agentId: string; since?: Date | null }): Promise<AgentRunStats> {
  const since = input.since ?? new Date(deps.clock.now().getTime() - AGENT_RUN_STATS_DEFAULT_DAYS * 86_400_000);
  const [row] = await executePrepared<Row>(deps.db, sql`
    select count(*)::int as total,
      count(*) filter (where status = 'succeeded')::int as succeeded,
      count(*) filter (where status = 'failed')::int as failed,
      count(*) filter (where status = 'cancelled')::int as cancelled,
      count(*) filter (where status = 'timed_out')::int as timed_out,
      count(*) filter (where status = 'running')::int as running,
      count(*) filter (where status in ('queued', 'scheduled_retry'))::int as queued,
      (percentile_cont(0.95) within group (order by extract(epoch from finished_at - started_at) * 1000)
        filter (where status in ('succeeded', 'failed', 'cancelled', 'timed_out')))::float8 as p95_duration_ms
    from heartbeat_runs
    where company_id = ${input.companyId}::uuid and agent_id = ${input.agentId}::uuid and created_at >= ${iso(since)}::timestamptz`);
  const finished = row.succeeded + row.failed + row.cancelled + row.timed_out;
  return {
    total: row.total,
    succeeded: row.succeeded,
    failed: row.failed,
    cancelled: row.cancelled,
    timedOut: row.timed_out,
    running: row.running,
    queued: row.queued,
    successRate: finished === 0 ? null : row.succeeded / finished,
    p95DurationMs: row.p95_duration_ms === null ? null : Number(row.p95_duration_ms),
  };
}
