// Agent names are unique per company, whatever their case: the database holds the rule (a unique
// index on (company_id, lower(name))), createAgent and updateAgent answer a taken name with CONFLICT
// naming it and change nothing, also when two creates race. The migration that adds the index renames
// the duplicates an existing database holds instead of failing on them.
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies } from '../../../db/schema.ts';
import { migrateDatabase, migrationsFolder } from '../../../db/migrate.ts';
import { agentGid, gql, gqlFailure, rawId } from '../../support/api.ts';
import { createEmptyDatabase } from '../../support/database.ts';
import { postGraphQL } from '../../support/graphql.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const CREATE = 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id name } }';
const UPDATE = 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { id name } }';
const script = { steps: [] };

describe('agent names', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const create = async (name: string) => {
    const data = await gql(server, CREATE, { input: { name, adapterType: 'SCRIPT', adapterConfig: script } });
    return rawId(data.createAgent.id);
  };
  const namesLike = async (pattern: string) =>
    (await server.database.sql<{ name: string }[]>`select name from agents where company_id = ${server.companyId} and lower(name) like ${pattern} order by name`).map((row) => row.name);

  it('a name taken in the company, in any case, is a CONFLICT naming it, and nothing is stored', async () => {
    await create('Builder');
    for (const name of ['Builder', 'builder', '  BUILDER  ']) {
      const failure = await gqlFailure(gql(server, CREATE, { input: { name, adapterType: 'SCRIPT', adapterConfig: script } }));
      expect(failure.code).toBe('CONFLICT');
      expect(failure.errors[0].message).toBe(`An agent named ${JSON.stringify(name.trim())} already exists in this company`);
      expect(failure.errors[0].extensions).toMatchObject({ field: 'name' });
    }
    expect(await namesLike('builder')).toEqual(['Builder']);
  });

  it('the same name in another company is free', async () => {
    await create('reviewer');
    const [other] = await server.database.db.insert(companies).values({ name: 'Other Co' }).returning();
    await server.app.engine.createAgent({ companyId: other.id, name: 'Reviewer', adapterType: 'script', adapterConfig: script });
    const rows = await server.database.sql<{ company_id: string }[]>`select company_id from agents where lower(name) = 'reviewer'`;
    expect(rows.map((row) => row.company_id).sort()).toEqual([server.companyId, other.id].sort());
  });

  it('renaming to a taken name is a CONFLICT and leaves the agent as it was; a change of case of its own name is not', async () => {
    await create('planner');
    const tester = await create('tester');
    const failure = await gqlFailure(gql(server, UPDATE, { input: { id: agentGid(tester), name: 'Planner', role: 'qa' } }));
    expect(failure.code).toBe('CONFLICT');
    expect(failure.errors[0].message).toContain('"Planner"');
    const row = await server.database.db.query.agents.findFirst({ where: { id: tester } });
    expect(row).toMatchObject({ name: 'tester', role: 'general' });

    const renamed = await gql(server, UPDATE, { input: { id: agentGid(tester), name: 'Tester' } });
    expect(renamed.updateAgent.name).toBe('Tester');
  });

  it('creates racing for one name: exactly one wins, every other gets CONFLICT, none an internal error', async () => {
    const racers = 8;
    const answers = await Promise.all(
      Array.from({ length: racers }, (_, i) =>
        postGraphQL<{ createAgent: { id: string } | null }>(server.graphqlUrl, CREATE, {
          key: server.adminKey,
          variables: { input: { name: i % 2 === 0 ? 'racer' : 'RACER', adapterType: 'SCRIPT', adapterConfig: script } },
        }),
      ),
    );
    const won = answers.filter((answer) => answer.body.data?.createAgent);
    const codes = answers.flatMap((answer) => (answer.body.errors ?? []).map((error) => error.extensions?.code));
    expect(won).toHaveLength(1);
    expect(codes).toEqual(Array.from({ length: racers - 1 }, () => 'CONFLICT'));
    expect(answers.every((answer) => answer.status === 200)).toBe(true);
    expect(await namesLike('racer')).toHaveLength(1);
  });
});

describe('the migration that makes names unique, on a database holding duplicates', () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: postgres.Sql;
  let older: string;
  beforeAll(async () => {
    database = await createEmptyDatabase();
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
    // Every migration before the one that adds the index.
    older = await mkdtemp(join(tmpdir(), 'heartbeat-before-unique-names-'));
    const names = (await readdir(migrationsFolder)).sort();
    for (const name of names.slice(0, names.indexOf('20261207110951_agent_names_unique'))) {
      await cp(join(migrationsFolder, name), join(older, name), { recursive: true });
    }
  });
  afterAll(async () => {
    await sql?.end();
    await database?.drop();
    await rm(older, { recursive: true, force: true });
  });

  it('keeps the oldest name and renames later duplicates "<name> (2)", "(3)", ... to the first suffix free', async () => {
    await migrate(drizzle({ client: sql }), { migrationsFolder: older });
    const [{ id: acme }] = await sql<{ id: string }[]>`insert into companies (name) values ('Acme') returning id`;
    const [{ id: other }] = await sql<{ id: string }[]>`insert into companies (name) values ('Other') returning id`;
    const agent = async (companyId: string, name: string, createdAt: string) =>
      (await sql<{ id: string }[]>`insert into agents (company_id, name, adapter_type, created_at) values (${companyId}, ${name}, 'script', ${createdAt}) returning id`)[0].id;
    const suffixed = await agent(acme, 'builder (2)', '2026-01-01T09:00:00Z');
    const oldest = await agent(acme, 'builder', '2026-01-01T10:00:00Z');
    const second = await agent(acme, 'Builder', '2026-01-01T10:01:00Z');
    const third = await agent(acme, 'builder', '2026-01-01T10:02:00Z');
    const elsewhere = await agent(other, 'builder', '2026-01-01T10:03:00Z');
    const alone = await agent(acme, 'reviewer', '2026-01-01T10:04:00Z');

    await migrateDatabase(database.url);

    const names = new Map((await sql<{ id: string; name: string }[]>`select id, name from agents`).map((row) => [row.id, row.name]));
    expect(Object.fromEntries([suffixed, oldest, second, third, elsewhere, alone].map((id) => [id, names.get(id)]))).toEqual({
      [suffixed]: 'builder (2)',
      [oldest]: 'builder',
      // "Builder (2)" is taken by "builder (2)", whatever the case.
      [second]: 'Builder (3)',
      [third]: 'builder (4)',
      [elsewhere]: 'builder',
      [alone]: 'reviewer',
    });
    await expect(sql`insert into agents (company_id, name, adapter_type) values (${acme}, 'BUILDER', 'script')`).rejects.toThrow(/agents_company_name_uq/);
    await sql`insert into agents (company_id, name, adapter_type) values (${other}, 'reviewer', 'script')`;
  });
});
