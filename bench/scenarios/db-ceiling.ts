// The database's own ceiling, for reference: single-row INSERT transactions per second from this
// process (postgres.js, autocommit), one connection in a loop and a pool of ten in parallel.
import postgres from 'postgres';
import type { Scenario } from '../lib/scenario.ts';
import { nowMs } from '../lib/stats.ts';

const SCENARIO = 'db ceiling';

async function insertRate(url: string, connections: number, durationMs: number): Promise<number> {
  const sql = postgres(url, { max: connections, onnotice: () => {} });
  try {
    await sql`create table if not exists bench_insert (id bigint generated always as identity primary key, payload jsonb not null, created_at timestamptz not null default now())`;
    await sql`truncate bench_insert`;
    let done = 0;
    const deadline = nowMs() + durationMs;
    const t0 = nowMs();
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (nowMs() < deadline) {
          await sql`insert into bench_insert (payload) values (${sql.json({ n: done })})`;
          done += 1;
        }
      }),
    );
    return done / ((nowMs() - t0) / 1000);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export const dbCeilingScenario: Scenario = {
  name: 'db-ceiling',
  async run(ctx) {
    const durationMs = ctx.quick ? 500 : 3_000;
    ctx.results.note(SCENARIO, `single-row INSERT (autocommit) for ${durationMs / 1000} s per round through postgres.js, the driver Heartbeat uses; fsync and synchronous_commit as the server is configured.`);
    for (let round = 1; round <= ctx.rounds; round++) {
      const database = await ctx.pg.createDatabase('ceiling');
      try {
        for (const connections of [1, 10]) {
          const rate = await insertRate(database.url, connections, durationMs);
          ctx.results.record(SCENARIO, `insert transactions, ${connections} connection${connections > 1 ? 's' : ''}`, 'tx/s', 'higher', 'postgres', rate);
          ctx.log(`${SCENARIO} round ${round}: ${connections} connection(s) ${rate.toFixed(0)} tx/s`);
        }
      } finally {
        await database.drop();
      }
    }
  },
};
