// A fresh, migrated database per test file, cloned from the template made in global setup.
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { connectDatabase, type DatabaseConnection } from '../../db/client.ts';
import { databaseUrlFor } from './database-url.ts';

export interface TestDatabase extends DatabaseConnection {
  url: string;
  name: string;
  drop(): Promise<void>;
}

async function withAdmin<T>(run: (admin: postgres.Sql) => Promise<T>): Promise<T> {
  const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
  try {
    return await run(admin);
  } finally {
    await admin.end();
  }
}

/** An empty database (no migrations), for tests of the migrator itself. */
export async function createEmptyDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  return createDatabase(null);
}

/** A migrated database with no rows. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const { url, name, drop } = await createDatabase(inject('templateDatabase'));
  const connection = connectDatabase(url, { max: 5, applicationName: 'heartbeat-test' });
  return {
    ...connection,
    url,
    name,
    drop: async () => {
      await connection.close();
      await drop();
    },
  };
}

async function createDatabase(template: string | null) {
  const name = `${inject('testDatabasePrefix')}${randomBytes(5).toString('hex')}`;
  await withAdmin(async (admin) => {
    const from = template ? ` template "${template}"` : '';
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}"${from}`);
        return;
      } catch (error) {
        // Two clones of one template at the same instant can collide; the next try succeeds.
        const busy = error instanceof Error && /being accessed by other users/.test(error.message);
        if (!busy || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });
  return {
    url: databaseUrlFor(inject('adminDatabaseUrl'), name),
    name,
    drop: () => withAdmin((admin) => admin.unsafe(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}
