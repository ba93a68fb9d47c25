import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { nowMs, percentile, sleep } from '../lib/stats.ts';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 20, maxConcurrentRuns: 10, poolSize: 10 });
await bench.start();
const rate = Number(process.env.RATE ?? 200);
const lat: number[] = [];
const one = async (i: number) => { const t = nowMs(); await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % 20], payload: { taskKey: `j${i}` } }); lat.push(nowMs() - t); };
for (let i = 0; i < 200; i++) { await one(i); await sleep(5); }
lat.length = 0;
const session = new Session(); session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.start');
const ps: Promise<void>[] = []; const start = nowMs(); const cpu0 = process.cpuUsage();
for (let i = 0; i < rate * 5; i++) { const due = start + i * 1000 / rate; const w = due - nowMs(); if (w > 1) await sleep(w); ps.push(one(10000 + i)); }
await Promise.all(ps);
const el = nowMs() - start; const cpu = process.cpuUsage(cpu0);
const { profile } = await session.post('Profiler.stop'); writeFileSync('/tmp/enq6.cpuprofile', JSON.stringify(profile));
console.log(`${rate}/s: enqueue p50`, percentile(lat, 50).toFixed(2), 'p99', percentile(lat, 99).toFixed(2), 'node cpu %', ((cpu.user + cpu.system) / 1000 / el * 100).toFixed(0));
await sleep(1000);
await bench.close(); await db.drop(); await pg.stop(); process.exit(0);
