// Once per `npm test`: a PostgreSQL server (embedded, or TEST_DATABASE_URL) and one migrated
// template database. Each test file clones the template (fast) into a database of its own.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { databaseUrlFor } from './database-url.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A database on the test server that test helpers connect to for CREATE/DROP DATABASE. */
    adminDatabaseUrl: string;
    templateDatabase: string;
    /** Every test database name starts with it, so teardown can sweep leftovers. */
    testDatabasePrefix: string;
  }
}

export default async function setup(project: TestProject) {
  let adminUrl = process.env.TEST_DATABASE_URL;
  let stopServer: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    const dir = await mkdtemp(join(tmpdir(), 'heartbeat-test-pg-'));
    const server = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 0, database: 'postgres' });
    adminUrl = server.url;
    stopServer = async () => {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    };
  }

  const template = `heartbeat_template_${process.pid}`;
  const prefix = `hb_test_${process.pid}_`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists "${template}" with (force)`);
  await admin.unsafe(`create database "${template}"`);
  await migrateDatabase(databaseUrlFor(adminUrl, template));

  project.provide('adminDatabaseUrl', adminUrl);
  project.provide('templateDatabase', template);
  project.provide('testDatabasePrefix', prefix);

  return async () => {
    // Test files drop their own databases; this sweeps what a crashed file left behind.
    const leftovers = await admin<{ datname: string }[]>`
      select datname from pg_database where datname like ${`${prefix}%`}`;
    for (const { datname } of leftovers) {
      await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    }
    await admin.unsafe(`drop database if exists "${template}" with (force)`);
    await admin.end();
    await stopServer?.();
  };
}
