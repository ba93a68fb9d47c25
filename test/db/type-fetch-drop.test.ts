// patches/postgres+3.4.9.patch: when a new connection's first query (postgres.js fetching the
// database's array types) meets a dropped connection, as during a database restart, the failure goes
// through the connection's own error path and is never an unhandled rejection (which, in a server,
// is a crash). Here a proxy drops the connection exactly when that query is sent.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

/** A TCP proxy to PostgreSQL that resets both sides the first time a client sends postgres.js' types query. */
const startDroppingProxy = async (target: URL) => {
  let drops = 0;
  const server: Server = createServer((client: Socket) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 5432) });
    client.on('data', (chunk) => {
      if (drops === 0 && chunk.includes('pg_catalog.pg_type')) {
        drops += 1;
        client.resetAndDestroy(); // a reset, as a restarting server's sockets give: the client sees ECONNRESET
        upstream.destroy();
        return;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  return { port: address.port, drops: () => drops, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
};

describe('a connection dropped while postgres.js fetches array types', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(() => database?.drop());

  it('fails the waiting query as a connection error, then serves again, with no unhandled rejection', async () => {
    const proxy = await startDroppingProxy(new URL(database.url));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    const url = new URL(database.url);
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const sql = postgres(url.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      // The query waiting for the connection fails as any query on a dropped connection does (the
      // engine's retry of transient errors takes it from there); the connection then serves again.
      await expect(sql`select 1 as one`).rejects.toMatchObject({ code: 'ECONNRESET' });
      expect(proxy.drops()).toBe(1);
      const [row] = await sql<{ one: number }[]>`select 1 as one`;
      expect(row.one).toBe(1);
      // Unhandled rejections are reported after the microtask queue drains: give it one macrotask turn.
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await sql.end({ timeout: 1 });
      await proxy.close();
    }
  });
});
