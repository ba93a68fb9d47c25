// A company's number among companies (companies.agent_slot), which never changes: a root server runs
// the company's agents as the user HEARTBEAT_AGENT_UID_BASE + this (adapters/agent-sandbox.ts).
import { eq } from 'drizzle-orm';
import { companies } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';

/** Per database: the slots read so far (a company's slot is fixed, so a read is for good). */
const slotsByDatabase = new WeakMap<object, Map<string, number>>();

export async function companySlotOf(deps: EngineDeps, companyId: string): Promise<number> {
  let slots = slotsByDatabase.get(deps.db);
  if (!slots) slotsByDatabase.set(deps.db, (slots = new Map()));
  const known = slots.get(companyId);
  if (known !== undefined) return known;
  const [row] = await deps.db.select({ slot: companies.agentSlot }).from(companies).where(eq(companies.id, companyId));
  if (!row) throw new Error(`No company ${companyId}`);
  slots.set(companyId, row.slot);
  return row.slot;
}
