import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { nowMs, percentile } from '../lib/stats.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const counts = new Map<string, number>(); let counting = false;
const bench = await createBenchEngine({ url: db.url, agents: 40, maxConcurrentRuns: 5, poolSize: 10, onQuery: (q) => { if (counting) { const k = q.replace(/\s+/g, ' ').slice(0, 100); counts.set(k, (counts.get(k) ?? 0) + 1); } } });
const lat: number[] = [];
counting = true;
for (let i = 0; i < 300; i++) { const t = nowMs(); await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 40], payload: { taskKey: `j${i}` } }); lat.push(nowMs() - t); }
counting = false;
console.log('sequential enqueue ms p50', percentile(lat, 50).toFixed(2), 'p99', percentile(lat, 99).toFixed(2));
for (const [k, v] of [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(String(v).padStart(6), k);
await bench.close(); await db.drop(); await pg.stop();
process.exit(0);
