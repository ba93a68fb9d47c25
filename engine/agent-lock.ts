// One transaction-scoped advisory lock per agent. Everything that counts or changes an agent's
// queue under its concurrency limit takes it first, on every instance, so the limit is exact.
import { sql } from 'drizzle-orm';
import type { Transaction } from '../db/client.ts';

/** Namespace of the two-key advisory lock: "hb" + "ag". */
const AGENT_LOCK_NAMESPACE = 0x6862_6167;

export async function agentAdvisoryLock(tx: Transaction, agentId: string): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(${AGENT_LOCK_NAMESPACE}, hashtext(${agentId}))`);
}
