// EXPLAIN ANALYZE the batched statements by capturing them from the engine: wrap db.execute.
import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
const N = 8000;
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 40, maxConcurrentRuns: 5, poolSize: 10 });
const s = bench.connection.sql;
await s`with w as (insert into agent_wakeup_requests (id, company_id, agent_id, source, payload, status, run_id)
    select gen_random_uuid(), ${bench.companyId}, (${bench.agentIds}::uuid[])[1 + (i % 40)], 'on_demand', jsonb_build_object('taskKey', 'j' || i), 'queued', gen_random_uuid()
    from generate_series(0, ${N} - 1) i returning *)
    insert into heartbeat_runs (id, company_id, agent_id, invocation_source, status, wakeup_request_id, context_snapshot)
    select run_id, company_id, agent_id, 'on_demand', 'queued', id, jsonb_build_object('taskKey', payload->>'taskKey', 'wakeSource', 'on_demand') from w`;
await s`analyze`;
// capture: monkeypatch unsafe on the sql client to explain big statements once each
const seen = new Set<string>();
const ex = await (s as any).reserve();
const orig = (s as any).unsafe.bind(s);
let explained: string[] = [];
(s as any).unsafe = (q: string, params: unknown[], opts: unknown) => {
  const key = q.replace(/\s+/g, ' ').trim().slice(0, 160);
  if ((q.includes('jsonb_to_recordset') || q.includes('cross join lateral')) && !seen.has(key) && explained.length < 6) {
    seen.add(key);
    explained.push(key);
    (async () => { await ex.unsafe('begin'); try { const r = await ex.unsafe('explain (analyze, costs off, timing on) ' + q, params); console.log('=====', key); console.log(r.map((x: any) => x['QUERY PLAN']).filter((l: string) => /Time|Trigger|->  (Update|Insert|Seq|Index|Hash|Nested|LockRows|Bitmap)/.test(l)).join('\n')); } finally { await ex.unsafe('rollback'); } })().catch((e: any) => console.log('explain failed', e.message));
  }
  return orig(q, params, opts);
};
const done = new Promise<void>((r) => { bench.onSettled = () => { if (bench.settled.size >= 2000) r(); }; });
await bench.start();
await done;
await new Promise((r) => setTimeout(r, 1000));
await bench.close(); await db.drop(); await pg.stop();
process.exit(0);
