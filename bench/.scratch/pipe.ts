import { startBenchPostgres } from '../lib/postgres.ts';
import { connectDatabase } from '../../db/client.ts';
import { sql } from 'drizzle-orm';
const pg = await startBenchPostgres(() => {});
const d = await pg.createDatabase('x');
const c = connectDatabase(d.url, { max: 2 });
await c.db.execute(sql`select 1`);
for (let k = 0; k < 3; k++) {
  let t = performance.now();
  await c.db.transaction(async (tx) => { for (let i = 0; i < 200; i++) await tx.execute(sql`select ${i}::int`); });
  const seq = performance.now() - t;
  t = performance.now();
  await c.db.transaction(async (tx) => { await Promise.all(Array.from({ length: 200 }, (_, i) => tx.execute(sql`select ${i}::int`))); });
  console.log('seq', seq.toFixed(1), 'pipelined', (performance.now() - t).toFixed(1));
}
await c.close(); await d.drop(); await pg.stop();
