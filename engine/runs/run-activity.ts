// What the company's runs did over time, for the console's overview charts: per bucket of time, the
// runs that finished in it by outcome, the runs that started in it and how long the finished ones
// took; and how many runs wait or run now. One statement: the buckets come from generate_series,
// the counts from two aggregates over index ranges (finished_at: runs_company_finished_idx;
// started_at: runs_company_agent_started_idx, agent by agent).
import { type SQL, sql } from 'drizzle-orm';
import type { EngineDeps } from '../model/deps.ts';
import { badInput } from '../model/errors.ts';
import { executePrepared, iso } from '../store/statements.ts';

export const RUN_ACTIVITY_MAX_BUCKETS = 1_440;
export const RUN_ACTIVITY_MIN_BUCKET_SECONDS = 10;
export const RUN_ACTIVITY_MAX_BUCKET_SECONDS = 86_400;
export const RUN_ACTIVITY_DEFAULT_BUCKET_SECONDS = 60;

export interface RunActivityQuery {
  companyId: string;
  from: Date;
  /** Default: now. */
  to?: Date | null;
  bucketSeconds?: number | null;
  /** Only this agent's runs (another company's agent: none). */
  agentId?: string | null;
}

export interface RunActivityBucket {
  start: Date;
  succeeded: number;
  failed: number;
  cancelled: number;
  timedOut: number;
  started: number;
  /** 95th percentile (interpolated) of finished_at - started_at of the runs that finished in it and had started; null: none. */
  p95DurationMs: number | null;
}

export interface RunActivity {
  bucketSeconds: number;
  buckets: RunActivityBucket[];
  /** Runs waiting now: queued, or waiting for a scheduled retry. */
  queued: number;
  running: number;
}

type Row = {
  start: Date | string;
  succeeded: number;
  failed: number;
  cancelled: number;
  timed_out: number;
  started: number;
  p95_duration_ms: number | null;
  queued: number;
  running: number;
};

/** The buckets [from, to) needs, refused as BAD_USER_INPUT when the range or the bucket size is out of bounds. */
function bucketCount(from: Date, to: Date, bucketSeconds: number): number {
  if (!Number.isInteger(bucketSeconds) || bucketSeconds < RUN_ACTIVITY_MIN_BUCKET_SECONDS || bucketSeconds > RUN_ACTIVITY_MAX_BUCKET_SECONDS) {
    throw badInput(`bucketSeconds must be between ${RUN_ACTIVITY_MIN_BUCKET_SECONDS} and ${RUN_ACTIVITY_MAX_BUCKET_SECONDS}, got ${bucketSeconds}`, { argument: 'bucketSeconds' });
  }
  if (to.getTime() <= from.getTime()) throw badInput('to must be after from', { argument: 'to' });
  const count = Math.ceil((to.getTime() - from.getTime()) / (bucketSeconds * 1000));
  if (count > RUN_ACTIVITY_MAX_BUCKETS) {
    throw badInput(`At most ${RUN_ACTIVITY_MAX_BUCKETS} buckets: from..to at ${bucketSeconds} s a bucket makes ${count}; widen bucketSeconds or shorten the range`, {
      argument: 'bucketSeconds',
      maxBuckets: RUN_ACTIVITY_MAX_BUCKETS,
    });
  }
  return count;
}

/**
 * The one statement of runActivity (its range and bucket size checked first), `to` defaulting to
 * `now`. Apart from running it so that its plan can be read (EXPLAIN) on its own.
 */
export function runActivityStatement(query: RunActivityQuery, now: Date): { statement: SQL; bucketSeconds: number } {
  const bucketSeconds = query.bucketSeconds ?? RUN_ACTIVITY_DEFAULT_BUCKET_SECONDS;
  const to = query.to ?? now;
  const count = bucketCount(query.from, to, bucketSeconds);
  const from = sql`${iso(query.from)}::timestamptz`;
  const until = sql`${iso(to)}::timestamptz`;
  const size = sql`${bucketSeconds}::int`;
  const company = sql`${query.companyId}::uuid`;
  const ofAgent = (column: SQL): SQL => (query.agentId ? sql` and ${column} = ${query.agentId}::uuid` : sql``);
  // A bucket's index from an instant: whole buckets since `from` (epoch differences are exact numerics).
  const bucketOf = (at: SQL) => sql`floor(extract(epoch from ${at} - ${from}) / ${size})::int`;
  const statement = sql`
    with finished as (
      select ${bucketOf(sql`r.finished_at`)} as i,
        count(*) filter (where r.status = 'succeeded')::int as succeeded,
        count(*) filter (where r.status = 'failed')::int as failed,
        count(*) filter (where r.status = 'cancelled')::int as cancelled,
        count(*) filter (where r.status = 'timed_out')::int as timed_out,
        percentile_cont(0.95) within group (order by extract(epoch from r.finished_at - r.started_at) * 1000)::float8 as p95_duration_ms
      from heartbeat_runs r
      where r.company_id = ${company} and r.finished_at >= ${from} and r.finished_at < ${until}
        and r.finished_at is not null and r.status in ('succeeded', 'failed', 'cancelled', 'timed_out')${ofAgent(sql`r.agent_id`)}
      group by 1
    ),
    started as (
      -- Agent by agent, so each is one range of the (company, agent, started_at) index.
      select ${bucketOf(sql`r.started_at`)} as i, count(*)::int as started
      from agents a
      join heartbeat_runs r on r.company_id = a.company_id and r.agent_id = a.id
      where a.company_id = ${company}${ofAgent(sql`a.id`)}
        and r.started_at >= ${from} and r.started_at < ${until} and r.started_at is not null
      group by 1
    ),
    waiting as (
      select count(*) filter (where r.status in ('queued', 'scheduled_retry'))::int as queued,
        count(*) filter (where r.status = 'running')::int as running
      from heartbeat_runs r
      where r.company_id = ${company} and r.status in ('queued', 'scheduled_retry', 'running')${ofAgent(sql`r.agent_id`)}
    )
    select ${from} + make_interval(secs => b.i * ${size}) as start,
      coalesce(f.succeeded, 0) as succeeded, coalesce(f.failed, 0) as failed, coalesce(f.cancelled, 0) as cancelled,
      coalesce(f.timed_out, 0) as timed_out, coalesce(s.started, 0) as started, f.p95_duration_ms,
      w.queued, w.running
    from generate_series(0, ${count}::int - 1) as b(i)
    left join finished f on f.i = b.i
    left join started s on s.i = b.i
    cross join waiting w
    order by b.i`;
  return { statement, bucketSeconds };
}

/** The runs' activity in [from, to), bucket by bucket with no gaps, and the runs waiting and running now. */
export async function runActivity(deps: EngineDeps, query: RunActivityQuery): Promise<RunActivity> {
  const { statement, bucketSeconds } = runActivityStatement(query, deps.clock.now());
  const rows = await executePrepared<Row>(deps.db, statement);
  return {
    bucketSeconds,
    buckets: rows.map((row) => ({
      start: new Date(row.start),
      succeeded: row.succeeded,
      failed: row.failed,
      cancelled: row.cancelled,
      timedOut: row.timed_out,
      started: row.started,
      p95DurationMs: row.p95_duration_ms === null ? null : Number(row.p95_duration_ms),
    })),
    queued: rows[0]?.queued ?? 0,
    running: rows[0]?.running ?? 0,
  };
}
