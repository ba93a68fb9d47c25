import { startBenchPostgres } from '../lib/postgres.ts';
import { connectDatabase } from '../../db/client.ts';
import { agents, companies } from '../../db/schema.ts';
import { eq, sql } from 'drizzle-orm';
const pg = await startBenchPostgres(() => {});
const d = await pg.createHeartbeatDatabase();
const c = connectDatabase(d.url, { max: 10 });
const [co] = await c.db.insert(companies).values({ name: 'x' }).returning();
const [ag] = await c.db.insert(agents).values({ companyId: co.id, name: 'a', adapterType: 'script' }).returning();
const time = async (name: string, f: () => Promise<unknown>, n = 500) => { for (let i = 0; i < 50; i++) await f(); const t = performance.now(); for (let i = 0; i < n; i++) await f(); console.log(name.padEnd(30), ((performance.now() - t) / n).toFixed(3), 'ms'); };
for (let k = 0; k < 2; k++) {
await time('raw select 1', () => c.sql`select 1`);
await time('raw agent by id', () => c.sql`select * from agents where id = ${ag.id}`);
await time('drizzle select agent', () => c.db.select().from(agents).where(eq(agents.id, ag.id)));
await time('drizzle rqb findFirst', () => c.db.query.agents.findFirst({ where: { id: ag.id } }));
await time('drizzle execute sql', () => c.db.execute(sql`select 1`));
await time('raw tx 1 stmt', () => c.sql.begin((tx) => tx`select 1`));
await time('drizzle tx 1 stmt', () => c.db.transaction((tx) => tx.execute(sql`select 1`)));
await time('raw update autocommit', () => c.sql`update agents set updated_at = now() where id = ${ag.id}`);
}
await c.close(); await d.drop(); await pg.stop();
