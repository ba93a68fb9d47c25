import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { nowMs, sleep } from '../lib/stats.ts';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
let t0 = 0; let tracing = false; const lines: string[] = [];
const bench = await createBenchEngine({ url: db.url, agents: 20, maxConcurrentRuns: 10, poolSize: 10, onQuery: (q) => { if (tracing) lines.push(`${(nowMs() - t0).toFixed(2).padStart(7)} ${q.replace(/\s+/g, ' ').slice(0, 90)}`); } });
await bench.start();
for (let i = 0; i < 30; i++) { await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 20], payload: { taskKey: `w${i}` } }); await sleep(30); }
await sleep(300);
for (let k = 0; k < 3; k++) {
  lines.length = 0; tracing = true; t0 = nowMs();
  const r = await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[k], payload: { taskKey: `x${k}` } });
  lines.push(`${(nowMs() - t0).toFixed(2).padStart(7)} <<enqueue returned>>`);
  await sleep(200); tracing = false;
  lines.push(`started at ${(bench.started.get(r.run!.id)! - t0).toFixed(2)} finished ${(bench.finished.get(r.run!.id)! - t0).toFixed(2)} settled ${(bench.settled.get(r.run!.id)! - t0).toFixed(2)}`);
  console.log(lines.join('\n')); console.log('----');
}
await bench.close(); await db.drop(); await pg.stop(); process.exit(0);
