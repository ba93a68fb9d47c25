import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { sleep } from '../lib/stats.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 20, maxConcurrentRuns: 10, poolSize: 10 });
await bench.start();
const agg = new Map<string, number[]>();
for (let i = 0; i < 300; i++) {
  await sleep(15);
  const T: [string, number][] = []; (globalThis as any).__t = T;
  const t0 = performance.now();
  await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 20], payload: { taskKey: `j${i}` } });
  const t1 = performance.now(); (globalThis as any).__t = null;
  let prev = t0; for (const [k, t] of T.slice(0, 6)) { (agg.get(k) ?? agg.set(k, []).get(k)!).push(t - prev); prev = t; }
  (agg.get('return') ?? agg.set('return', []).get('return')!).push(t1 - prev);
}
for (const [k, v] of agg) { v.sort((a, b) => a - b); console.log(k.padEnd(12), 'p50', v[Math.floor(v.length / 2)].toFixed(2)); }
await bench.close(); await db.drop(); await pg.stop(); process.exit(0);
