import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { nowMs } from '../lib/stats.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
let last = nowMs(); const times = new Map<string, number[]>();
let prevQ = 'start';
const bench = await createBenchEngine({ url: db.url, agents: 40, maxConcurrentRuns: 5, poolSize: 10, onQuery: (q) => { const t = nowMs(); const k = prevQ; (times.get(k) ?? times.set(k, []).get(k)!).push(t - last); last = t; prevQ = q.replace(/\s+/g, ' ').slice(0, 60); } });
for (let i = 0; i < 200; i++) { last = nowMs(); prevQ = 'start'; await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 40], payload: { taskKey: `j${i}` } }); const k = prevQ; (times.get(k) ?? times.set(k, []).get(k)!).push(nowMs() - last); }
for (const [k, v] of times) { v.sort((a,b)=>a-b); console.log(v[Math.floor(v.length/2)].toFixed(2).padStart(7), v.length, '  after:', k); }
await bench.close(); await db.drop(); await pg.stop();
process.exit(0);
