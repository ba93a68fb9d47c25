import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { nowMs, percentile, sleep } from '../lib/stats.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 20, maxConcurrentRuns: 10, poolSize: 10 });
await bench.start();
const lat: number[] = []; const st: number[] = [];
const one = async (i: number) => { const t = nowMs(); const r = await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 20], payload: { taskKey: `j${i}` } }); lat.push(nowMs() - t); return [r.run!.id, t] as const; };
const ids: Array<readonly [string, number]> = [];
for (let i = 0; i < 100; i++) { ids.push(await one(i)); await sleep(20); }
await sleep(500);
for (const [id, t] of ids) st.push(bench.started.get(id)! - t);
console.log('paced 50/s sequential: enqueue p50', percentile(lat, 50).toFixed(2), 'p99', percentile(lat, 99).toFixed(2), ' started p50', percentile(st, 50).toFixed(2), 'p99', percentile(st, 99).toFixed(2));
for (const rate of [100, 200]) {
  lat.length = 0; st.length = 0; const ids2: Promise<readonly [string, number]>[] = [];
  const start = nowMs();
  for (let i = 0; i < rate * 3; i++) { const due = start + i * 1000 / rate; const w = due - nowMs(); if (w > 1) await sleep(w); ids2.push(one(1000 * rate + i)); }
  const all = await Promise.all(ids2); await sleep(1000);
  for (const [id, t] of all) st.push(bench.started.get(id)! - t);
  console.log(`${rate}/s: enqueue p50`, percentile(lat, 50).toFixed(2), 'p99', percentile(lat, 99).toFixed(2), ' started p50', percentile(st, 50).toFixed(2), 'p99', percentile(st, 99).toFixed(2));
}
await bench.close(); await db.drop(); await pg.stop(); process.exit(0);
