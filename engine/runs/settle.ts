// The settle (docs/engine.md §6.4): a terminal run whose follow-up work is done becomes final.
import { and, inArray, isNull } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { heartbeatRuns } from '../../db/schema.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { type RunRow, runStatusEvent, TERMINAL_STATUSES } from '../model/runs.ts';

/**
 * Marks terminal runs settled (one or many): their follow-up work is done, so their events and state
 * are final.
 * Subscribers to the run's event stream complete on it.
 */
export async function settleRun(db: Executor, events: LiveEvent[], runIds: string | string[], now: Date): Promise<RunRow[]> {
  const ids = typeof runIds === 'string' ? [runIds] : runIds;
  if (ids.length === 0) return [];
  const settled = await db
    .update(heartbeatRuns)
    .set({ settledAt: now })
    .where(and(inArray(heartbeatRuns.id, ids), inArray(heartbeatRuns.status, [...TERMINAL_STATUSES]), isNull(heartbeatRuns.settledAt)))
    .returning();
  for (const run of settled) events.push(runStatusEvent(run));
  return settled;
}
