// The embedded cluster's password: random per cluster, kept next to its data directory in a file
// only the server's user can read. The cluster listens on 127.0.0.1, where every local process can
// connect, agents included; a password known in advance (as this project's first clusters had)
// would open the whole database to any of them.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import postgres from 'postgres';

/** What clusters created before passwords were random use; rotated away at their next start. */
export const LEGACY_PASSWORD = 'heartbeat';

/** Next to the data dir, not in it (initdb needs an empty directory, and the data dir may belong to the `postgres` user). */
export const passwordFileFor = (dataDir: string) => `${dataDir}.password`;
const pendingFileFor = (dataDir: string) => `${dataDir}.password.new`;

export const newPassword = () => randomBytes(24).toString('base64url');

/** The stored password, or undefined when the cluster has none yet. */
export async function storedPassword(dataDir: string): Promise<string | undefined> {
  const text = await fs.readFile(passwordFileFor(dataDir), 'utf8').catch(() => undefined);
  return text?.trim() || undefined;
}

async function writeSecret(file: string, password: string): Promise<void> {
  await fs.rm(file, { force: true });
  await fs.writeFile(file, `${password}\n`, { mode: 0o600, flag: 'wx' });
}

/** Stores the password of a cluster about to be initialised with it. */
export async function storePassword(dataDir: string, password: string): Promise<void> {
  await writeSecret(passwordFileFor(dataDir), password);
}

/** Whether `password` opens the cluster on `port` as `user`. */
async function opens(port: number, user: string, password: string): Promise<boolean> {
  const sql = postgres({ host: '127.0.0.1', port, user, password, database: 'postgres', max: 1, connect_timeout: 10, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch (error) {
    // 28P01: wrong password. Anything else (the cluster is down, ...) is not an answer about the password.
    if ((error as { code?: string }).code === '28P01') return false;
    throw error;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/**
 * The password of a running cluster, rotated to a random one if it still has the legacy password
 * (or a rotation was cut short). The new password is written to a pending file before the role
 * changes and moved into place after, so a crash at any point leaves a password that opens it.
 */
export async function ensureClusterPassword(dataDir: string, port: number, user: string): Promise<string> {
  const stored = await storedPassword(dataDir);
  if (stored && (await opens(port, user, stored))) return stored;
  const pending = (await fs.readFile(pendingFileFor(dataDir), 'utf8').catch(() => ''))?.trim();
  const current = [pending, LEGACY_PASSWORD].filter(Boolean);
  let working: string | undefined;
  for (const candidate of current) {
    if (await opens(port, user, candidate)) {
      working = candidate;
      break;
    }
  }
  if (!working) {
    throw new Error(`Embedded PostgreSQL in ${dataDir}: the password in ${passwordFileFor(dataDir)} does not open it (was the file replaced or removed?)`);
  }
  const rotated = newPassword();
  await writeSecret(pendingFileFor(dataDir), rotated);
  const sql = postgres({ host: '127.0.0.1', port, user, password: working, database: 'postgres', max: 1, onnotice: () => {} });
  try {
    // ALTER ROLE takes no parameters; the role is this module's constant and the password base64url.
    await sql.unsafe(`alter role "${user}" password '${rotated}'`);
  } finally {
    await sql.end({ timeout: 1 });
  }
  await fs.rename(pendingFileFor(dataDir), passwordFileFor(dataDir));
  return rotated;
}
