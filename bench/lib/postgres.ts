// The one PostgreSQL every scenario and every system runs on: embedded (a throwaway cluster in a
// temp directory) or BENCH_DATABASE_URL. Each round of each system gets a fresh database.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { processTreeCpuMs } from './cpu.ts';
import { STATEMENT_SETTINGS, statementLedger, type StatementLedger } from './statement-costs.ts';

export interface BenchDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

export interface BenchPostgres {
  /** URL of the maintenance database (for CREATE/DROP DATABASE). */
  adminUrl: string;
  embedded: boolean;
  version: string;
  /** The server settings that matter for commit-bound work. */
  settings: Record<string, string>;
  /** CPU milliseconds the cluster has spent so far; null when it is not embedded (not ours to see). */
  cpuMs(): number | null;
  /** Bytes of WAL the cluster has written so far (its current WAL position). */
  walBytes(): Promise<number>;
  /** pg_stat_statements, with `--statements` (statement-costs.ts); null without it, or where it is not available. */
  statements: StatementLedger | null;
  /** A fresh empty database. */
  createDatabase(prefix: string): Promise<BenchDatabase>;
  /** A fresh database with Heartbeat's migrations applied (cloned from a migrated template). */
  createHeartbeatDatabase(): Promise<BenchDatabase>;
  stop(): Promise<void>;
}

export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function startBenchPostgres(log: (line: string) => void, options: { statements?: boolean } = {}): Promise<BenchPostgres> {
  const external = process.env.BENCH_DATABASE_URL;
  let dataDir: string | null = null;
  let stopEmbedded: (() => Promise<void>) | null = null;
  let postmasterPid: number | null = null;
  let adminUrl: string;
  if (external) {
    adminUrl = external;
  } else {
    dataDir = await mkdtemp(join(tmpdir(), 'heartbeat-bench-pg-'));
    log(`starting embedded PostgreSQL in ${dataDir}`);
    const pg = await startEmbeddedPostgres({ dataDir: join(dataDir, 'pg'), port: 0, database: 'bench', settings: options.statements ? STATEMENT_SETTINGS : {} });
    adminUrl = pg.url;
    stopEmbedded = pg.stop;
    // postmaster.pid's first line is the postmaster's pid.
    postmasterPid = Number((await readFile(join(dataDir, 'pg', 'postmaster.pid'), 'utf8')).split('\n')[0]);
  }
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  const [{ server_version: version }] = await admin<{ server_version: string }[]>`show server_version`;
  const settings: Record<string, string> = {};
  for (const name of ['max_connections', 'shared_buffers', 'synchronous_commit', 'fsync', 'wal_level', 'commit_delay']) {
    const [row] = await admin.unsafe<{ setting: string }[]>(`select current_setting('${name}') as setting`);
    settings[name] = row.setting;
  }
  const statements = options.statements ? await statementLedger(admin, log) : null;
  const prefix = `hb_bench_${randomBytes(3).toString('hex')}_`;
  const created = new Set<string>();
  let template: Promise<string> | null = null;

  const create = async (name: string, from?: string) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}"${from ? ` template "${from}"` : ''}`);
        break;
      } catch (error) {
        const busy = error instanceof Error && /being accessed by other users/.test(error.message);
        if (!busy || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
    created.add(name);
    return {
      url: databaseUrl(adminUrl, name),
      name,
      drop: async () => {
        await admin.unsafe(`drop database if exists "${name}" with (force)`);
        created.delete(name);
      },
    };
  };
  let counter = 0;
  const fresh = (kind: string) => `${prefix}${kind}_${++counter}`;

  return {
    adminUrl,
    embedded: !external,
    version,
    settings,
    statements,
    walBytes: async () => {
      const [row] = await admin<{ bytes: string }[]>`select (pg_current_wal_lsn() - '0/0'::pg_lsn)::text as bytes`;
      return Number(row.bytes);
    },
    cpuMs: () => (postmasterPid === null ? null : processTreeCpuMs(postmasterPid)),
    createDatabase: (kind) => create(fresh(kind)),
    createHeartbeatDatabase: async () => {
      template ??= (async () => {
        const name = `${prefix}heartbeat_template`;
        await admin.unsafe(`create database "${name}"`);
        created.add(name);
        await migrateDatabase(databaseUrl(adminUrl, name));
        return name;
      })();
      return create(fresh('heartbeat'), await template);
    },
    stop: async () => {
      for (const name of [...created]) await admin.unsafe(`drop database if exists "${name}" with (force)`).catch(() => {});
      await admin.end({ timeout: 5 });
      if (stopEmbedded) await stopEmbedded();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
