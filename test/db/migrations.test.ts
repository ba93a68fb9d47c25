import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDatabase, migrationsFolder } from '../../db/migrate.ts';
import { createEmptyDatabase } from '../support/database.ts';

const expectedTables = [
  'activity_log',
  'agent_runtime_state',
  'agent_task_sessions',
  'agent_wakeup_requests',
  'agents',
  'api_keys',
  'budgets',
  'companies',
  'cost_events',
  'engine_instances',
  'heartbeat_run_events',
  'heartbeat_run_log_chunks',
  'heartbeat_runs',
  'issue_comments',
  'issue_document_revisions',
  'issue_documents',
  'issue_relations',
  'issues',
  'projects',
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

describe('migrations on a database with data', () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: postgres.Sql;
  let older: string;

  beforeAll(async () => {
    database = await createEmptyDatabase();
    sql = postgres(database.url, { max: 1, onnotice: () => {} });
    // The migrations as they were before the run-event and index changes that follow them.
    older = await mkdtemp(join(tmpdir(), 'heartbeat-older-migrations-'));
    const names = (await readdir(migrationsFolder)).sort();
    for (const name of names.slice(0, names.indexOf('20261121154316_event_keys_through_run') + 1)) {
      await cp(join(migrationsFolder, name), join(older, name), { recursive: true });
    }
  });
  afterAll(async () => {
    await sql.end();
    await database.drop();
    await rm(older, { recursive: true, force: true });
  });

  it('keeps every run, wakeup and event when upgraded to the current schema', async () => {
    await migrate(drizzle({ client: sql }), { migrationsFolder: older });
    const eventColumns = async () =>
      (await sql<{ column_name: string }[]>`select column_name from information_schema.columns where table_name = 'heartbeat_run_events'`).map((row) => row.column_name);
    expect(await eventColumns()).toContain('id');
    const [{ id: companyId }] = await sql<{ id: string }[]>`insert into companies (name) values ('c') returning id`;
    const [{ id: agentId }] = await sql<{ id: string }[]>`
      insert into agents (company_id, name, adapter_type) values (${companyId}, 'a', 'script') returning id`;
    const [{ id: wakeId }] = await sql<{ id: string }[]>`
      insert into agent_wakeup_requests (company_id, agent_id, source, status) values (${companyId}, ${agentId}, 'on_demand', 'completed') returning id`;
    const [{ id: runId }] = await sql<{ id: string }[]>`
      insert into heartbeat_runs (company_id, agent_id, status, wakeup_request_id, liveness_state, started_at)
      values (${companyId}, ${agentId}, 'succeeded', ${wakeId}, 'advanced', now()) returning id`;
    for (const seq of [1, 2, 3]) {
      await sql`insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type, message)
                values (${companyId}, ${runId}, ${agentId}, ${seq}, 'lifecycle', ${`event ${seq}`})`;
    }

    await migrateDatabase(database.url);

    expect(await eventColumns()).not.toContain('id');
    const events = await sql<{ seq: number; message: string }[]>`select seq, message from heartbeat_run_events where run_id = ${runId} order by seq`;
    expect(events).toEqual([1, 2, 3].map((seq) => ({ seq, message: `event ${seq}` })));
    const [{ count: runs }] = await sql<{ count: number }[]>`select count(*)::int as count from heartbeat_runs where wakeup_request_id = ${wakeId}`;
    expect(runs).toBe(1);
    const indexes = (await sql<{ indexname: string }[]>`select indexname from pg_indexes where schemaname = 'public'`).map((row) => row.indexname);
    expect(indexes).toEqual(expect.arrayContaining(['run_events_pkey', 'runs_updated_brin_idx', 'runs_company_liveness_created_idx']));
    expect(indexes).not.toContain('wakeups_company_agent_status_idx');
    await expect(
      sql`insert into heartbeat_run_events (company_id, run_id, agent_id, seq, event_type) values (${companyId}, ${runId}, ${agentId}, 3, 'lifecycle')`,
    ).rejects.toThrow(/run_events_pkey/);
  });
});
