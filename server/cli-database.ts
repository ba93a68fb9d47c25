// Database access for CLI commands that work on the data directly (`keys create` must work even
// when no key is left). With DATABASE_URL: that server. Embedded: the cluster of a running
// Heartbeat if there is one, otherwise a temporary start of the cluster.
import { join, resolve } from 'node:path';
import { connectDatabase, type Database } from '../db/client.ts';
import { findRunningEmbeddedPostgres, startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { companies } from '../db/schema.ts';
import type { HeartbeatConfig } from './config.ts';

export interface CliDatabase {
  db: Database;
  firstCompanyId(): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function openCliDatabase(config: HeartbeatConfig): Promise<CliDatabase> {
  let url = config.databaseUrl;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!url) {
    const dataDir = resolve(join(config.dataDir, 'pg'));
    url = (await findRunningEmbeddedPostgres(dataDir))?.url;
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
