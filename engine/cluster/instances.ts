// Engine instance rows (Decisions 9): a row per live instance, renewed every beat. When a lapsed
// lease means the instance is dead is leases.ts's rule.
import { hostname } from 'node:os';
import { and, eq, isNull, min, ne } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { engineInstances } from '../../db/schema.ts';
import type { Clock } from '../model/clock.ts';

export const LEASE_BEAT_MS = 2_000;
/** Three missed beats and the instance counts as dead. */
export const LEASE_TTL_MS = 3 * LEASE_BEAT_MS;

export async function registerInstance(db: Database, clock: Clock, options: { host?: string; version?: string } = {}): Promise<{ id: string; host: string }> {
  const now = clock.now();
  const { host = hostname(), version } = options;
  const [row] = await db
    .insert(engineInstances)
    .values({ host, pid: process.pid, version, startedAt: now, heartbeatAt: now, leaseExpiresAt: new Date(now.getTime() + LEASE_TTL_MS) })
    .returning({ id: engineInstances.id });
  return { id: row.id, host };
}

/**
 * Renews the lease; false when the row was ended meanwhile (another instance declared this one
 * dead, leases.ts): an ended lease is never renewed.
 */
export async function renewInstanceLease(db: Database, clock: Clock, instanceId: string): Promise<boolean> {
  const now = clock.now();
  const renewed = await db
    .update(engineInstances)
    .set({ heartbeatAt: now, leaseExpiresAt: new Date(now.getTime() + LEASE_TTL_MS) })
    .where(and(eq(engineInstances.id, instanceId), isNull(engineInstances.stoppedAt)))
    .returning({ id: engineInstances.id });
  return renewed.length === 1;
}

/** Graceful stop: the lease ends now, so nobody waits for it to lapse. */
export async function deregisterInstance(db: Database, clock: Clock, instanceId: string): Promise<void> {
  const now = clock.now();
  await db.update(engineInstances).set({ stoppedAt: now, leaseExpiresAt: now }).where(eq(engineInstances.id, instanceId));
}

/** When the soonest lease of another live instance lapses (null when there is none). */
export async function nextLeaseLapse(db: Database, instanceId: string): Promise<Date | null> {
  const [row] = await db
    .select({ at: min(engineInstances.leaseExpiresAt) })
    .from(engineInstances)
    .where(and(isNull(engineInstances.stoppedAt), ne(engineInstances.id, instanceId)));
  // An aggregate comes back as the driver's text, not mapped to a Date.
  return row?.at ? new Date(row.at) : null;
}
