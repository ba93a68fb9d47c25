import { startBenchPostgres } from '../lib/postgres.ts';
import postgres from 'postgres';
const pg = await startBenchPostgres(() => {});
const d = await pg.createDatabase('x');
const s = postgres(d.url, { max: 2 });
await s`select 1`;
for (let k = 0; k < 4; k++) {
  let t = performance.now();
  await s.begin(async (tx) => { for (let i = 0; i < 1000; i++) await tx`select ${i}::int`; });
  const seq = performance.now() - t;
  t = performance.now();
  await s.begin(async (tx) => { await Promise.all(Array.from({ length: 1000 }, (_, i) => tx`select ${i}::int`)); });
  const pipe = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < 1000; i++) await s`select ${i}::int`;
  const auto = performance.now() - t;
  console.log('per query ms: seq', (seq/1000).toFixed(3), 'pipelined', (pipe/1000).toFixed(3), 'autocommit seq', (auto/1000).toFixed(3));
}
await s.end(); await d.drop(); await pg.stop();
