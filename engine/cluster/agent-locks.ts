// One transaction-scoped advisory lock per agent. Everything that counts or changes an agent's
// queue under its concurrency limit takes it first, on every instance, so the limit is exact.
import { sql } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { executePrepared, uuidArray } from '../store/statements.ts';

/** Namespace of the two-key advisory lock: "hb" + "ag". */
export const AGENT_LOCK_NAMESPACE = 0x6862_6167;

export async function agentAdvisoryLock(tx: Transaction, agentId: string): Promise<void> {
  await executePrepared(tx, sql`select pg_advisory_xact_lock(${AGENT_LOCK_NAMESPACE}, hashtext(${agentId}))`);
}

/**
 * The advisory locks of several agents, taken in one statement in the order of their lock keys, so
 * that two transactions locking overlapping sets of agents never wait on each other in a cycle.
 */
export async function agentAdvisoryLocks(tx: Transaction, agentIds: readonly string[]): Promise<void> {
  if (agentIds.length === 1) return agentAdvisoryLock(tx, agentIds[0]);
  await executePrepared(tx, sql`select pg_advisory_xact_lock(${AGENT_LOCK_NAMESPACE}, k)
    from (select distinct hashtext(id) as k from unnest(${uuidArray(agentIds)}::text[]) as ids(id) order by 1) keys`);
}
