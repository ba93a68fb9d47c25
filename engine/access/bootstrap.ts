// First start on an empty database: one company and one admin key, so a newcomer can log in.
import { sql } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { companies } from '../../db/schema.ts';
import { createApiKey } from './api-keys.ts';

export interface BootstrapResult {
  companyId: string;
  /** The plaintext admin key: only known on the start that created it. */
  adminKey: string;
}

/** Arbitrary constant: "heartbeat bootstrap". Serialises instances starting on one empty database. */
const BOOTSTRAP_LOCK_KEY = 0x6862_6273;

/** Creates the first company and its admin key when there is no company yet; otherwise null. */
export async function bootstrapIfEmpty(
  db: Database,
  options: { companyName: string; adminKey?: string },
): Promise<BootstrapResult | null> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${BOOTSTRAP_LOCK_KEY})`);
    const existing = await tx.select({ id: companies.id }).from(companies).limit(1);
    if (existing.length > 0) return null;
    const [company] = await tx
      .insert(companies)
      .values({ name: options.companyName })
      .returning({ id: companies.id });
    const key = await createApiKey(tx, {
      companyId: company.id,
      name: 'bootstrap admin',
      role: 'admin',
      key: options.adminKey,
    });
    return { companyId: company.id, adminKey: key.key };
  });
}
