// The bookkeeping floor, a reference for the throughput scenario: the rows a Heartbeat drain
// writes for a no-op run, written by bare SQL with no engine at all. Each of two connections (one
// per core) takes the 500 oldest queued runs at a time and writes, in two transactions, what the
// engine writes around an execution (its agents as many as the drain's):
// - claim: the run running (owner, token hash, log file), its wakeup claimed, its agents running,
//   the `run started` event;
// - finish: the run succeeded with its result, log summary, liveness and settle, its wakeup
//   completed, the `adapter invoked` and `run succeeded` events, its agents idle with their runtime
//   counters.
// Nothing is decided: no concurrency limit is counted, no evidence read, no row mapped, no event
// published. Its rate is the most any engine could drain while keeping these rows, on this machine:
// the ceiling Heartbeat's drain is measured against, next to the peers, which write one row a job.
import postgres from 'postgres';
import { fillQueuedRuns } from '../lib/heartbeat.ts';
import type { ScenarioContext } from '../lib/scenario.ts';
import { nowMs } from '../lib/stats.ts';

/** Runs a statement writes: graphile-worker's local queue in its batched mode takes as many. */
export const FLOOR_BATCH = 500;
/** One connection per core of the bench machine. */
export const FLOOR_CONNECTIONS = 2;

/** What one bookkeeping floor writes: its agents' config, its queue, one batch of its drain, a final check. */
export interface FloorDrain {
  /** The company's name. */
  name: string;
  /** The agents' adapter config. */
  adapterConfig: unknown;
  fill(sql: postgres.Sql, input: { companyId: string; agentIds: string[]; count: number }): Promise<void>;
  /** Claims and finishes the next batch of queued runs as `instanceId`; how many (0: the queue is empty). */
  batch(sql: postgres.Sql, instanceId: string): Promise<number>;
  /** Throws when the drained database lacks what the drain should have written. */
  check?(sql: postgres.Sql, jobs: number): Promise<void>;
}

/**
 * Drains `jobs` queued runs of `agentCount` agents in a fresh Heartbeat database with bare SQL,
 * `drain` saying what is written; jobs/s, and what `startCosts` counted over the drain.
 */
export async function floorRound<C>(
  ctx: ScenarioContext,
  jobs: number,
  agentCount: number,
  drain: FloorDrain,
  startCosts: () => Promise<(jobs: number) => Promise<C>>,
): Promise<{ rate: number; costs: C }> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const sql = postgres(database.url, { max: FLOOR_CONNECTIONS, onnotice: () => {} });
  try {
    const [{ id: companyId }] = await sql<{ id: string }[]>`insert into companies (name) values (${drain.name}) returning id`;
    const agents = await sql<{ id: string }[]>`
      insert into agents (company_id, name, adapter_type, adapter_config)
      select ${companyId}, 'floor-' || i, 'script', ${JSON.stringify(drain.adapterConfig)}::text::jsonb from generate_series(1, ${agentCount}) i
      returning id`;
    await drain.fill(sql, { companyId, agentIds: agents.map((a) => a.id), count: jobs });
    const instanceId = crypto.randomUUID();
    const stopCosts = await startCosts();
    const t0 = nowMs();
    let drained = 0;
    await Promise.all(
      Array.from({ length: FLOOR_CONNECTIONS }, async () => {
        for (let n = await drain.batch(sql, instanceId); n > 0; n = await drain.batch(sql, instanceId)) drained += n;
      }),
    );
    const rate = jobs / ((nowMs() - t0) / 1000);
    const costs = await stopCosts(jobs);
    if (drained !== jobs) throw new Error(`${drain.name} drained ${drained} of ${jobs} runs`);
    await drain.check?.(sql, jobs);
    return { rate, costs };
  } finally {
    await sql.end({ timeout: 5 });
    await database.drop();
  }
}

/** The floor of the drain without issues. */
export function bookkeepingFloorRound<C>(ctx: ScenarioContext, jobs: number, agentCount: number, startCosts: () => Promise<(jobs: number) => Promise<C>>) {
  const drain: FloorDrain = {
    name: 'Bench floor',
    adapterConfig: { steps: [] },
    fill: fillQueuedRuns,
    batch: async (sql, instanceId) => {
      const ids = await claimBatch(sql, instanceId);
      if (ids.length > 0) await finishBatch(sql, ids);
      return ids.length;
    },
  };
  return floorRound(ctx, jobs, agentCount, drain, startCosts);
}

async function claimBatch(sql: postgres.Sql, instanceId: string): Promise<string[]> {
  const rows = await sql.begin((tx) => tx<{ id: string }[]>`
    with candidates as (
      select id from heartbeat_runs where status = 'queued' order by created_at, id limit ${FLOOR_BATCH} for update skip locked
    ), claimed as (
      update heartbeat_runs r
      set status = 'running', started_at = now(), owner_instance_id = ${instanceId}, owner_host = 'bench', run_token_hash = md5(r.id::text),
          log_store = 'postgres', log_ref = r.company_id || '/' || r.id, last_event_seq = r.last_event_seq + 1, updated_at = now()
      from candidates c where r.id = c.id
      returning r.id, r.company_id, r.agent_id, r.wakeup_request_id, r.last_event_seq
    ), wakes as (
      update agent_wakeup_requests w set status = 'claimed', claimed_at = now(), updated_at = now()
      from claimed c where w.id = c.wakeup_request_id
    ), agent_locks as (
      select id from agents where id in (select agent_id from claimed) order by id for no key update
    ), running as (
      update agents a set status = 'running', updated_at = now() from agent_locks l where a.id = l.id
    ), started as (
      insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, level, message, payload, created_at)
      select company_id, id, agent_id, last_event_seq, 'lifecycle', 'info', 'run started',
        '{"adapterType": "script", "invocationSource": "on_demand", "wakeReason": "bench"}', now()
      from claimed
    )
    select id from claimed`);
  return rows.map((row) => row.id);
}

async function finishBatch(sql: postgres.Sql, ids: string[]): Promise<void> {
  await sql.begin((tx) => tx`
    with finished as (
      update heartbeat_runs r
      set status = 'succeeded', finished_at = now(), exit_code = 0, run_token_hash = null,
          result_json = '{"stopReason": "completed", "timeoutFired": false, "timeoutSource": "default", "timeoutConfigured": false, "effectiveTimeoutSec": 0}',
          log_bytes = 0, log_sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          liveness_state = 'empty_response', liveness_reason = 'Run produced no useful output and no concrete action evidence',
          issue_comment_status = 'not_applicable', last_event_seq = r.last_event_seq + 2, settled_at = now(), updated_at = now()
      where r.id = any(${ids}::uuid[])
      returning r.id, r.company_id, r.agent_id, r.wakeup_request_id, r.last_event_seq
    ), wakes as (
      update agent_wakeup_requests w set status = 'completed', finished_at = now(), updated_at = now()
      from finished f where w.id = f.wakeup_request_id
    ), events as (
      insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, level, message, payload, created_at)
      select company_id, id, agent_id, last_event_seq - 1, 'adapter.invoke', 'info', 'adapter invoked', '{"steps": 0, "adapter": "script"}'::jsonb, now()
      from finished
      union all
      select company_id, id, agent_id, last_event_seq, 'lifecycle', 'info', 'run succeeded', '{"status": "succeeded", "exitCode": 0}'::jsonb, now()
      from finished
    ), ${finishAgents(tx)}`);
}

/**
 * The agents' part of a floor's finish, for both floors: over the statement's `finished` runs, each
 * agent's runtime counters and its status (idle), its row locked last, as the engine's finish does.
 */
export function finishAgents(tx: postgres.TransactionSql) {
  return tx`per_agent as (
      select agent_id, company_id, (array_agg(id))[1] as last_run_id, count(*)::int as runs from finished group by agent_id, company_id
    ), agent_locks as (
      select id from agents where id in (select agent_id from per_agent) order by id for no key update
    ), runtime as (
      insert into agent_runtime_state (agent_id, company_id, adapter_type, last_run_id, last_run_status, total_runs, updated_at)
      select agent_id, company_id, 'script', last_run_id, 'succeeded', runs, now() from per_agent
      on conflict (agent_id) do update set last_run_id = excluded.last_run_id, last_run_status = excluded.last_run_status,
        total_runs = agent_runtime_state.total_runs + excluded.total_runs, updated_at = excluded.updated_at
    )
    update agents a set status = 'idle', last_heartbeat_at = now(), updated_at = now()
    from agent_locks l where a.id = l.id`;
}
