// The server as a newcomer runs it: the real binary, embedded PostgreSQL, signals.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies } from '../../db/schema.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postGraphQL } from '../support/graphql.ts';
import { processesMentioning, spawnHeartbeat, type HeartbeatProcess } from '../support/process.ts';

const VIEWER = '{ viewer { id name } }';

async function stop(server: HeartbeatProcess, signal: NodeJS.Signals = 'SIGTERM') {
  server.child.kill(signal);
  return server.exited;
}

describe('heartbeat serve on embedded PostgreSQL', () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-serve-'));
    env = { HEARTBEAT_DATA_DIR: join(dir, 'data'), PORT: '0', HEARTBEAT_EMBEDDED_PG_PORT: '0' };
  });
  afterAll(async () => {
    for (const pid of processesMentioning(dir)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('first start: creates a company and prints the GraphiQL URL and an admin key that works', async () => {
    const server = spawnHeartbeat(['serve'], env);
    try {
      const [, url] = await server.waitFor(/GraphiQL:\s+(\S+)/);
      const [, key] = await server.waitFor(/API key:\s+(hb_\S+)/);
      expect(server.output()).toContain(`"Authorization": "Bearer ${key}"`);
      expect(server.output()).toContain(`Database:  embedded PostgreSQL, data in ${env.HEARTBEAT_DATA_DIR}`);
      const { body } = await postGraphQL(url, VIEWER, { key });
      expect(body.data).toMatchObject({ viewer: { name: 'Heartbeat' } });
      env.KEY = key;
      env.VIEWER_ID = (body.data as { viewer: { id: string } }).viewer.id;

      // `keys create` reaches the cluster of the running server.
      const cli = spawnHeartbeat(['keys', 'create', '--name', 'second'], env);
      expect(await cli.exited).toBe(0);
      const [created] = cli.output().match(/hb_\S+/) ?? [];
      expect(created).toBeDefined();
      expect(created).not.toBe(key);
      const second = await postGraphQL(url, VIEWER, { key: created });
      expect(second.body.data).toEqual(body.data);

      // Graceful shutdown: exit 0, and neither the server nor its PostgreSQL is left behind.
      expect(await stop(server)).toBe(0);
      expect(processesMentioning(env.HEARTBEAT_DATA_DIR)).toEqual([]);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('second start reuses the data: same company, same key, no new key printed', async () => {
    const server = spawnHeartbeat(['serve'], env);
    try {
      const [, url] = await server.waitFor(/GraphiQL:\s+(\S+)/);
      expect(server.output()).not.toMatch(/API key:\s+hb_/);
      const { body } = await postGraphQL(url, VIEWER, { key: env.KEY });
      expect(body.data).toEqual({ viewer: { id: env.VIEWER_ID, name: 'Heartbeat' } });
      expect(await stop(server, 'SIGINT')).toBe(0);
      expect(processesMentioning(env.HEARTBEAT_DATA_DIR)).toEqual([]);
    } finally {
      server.child.kill('SIGKILL');
    }
  });

  it('starts again after being killed with SIGKILL (orphaned PostgreSQL, stale pid file)', async () => {
    const first = spawnHeartbeat(['serve'], env);
    await first.waitFor(/GraphiQL:\s+(\S+)/);
    expect(await stop(first, 'SIGKILL')).toBe('SIGKILL');
    // Its PostgreSQL survived the kill and still holds the data directory.
    expect(processesMentioning(env.HEARTBEAT_DATA_DIR).length).toBeGreaterThan(0);

    const second = spawnHeartbeat(['serve'], env);
    try {
      const [, url] = await second.waitFor(/GraphiQL:\s+(\S+)/);
      const { body } = await postGraphQL(url, VIEWER, { key: env.KEY });
      expect(body.data).toEqual({ viewer: { id: env.VIEWER_ID, name: 'Heartbeat' } });
      expect(await stop(second)).toBe(0);
      expect(processesMentioning(env.HEARTBEAT_DATA_DIR)).toEqual([]);
    } finally {
      second.child.kill('SIGKILL');
    }
  });

  it('refuses invalid settings with a clear message', async () => {
    const server = spawnHeartbeat(['serve'], { ...env, PORT: 'abc', HEARTBEAT_BOOTSTRAP_KEY: 'short' });
    expect(await server.exited).toBe(1);
    expect(server.output()).toMatch(/Invalid configuration/);
    expect(server.output()).toMatch(/PORT/);
    expect(server.output()).toMatch(/HEARTBEAT_BOOTSTRAP_KEY: must be at least 24 characters/);
  });
});

describe('heartbeat serve with DATABASE_URL', () => {
  let database: TestDatabase;
  let dir: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-url-'));
  });
  afterAll(async () => {
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  it('uses that database and starts no embedded PostgreSQL', async () => {
    const key = 'hb_fixed_bootstrap_key_for_automation_0001';
    const dataDir = join(dir, 'data');
    const server = spawnHeartbeat(['serve'], {
      DATABASE_URL: database.url,
      HEARTBEAT_DATA_DIR: dataDir,
      HEARTBEAT_BOOTSTRAP_KEY: key,
      PORT: '0',
    });
    try {
      const [, url] = await server.waitFor(/GraphiQL:\s+(\S+)/);
      expect(server.output()).toContain(`API key:   ${key}`);
      // The banner names the database it uses, never its password.
      const databaseName = new URL(database.url).pathname;
      expect(server.output()).toMatch(new RegExp(`Database:  postgres(ql)?://\\S+${databaseName}\\n`));
      const password = new URL(database.url).password;
      if (password) expect(server.output()).not.toContain(`:${password}@`);
      const { body } = await postGraphQL(url, VIEWER, { key });
      expect(body.data).toMatchObject({ viewer: { name: 'Heartbeat' } });
      // The company lives in DATABASE_URL's database, and nothing was started for an embedded one.
      expect(await database.db.select().from(companies)).toHaveLength(1);
      expect(processesMentioning(dataDir)).toEqual([]);
      expect(await stop(server)).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});
