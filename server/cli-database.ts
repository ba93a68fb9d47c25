// Database access for CLI commands that work on the data directly (`keys create` must work even
// when no key is left), found the way `serve` finds it (server/config.ts): with DATABASE_URL, that
// server; embedded, the cluster in HEARTBEAT_DATA_DIR, the running Heartbeat's if there is one,
// otherwise a temporary start of it. It never creates a cluster: one that does not exist yet means
// these settings are not the server's.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { connectDatabase, type Database } from '../db/client.ts';
import { findRunningEmbeddedPostgres, startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { companies } from '../db/schema.ts';
import type { HeartbeatConfig } from './config.ts';

export interface CliDatabase {
  db: Database;
  /** Which database this is, for people: its URL without the password, or the embedded cluster's directory. */
  description: string;
  firstCompanyId(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A database URL fit to print: without its password. */
export function withoutPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (!parsed.password) return url;
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, '@');
  }
}

export async function openCliDatabase(config: HeartbeatConfig): Promise<CliDatabase> {
  let url = config.databaseUrl;
  let description = url ? `${withoutPassword(url)} (DATABASE_URL)` : '';
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const dataDir = resolve(join(config.dataDir, 'pg'));
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      throw new Error(
        `no Heartbeat database in ${dataDir}: run this with the server's settings (HEARTBEAT_DATA_DIR, a path relative to the directory it is run from, or DATABASE_URL), or start the server once first`,
      );
    }
    const running = await findRunningEmbeddedPostgres(dataDir);
    url = running?.url;
    description = `the embedded PostgreSQL in ${dataDir} (HEARTBEAT_DATA_DIR)${running ? `, the one Heartbeat (pid ${running.ownerPid}) runs on` : ', no server running on it now'}`;
    if (!url) {
      const embedded = await startEmbeddedPostgres({ dataDir, port: 0 });
      url = embedded.url;
      stopEmbedded = () => embedded.stop();
    }
  }
  try {
    await migrateDatabase(url);
  } catch (error) {
    await stopEmbedded?.();
    throw error;
  }
  const connection = connectDatabase(url, { max: 2, applicationName: 'heartbeat-cli' });
  return {
    db: connection.db,
    description,
    firstCompanyId: async () => {
      const [first] = await connection.db
        .select({ id: companies.id })
        .from(companies)
        .orderBy(companies.createdAt)
        .limit(1);
      return first?.id;
    },
    close: async () => {
      await connection.close();
      await stopEmbedded?.();
    },
  };
}
