import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 40, maxConcurrentRuns: 5, poolSize: 10 });
const s = bench.connection.sql;
const N = 5000;
await s`with w as (insert into agent_wakeup_requests (id, company_id, agent_id, source, payload, status, run_id)
    select gen_random_uuid(), ${bench.companyId}, (${bench.agentIds}::uuid[])[1 + (i % 40)], 'on_demand', jsonb_build_object('taskKey', 'j' || i), 'queued', gen_random_uuid()
    from generate_series(0, ${N} - 1) i returning *)
    insert into heartbeat_runs (id, company_id, agent_id, invocation_source, status, wakeup_request_id, context_snapshot)
    select run_id, company_id, agent_id, 'on_demand', 'queued', id, jsonb_build_object('taskKey', payload->>'taskKey', 'wakeSource', 'on_demand') from w`;
await s`analyze`;
const runs = await s`select id, agent_id from heartbeat_runs limit 60`;
const input = JSON.stringify(runs.map((r: any) => ({ run_id: r.id, agent_id: r.agent_id, context: '{}', log_ref: 'x', payload: null })));
const q = `explain (analyze, costs off) with input as (
      select * from jsonb_to_recordset($1::jsonb) as i(run_id uuid, agent_id uuid, context text, log_ref text, payload text)
    ), locked as (
      select r.id from heartbeat_runs r where r.id in (select run_id from input) order by r.id for update skip locked
    ), started as (
      update heartbeat_runs r
      set context_snapshot = i.context::jsonb, log_store = 'file', log_ref = i.log_ref, updated_at = now(),
          last_event_seq = r.last_event_seq + 1
      from input i join locked l on l.id = i.run_id
      where r.id = i.run_id
      returning r.id, r.company_id, r.agent_id, r.last_event_seq
    ), agent_locks as (
      select a.id from agents a
      where a.id in (select i.agent_id from input i join started s on s.id = i.run_id) and a.status in ('active', 'idle', 'running', 'error')
      order by a.id for update
    ), running as (
      update agents a set status = 'running', updated_at = now()
      from agent_locks l where a.id = l.id
      returning a.id, a.last_heartbeat_at
    ), inserted as (
      insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, level, message, payload, created_at)
      select s.company_id, s.id, s.agent_id, s.last_event_seq, 'lifecycle', 'info', 'run started', i.payload::jsonb, now()
      from started s join input i on i.run_id = s.id
      returning run_id, seq
    )
    select 'event' as kind, run_id as id, seq, null::text as last_heartbeat_at from inserted
    union all
    select 'agent', id, null, last_heartbeat_at::text from running`;
await s.begin(async (tx) => { const r = await tx.unsafe(q, [input]); console.log(r.map((x: any) => x['QUERY PLAN']).join('\n')); throw new Error('rollback'); }).catch(() => {});
await bench.close(); await db.drop(); await pg.stop();
process.exit(0);
