// The run ledger's backfill (spec §8): finished runs of an issue that were never classified (gate
// cancels, runs from before classification existed) are classified in the background, at most 20
// per pass, and only if still unclassified when written.
import { and, asc, eq, inArray, isNull } from 'drizzle-orm';
import { heartbeatRuns } from '../../db/schema.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { classifyRunLiveness } from '../runs/liveness-evidence.ts';
import { runStatusEvent, TERMINAL_STATUSES } from '../model/runs.ts';

const BACKFILL_BATCH = 20;

export async function backfillIssueLiveness(deps: EngineDeps, issueId: string): Promise<number> {
  const pending = await deps.db
    .select({ id: heartbeatRuns.id })
    .from(heartbeatRuns)
    .where(and(eq(heartbeatRuns.issueId, issueId), isNull(heartbeatRuns.livenessState), inArray(heartbeatRuns.status, [...TERMINAL_STATUSES])))
    .orderBy(asc(heartbeatRuns.createdAt))
    .limit(BACKFILL_BATCH);
  let classified = 0;
  for (const { id } of pending) {
    const done = await transact(deps, async (tx, events) => {
      const [run] = await tx.select().from(heartbeatRuns).where(and(eq(heartbeatRuns.id, id), isNull(heartbeatRuns.livenessState))).for('update', { skipLocked: true });
      if (!run) return false;
      events.push(runStatusEvent(await classifyRunLiveness(tx, events, run)));
      return true;
    });
    if (done) classified += 1;
  }
  return classified;
}
