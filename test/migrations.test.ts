import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase } from '../db/migrate.ts';
import { createEmptyDatabase } from './support/database.ts';

const expectedTables = [
  'activity_log',
  'agent_runtime_state',
  'agent_wakeup_requests',
  'agents',
  'api_keys',
  'companies',
  'engine_instances',
  'heartbeat_run_events',
  'heartbeat_runs',
  'issue_comments',
  'issue_document_revisions',
  'issue_documents',
  'issue_relations',
  'issues',
];

describe('migrations', () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: postgres.Sql;

  beforeAll(async () => {
    database = await createEmptyDatabase();
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
  });
  afterAll(async () => {
    await sql.end();
    await database.drop();
  });

  const tables = async () =>
    (
      await sql<{ table_name: string }[]>`
        select table_name from information_schema.tables
        where table_schema = 'public' order by table_name`
    ).map((row) => row.table_name);
  const applied = async () =>
    (await sql<{ count: number }[]>`select count(*)::int as count from drizzle.__drizzle_migrations`)[0]
      .count;

  it('creates the whole data model on an empty database', async () => {
    expect(await tables()).toEqual([]);
    await migrateDatabase(database.url);
    expect(await tables()).toEqual(expectedTables);
    expect(await applied()).toBeGreaterThan(0);
  });

  it('is a no-op on an already-migrated database, also when instances migrate at once', async () => {
    const before = await applied();
    await sql`insert into companies (name) values ('kept')`;
    await Promise.all([migrateDatabase(database.url), migrateDatabase(database.url)]);
    expect(await applied()).toBe(before);
    expect(await tables()).toEqual(expectedTables);
    const [{ count }] = await sql<{ count: number }[]>`select count(*)::int as count from companies`;
    expect(count).toBe(1);
  });

  it('enforces the invariants the engine relies on', async () => {
    const [{ id: companyId }] = await sql<{ id: string }[]>`select id from companies limit 1`;
    const [{ id: agentId }] = await sql<{ id: string }[]>`
      insert into agents (company_id, name, adapter_type) values (${companyId}, 'a', 'script') returning id`;
    const [{ id: runId }] = await sql<{ id: string }[]>`
      insert into heartbeat_runs (company_id, agent_id) values (${companyId}, ${agentId}) returning id`;
    // Decisions 3: seq is unique per run.
    await sql`insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type)
              values (${companyId}, ${runId}, ${agentId}, 1, 'lifecycle')`;
    await expect(
      sql`insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type)
          values (${companyId}, ${runId}, ${agentId}, 1, 'lifecycle')`,
    ).rejects.toThrow(/run_events_pkey/);
    // Decisions 5: an idempotency key is unique per (company, agent).
    const wake = (key: string | null) => sql`
      insert into agent_wakeup_requests (company_id, agent_id, source, idempotency_key)
      values (${companyId}, ${agentId}, 'on_demand', ${key})`;
    await wake('k1');
    await wake(null);
    await wake(null);
    await expect(wake('k1')).rejects.toThrow(/wakeups_idempotency_uq/);
    // Decisions 4: wake status timed_out exists.
    await sql`update agent_wakeup_requests set status = 'timed_out' where idempotency_key = 'k1'`;
  });
});
