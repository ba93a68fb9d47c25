import { startBenchPostgres } from '../lib/postgres.ts';
import { createBenchEngine } from '../lib/heartbeat.ts';
import { runRowFromDriver, wakeupRowFromDriver, agentRowFromDriver } from '../../engine/run-rows.ts';
import { heartbeatRuns, wakeupRequests, agents } from '../../db/schema.ts';
import { sql, eq } from 'drizzle-orm';
import { isDeepStrictEqual } from 'node:util';
const pg = await startBenchPostgres(() => {});
const db = await pg.createHeartbeatDatabase();
const bench = await createBenchEngine({ url: db.url, agents: 2, maxConcurrentRuns: 5, poolSize: 2 });
await bench.connection.db.update(agents).set({ lastHeartbeatAt: new Date() }).where(eq(agents.id, bench.agentIds[0]));
const r = await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[0], payload: { taskKey: 'x' }, idempotencyKey: 'k1', actor: { type: 'user', id: 'u' } });
for (const [name, table, map, id] of [['run', heartbeatRuns, runRowFromDriver, r.run!.id], ['wake', wakeupRequests, wakeupRowFromDriver, r.wakeupRequest.id], ['agent', agents, agentRowFromDriver, bench.agentIds[0]]] as const) {
  const [viaDrizzle] = await bench.connection.db.select().from(table as any).where(eq((table as any).id, id));
  const [raw] = await bench.connection.db.execute<Record<string, unknown>>(sql`select * from ${table} where id = ${id}`);
  const mine = (map as any)(raw);
  console.log(name, 'equal:', isDeepStrictEqual(viaDrizzle, mine));
  for (const k of Object.keys(viaDrizzle as any)) if (!isDeepStrictEqual((viaDrizzle as any)[k], mine[k])) console.log(' ', k, (viaDrizzle as any)[k], mine[k]);
}
await bench.close(); await db.drop(); await pg.stop(); process.exit(0);
