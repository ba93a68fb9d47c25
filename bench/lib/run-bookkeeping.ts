// The rows Heartbeat keeps for a no-op run, as plain SQL for a batch of runs: the bookkeeping floor
// (scenarios/bookkeeping-floor.ts) writes them with no engine, and the peers that keep them
// (lib/bookkeeping-peers.ts) write them around their jobs. Plain text with $n parameters, so that
// postgres.js (`unsafe`), node-postgres (`query`) and a pg-boss transaction (`executeSql`) all run
// the very same statements. Each statement is one transaction when sent on its own.
// - queue: a queued wakeup request linked to a queued run, the rows enqueueWakeup writes;
// - claim: the run running (owner, token hash, log file), its wakeup claimed, its agents running,
//   the `run started` event;
// - finish: the run succeeded with its result, log summary, liveness and settle, its wakeup
//   completed, the `adapter invoked` and `run succeeded` events, its agents idle with their runtime
//   counters.
import type postgres from 'postgres';
import { enrichWakeContext } from '../../engine/index.ts';

/** The context enqueueWakeup derives for a plain on-demand wakeup; each run adds its taskKey. */
const WAKE_CONTEXT = JSON.stringify(enrichWakeContext({}, { source: 'on_demand', triggerDetail: null, reason: 'bench', payload: { taskKey: '' } }));

/**
 * Queues runs `from` .. `from + count - 1` (job `i` goes to agent `i % agents`): each a queued
 * wakeup linked to a queued run with the same context. Returns the runs' ids.
 * Parameters: see queuedRunsParams.
 */
export const INSERT_QUEUED_RUNS = `
  with w as (
    insert into agent_wakeup_requests (id, company_id, agent_id, source, reason, payload, status, run_id, requested_at, created_at, updated_at)
    select gen_random_uuid(), $1::uuid, ($2::uuid[])[1 + (i % cardinality($2::uuid[]))], 'on_demand', 'bench',
      jsonb_build_object('taskKey', 'job-' || i), 'queued', gen_random_uuid(), now(), now(), now()
    from generate_series($3::int, $3::int + $4::int - 1) i
    returning *
  )
  insert into heartbeat_runs (id, company_id, agent_id, invocation_source, status, wakeup_request_id, context_snapshot, created_at, updated_at)
  select run_id, company_id, agent_id, 'on_demand', 'queued', id, $5::jsonb || jsonb_build_object('taskKey', payload->>'taskKey'), created_at, created_at
  from w
  returning id`;

export interface QueuedRunsInput {
  companyId: string;
  agentIds: string[];
  /** Number of the first job (its taskKey and its agent). */
  from: number;
  count: number;
}

export const queuedRunsParams = (input: QueuedRunsInput) => [input.companyId, input.agentIds, input.from, input.count, WAKE_CONTEXT];

/**
 * Claims the runs `candidates` selects (a query with an `id` column, locking what it selects) as
 * instance $1. Returns the claimed runs' ids.
 */
export function claimRunsSql(candidates: string): string {
  return `
    with candidates as (${candidates}
    ), claimed as (
      update heartbeat_runs r
      set status = 'running', started_at = now(), owner_instance_id = $1, owner_host = 'bench', run_token_hash = md5(r.id::text),
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
    select id from claimed`;
}

/**
 * Claims the runs whose ids are $2 (uuid[]) as instance $1, those still queued: a job delivered
 * twice claims its run once.
 */
export const CLAIM_RUNS = claimRunsSql(`
      select id from heartbeat_runs where id = any($2::uuid[]) and status = 'queued' for no key update`);

/**
 * The agents' part of a finish, for every floor and peer: over the statement's `finished` runs,
 * each agent's runtime counters and its status (idle), its row locked last, as the engine's finish
 * does. A statement's last CTEs and its main statement, after its `finished` CTE.
 */
export const FINISH_AGENTS = `per_agent as (
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

/** Finishes the claimed runs whose ids are $1 (uuid[]). */
export const FINISH_RUNS = `
    with finished as (
      update heartbeat_runs r
      set status = 'succeeded', finished_at = now(), exit_code = 0, run_token_hash = null,
          result_json = '{"stopReason": "completed", "timeoutFired": false, "timeoutSource": "default", "timeoutConfigured": false, "effectiveTimeoutSec": 0}',
          log_bytes = 0, log_sha256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          liveness_state = 'empty_response', liveness_reason = 'Run produced no useful output and no concrete action evidence',
          issue_comment_status = 'not_applicable', last_event_seq = r.last_event_seq + 2, settled_at = now(), updated_at = now()
      where r.id = any($1::uuid[])
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
    ), ${FINISH_AGENTS}`;

/** A company with `count` script agents, the drain's. */
export async function createAgents(
  sql: postgres.Sql,
  input: { name: string; count: number; adapterConfig: unknown },
): Promise<{ companyId: string; agentIds: string[] }> {
  const [{ id: companyId }] = await sql<{ id: string }[]>`insert into companies (name) values (${input.name}) returning id`;
  const agents = await sql<{ id: string }[]>`
    insert into agents (company_id, name, adapter_type, adapter_config)
    select ${companyId}, 'floor-' || i, 'script', ${JSON.stringify(input.adapterConfig)}::text::jsonb from generate_series(1, ${input.count}) i
    returning id`;
  return { companyId, agentIds: agents.map((a) => a.id) };
}

/**
 * Throws unless `jobs` runs were drained with every row: each run succeeded, classified and
 * settled, each wakeup completed, three events a run, the agents' counters adding up to `jobs`, no
 * agent left running.
 */
export async function checkRunBookkeeping(sql: postgres.Sql, jobs: number): Promise<void> {
  const [found] = await sql<{ runs: number; wakeups: number; events: number; counted: number; busy: number }[]>`
    select (select count(*) from heartbeat_runs where status = 'succeeded' and settled_at is not null and liveness_state is not null)::int as runs,
      (select count(*) from agent_wakeup_requests where status = 'completed' and claimed_at is not null)::int as wakeups,
      (select count(*) from heartbeat_run_events)::int as events,
      (select coalesce(sum(total_runs), 0) from agent_runtime_state)::int as counted,
      (select count(*) from agents where status <> 'idle')::int as busy`;
  const expected = { runs: jobs, wakeups: jobs, events: 3 * jobs, counted: jobs, busy: 0 };
  const wrong = (Object.keys(expected) as (keyof typeof expected)[]).filter((key) => found[key] !== expected[key]);
  if (wrong.length > 0) {
    throw new Error(`the drain left ${wrong.map((key) => `${key} ${found[key]} (expected ${expected[key]})`).join(', ')}`);
  }
}
