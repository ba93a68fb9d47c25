import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 40, maxConcurrentRuns: 5, poolSize: 10 });
for (let i = 0; i < 200; i++) await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 40], payload: { taskKey: `j${i}` } });
const s = bench.connection.sql;
const a = bench.agentIds[0];
for (const q of [
  `explain (analyze, buffers) select * from heartbeat_runs where agent_id = '${a}' and status = 'queued' and coalesce(context_snapshot->>'taskKey', context_snapshot->>'taskId', context_snapshot->>'issueId') is not distinct from 'zz' order by created_at limit 1 for update`,
  `explain (analyze) select * from agents where id = '${a}'`,
  `explain (analyze) insert into agent_wakeup_requests (company_id, agent_id, source, status) values ('${bench.companyId}', '${a}', 'on_demand', 'queued') returning *`,
]) { const r = await s.unsafe(q); console.log(r.map((x: any) => x['QUERY PLAN']).join('\n')); console.log('---'); }
console.log(await s`select current_setting('shared_buffers'), current_setting('work_mem'), current_setting('fsync'), current_setting('synchronous_commit'), current_setting('wal_sync_method'), current_setting('jit')`);
await bench.close(); await db.drop(); await pg.stop();
process.exit(0);
