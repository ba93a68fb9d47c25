import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { nowMs, percentile, sleep } from '../lib/stats.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 20, maxConcurrentRuns: 10, poolSize: 10 });
await bench.start();
console.log('started-mark'); await sleep(300);
const lat: number[] = [];
for (let i = 0; i < Number(process.env.N ?? 400); i++) { const t = nowMs(); await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 20], payload: { taskKey: `j${i}` } }); lat.push(nowMs() - t); await sleep(10); }
console.log('enqueue+start p50', percentile(lat, 50).toFixed(2), 'p99', percentile(lat, 99).toFixed(2));
await bench.close(); await db.drop(); await pg.stop(); process.exit(0);
