// Engine instance leases (Decisions 9): a row per live instance, renewed every beat. A row whose
// lease lapsed belongs to an instance that died; recovery reaps its runs.
import { hostname } from 'node:os';
import { eq } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { engineInstances } from '../db/schema.ts';
import type { Clock } from './clock.ts';

export const LEASE_BEAT_MS = 2_000;
/** Three missed beats and the instance counts as dead. */
export const LEASE_TTL_MS = 3 * LEASE_BEAT_MS;

export async function registerInstance(db: Database, clock: Clock, version?: string): Promise<{ id: string; host: string }> {
  const now = clock.now();
  const host = hostname();
  const [row] = await db
    .insert(engineInstances)
    .values({ host, pid: process.pid, version, startedAt: now, heartbeatAt: now, leaseExpiresAt: new Date(now.getTime() + LEASE_TTL_MS) })
    .returning({ id: engineInstances.id });
  return { id: row.id, host };
}

export async function renewInstanceLease(db: Database, clock: Clock, instanceId: string): Promise<void> {
  const now = clock.now();
  await db
    .update(engineInstances)
    .set({ heartbeatAt: now, leaseExpiresAt: new Date(now.getTime() + LEASE_TTL_MS) })
    .where(eq(engineInstances.id, instanceId));
}

/** Graceful stop: the lease ends now, so nobody waits for it to lapse. */
export async function deregisterInstance(db: Database, clock: Clock, instanceId: string): Promise<void> {
  const now = clock.now();
  await db.update(engineInstances).set({ stoppedAt: now, leaseExpiresAt: now }).where(eq(engineInstances.id, instanceId));
}
