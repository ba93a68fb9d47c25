// Fault: the backend of a reserved connection dies (a PostgreSQL restart, pg_terminate_backend).
// The pipelined transactions (engine/store/pipelined-transaction.ts) reserve connections from the
// postgres.js pool; patches/postgres+3.4.9.patch keeps the pool whole when one dies under them
// (porsager/postgres#1186, #1195, #1199): without it, statements sent on the dead connection, a
// reserve waiting for it, and later queries the pool hands to it never settle.
import { createServer, type Server, type Socket, connect as connectTcp } from 'node:net';
import type postgres from 'postgres';
import { describe, expect, it } from 'vitest';
import { connectDatabase } from '../../db/client.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { waitFor } from '../support/wait.ts';

/** Fails instead of hanging: a query that never settles is the failure under test. */
const settles = <T>(promise: Promise<T>, what: string) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} never settled`)), 5_000))]);

/** Asserts that `client` answers a query (and does not hang). */
async function answers(client: postgres.Sql | postgres.ReservedSql, what: string): Promise<void> {
  const [{ ok }] = await settles(client<{ ok: number }[]>`select 1 as ok`.execute(), what);
  expect(ok).toBe(1);
}

type Pool = ReturnType<typeof connectDatabase>;

/** A pool of `max` connections on a fresh test database (whose own client kills backends), closed after `use`. */
async function withPool(max: number, use: (pool: Pool, admin: TestDatabase) => Promise<void>): Promise<void> {
  const admin = await createTestDatabase();
  const pool = connectDatabase(admin.url, { max });
  try {
    await use(pool, admin);
  } finally {
    await pool.close();
    await admin.close();
  }
}

describe('a reserved connection whose backend dies', () => {
  it('leaves the pool working once it is released', () =>
    withPool(1, async (pool, admin) => {
      await pool.sql`select 1`;
      const reserved = await pool.sql.reserve();
      const [{ pid }] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const sleeping = reserved`select pg_sleep(30)`.execute().then(
        () => null,
        (error: { code?: string }) => error,
      );
      await admin.sql`select pg_terminate_backend(${pid})`;
      expect(await settles(sleeping, 'the query on the dead connection')).toMatchObject({ code: expect.stringMatching(/CONNECTION|57P01/) });
      reserved.release();
      await answers(pool.sql, 'the next query');
      const again = await settles(pool.sql.reserve(), 'the next reserve');
      await answers(again, 'a query on it');
      again.release();
    }));

  it('hands a reserve that was waiting for that connection the reopened one', () =>
    withPool(1, async (pool, admin) => {
      await pool.sql`select 1`;
      const [{ pid }] = await pool.sql<{ pid: number }[]>`select pg_backend_pid() as pid`;
      const busy = pool.sql`select pg_sleep(30)`.execute().then(
        () => null,
        (error: unknown) => error,
      );
      await waitFor('the pool to be busy', async () => (await admin.sql`select 1 from pg_stat_activity where pid = ${pid} and state = 'active'`).length === 1);
      const waiting = pool.sql.reserve();
      await admin.sql`select pg_terminate_backend(${pid})`;
      expect(await busy).toBeInstanceOf(Error);
      // The pool reopens the connection and hands it to the reserve that was waiting for it.
      const reserved = await settles(waiting, 'the waiting reserve');
      await answers(reserved, 'a query on it');
      reserved.release();
      await answers(pool.sql, 'the next query');
    }));

  it('fails the statements still sent on it at once, and its release changes nothing', () =>
    withPool(2, async (pool, admin) => {
      const reserved = await pool.sql.reserve();
      const [{ pid }] = await reserved<{ pid: number }[]>`select pg_backend_pid() as pid`;
      await admin.sql`select pg_terminate_backend(${pid})`;
      await waitFor('the connection to close', async () => (await reserved`select 1`.execute().then(() => false, () => true)));
      // The rollback a failed pipelined transaction sends on its way out.
      await expect(settles(reserved`rollback`.execute(), 'a statement on the dead connection')).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
      reserved.release();
      reserved.release();
      const results = await settles(Promise.all([1, 2, 3].map((n) => pool.sql<{ n: number }[]>`select ${n}::int as n`.execute())), 'queries after it');
      expect(results.map(([row]) => row.n)).toEqual([1, 2, 3]);
    }));

  it('hands a first reserve on a never used connection to its caller', () =>
    withPool(1, async (pool) => {
      const reserved = await settles(pool.sql.reserve(), 'the first reserve');
      await answers(reserved, 'a query on it');
      reserved.release();
    }));

  it('fails a waiting reserve whose connection cannot be reopened, and the pool serves again once the server is back', async () => {
    const admin = await createTestDatabase();
    const proxy = await tcpProxy(new URL(admin.url));
    const url = new URL(admin.url);
    url.port = String(proxy.port);
    const pool = connectDatabase(url.toString(), { max: 1 });
    try {
      await pool.sql`select 1`;
      const busy = pool.sql`select pg_sleep(30)`.execute().then(
        () => null,
        (error: unknown) => error,
      );
      await waitFor('the pool to be busy', async () => (await admin.sql`select 1 from pg_stat_activity where query like 'select pg_sleep%' and state = 'active'`).length === 1);
      const waiting = pool.sql.reserve().then(
        (reserved) => reserved,
        (error: unknown) => error,
      );
      await proxy.down();
      expect(await busy).toBeInstanceOf(Error);
      expect(await settles(waiting, 'the waiting reserve')).toBeInstanceOf(Error);
      await proxy.up();
      await answers(pool.sql, 'a query once the server is back');
      const reserved = await settles(pool.sql.reserve(), 'a reserve once the server is back');
      await answers(reserved, 'a query on it');
      reserved.release();
      await answers(pool.sql, 'the next query');
    } finally {
      await pool.close();
      await proxy.down();
      await admin.close();
    }
  });
});

/** A TCP proxy in front of PostgreSQL that can be taken down (connections cut, port closed) and up again. */
async function tcpProxy(target: URL) {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connectTcp(Number(target.port), target.hostname);
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('close', () => sockets.delete(socket));
          socket.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', () => {
        port = (server!.address() as { port: number }).port;
        resolve();
      });
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = null;
    });
  await up();
  return { port, up, down };
}
