import postgres from 'postgres';
import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { nowMs } from '../lib/stats.ts';
const N = Number(process.env.N ?? 2000);
const AG = Number(process.env.AG ?? 40), PER = Number(process.env.PER ?? 5);
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const counts = new Map<string, number>(); let counting = false;
const bench = await createBenchEngine({ url: db.url, agents: AG, maxConcurrentRuns: PER, poolSize: Number(process.env.POOL ?? 10), onQuery: (q) => { if (counting) { const k = q.replace(/\s+/g, ' ').slice(0, 110); counts.set(k, (counts.get(k) ?? 0) + 1); } } });
if (process.env.FF) { await bench.connection.sql.unsafe(`alter table heartbeat_runs set (fillfactor = ${process.env.FF}); alter table agent_wakeup_requests set (fillfactor = ${process.env.FF}); alter table agents set (fillfactor = 50)`); }
let next = 0;
const te = nowMs();
if (process.env.BULK) {
  const s = bench.connection.sql;
  await s`with w as (insert into agent_wakeup_requests (id, company_id, agent_id, source, payload, status, run_id)
    select gen_random_uuid(), ${bench.companyId}, (${bench.agentIds}::uuid[])[1 + (i % ${AG})], 'on_demand', jsonb_build_object('taskKey', 'j' || i), 'queued', gen_random_uuid()
    from generate_series(0, ${N} - 1) i returning *)
    insert into heartbeat_runs (id, company_id, agent_id, invocation_source, status, wakeup_request_id, context_snapshot)
    select run_id, company_id, agent_id, 'on_demand', 'queued', id, jsonb_build_object('taskKey', payload->>'taskKey', 'wakeSource', 'on_demand') from w`;
} else await Promise.all(Array.from({ length: 16 }, async () => { while (next < N) { const i = next++; await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % AG], payload: { taskKey: `j${i}` } }); } }));
console.log('enqueue/s', Math.round(N / ((nowMs() - te) / 1000)));
const done = new Promise<void>((r) => { bench.onSettled = () => { if (bench.settled.size >= N) r(); }; });
const waits = new Map<string, number>(); let sampling = !!process.env.WAITS;
const mon = postgres(db.url, { max: 1 });
(async () => { while (sampling) { const rows = await mon`select coalesce(wait_event_type, 'cpu') || ':' || coalesce(wait_event, '') as w, left(regexp_replace(query, '\s+', ' ', 'g'), 50) as q from pg_stat_activity where application_name = 'heartbeat-bench' and state = 'active'`; for (const r of rows) { const k = r.w + ' ' + r.q; waits.set(k, (waits.get(k) ?? 0) + 1); } await new Promise((r) => setTimeout(r, 20)); } })();
counting = true; const t0 = nowMs();
await bench.start();
await done;
const F = (globalThis as any).__fin; if (F) console.log('finish phases ms avg: read', (F[0]/F[3]).toFixed(1), 'write', (F[1]/F[3]).toFixed(1), 'agents', (F[2]/F[3]).toFixed(1));
console.log('drain/s', Math.round(N / ((nowMs() - t0) / 1000)));
counting = false; sampling = false;
const total = [...counts.values()].reduce((a, b) => a + b, 0);
console.log('statements per run', (total / N).toFixed(2));
if (process.env.STMTS) for (const [k, v] of [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(String(v).padStart(6), k);
for (const [k, v] of [...waits.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log('wait', String(v).padStart(5), k);
const rows = await bench.connection.sql`select status, count(*)::int from heartbeat_runs group by status`;
console.log(rows.map((r) => `${r.status}=${r.count}`).join(' '));
await mon.end();
await bench.close(); await db.drop(); await pg.stop();
process.exit(0);
