// A run's wakeup request follows its run: claimed, then finished with its outcome.
import { eq } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import type { WakeupStatus } from '../../db/enums.ts';
import { wakeupRequests } from '../../db/schema.ts';
import type { WakeupRow } from '../model/runs.ts';

/** Moves a run's wakeup request to `status` (no-op without one). */
export async function setWakeStatus(
  tx: Transaction,
  wakeupRequestId: string | null,
  status: WakeupStatus,
  now: Date,
  extra: Partial<Pick<WakeupRow, 'error' | 'claimedAt' | 'finishedAt'>> = {},
): Promise<void> {
  if (!wakeupRequestId) return;
  const finishing = !['queued', 'claimed', 'deferred_issue_execution'].includes(status);
  await tx
    .update(wakeupRequests)
    .set({ status, updatedAt: now, ...(finishing ? { finishedAt: now } : {}), ...extra })
    .where(eq(wakeupRequests.id, wakeupRequestId));
}
