// `npm run bench -- --statements`: an embedded cluster started with the bench's settings records its
// statements, and a drain's statements are read per job, the maintenance connection's own left out.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.ts';
import { databaseUrl } from '../../bench/lib/postgres.ts';
import { describeStatements, STATEMENT_SETTINGS, statementLedger, type StatementLedger } from '../../bench/lib/statement-costs.ts';

let dir: string;
let pg: EmbeddedPostgres;
let admin: postgres.Sql;
let work: postgres.Sql;
let ledger: StatementLedger | null;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'heartbeat-statements-'));
  pg = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), port: 0, database: 'bench', settings: STATEMENT_SETTINGS });
  admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  await admin`create database drain`;
  work = postgres(databaseUrl(pg.url, 'drain'), { max: 1, onnotice: () => {} });
  await work`create table jobs (id int primary key, body text not null)`;
  ledger = await statementLedger(admin, () => {});
}, 120_000);

afterAll(async () => {
  await work?.end();
  await admin?.end();
  await pg?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('statement costs', () => {
  it('reports, per job, what each statement of the drain cost since the reset', async () => {
    expect(ledger).not.toBeNull();
    await work`insert into jobs select i, 'before' from generate_series(1, 5) as i`;
    await ledger!.reset();
    // The "drain": 20 jobs, each one insert, then one statement that reads ten of them per call, twice.
    for (let i = 100; i < 120; i++) await work`insert into jobs (id, body) values (${i}, ${'x'.repeat(100)})`;
    for (const from of [100, 110]) await work`select id from jobs where id >= ${from} and id < ${from + 10}`;
    await admin`select 1 as maintenance`;

    const costs = await ledger!.read(20);
    const insert = costs.find((c) => c.query.startsWith('insert into jobs (id, body)'));
    const select = costs.find((c) => c.query.startsWith('select id from jobs'));
    expect(insert).toMatchObject({ callsPerJob: 1, rowsPerCall: 1 });
    expect(insert!.walBytesPerJob).toBeGreaterThan(100);
    expect(insert!.execMsPerJob).toBeGreaterThan(0);
    expect(select).toMatchObject({ callsPerJob: 0.1, rowsPerCall: 10, walBytesPerJob: 0 });
    // Nothing from before the reset, nothing of the maintenance connection.
    expect(costs.some((c) => c.query.includes("'before'") || c.query.includes('generate_series'))).toBe(false);
    expect(costs.some((c) => c.query.includes('maintenance'))).toBe(false);
    expect(describeStatements('drain', costs)).toContain('insert into jobs (id, body)');
  });
});
