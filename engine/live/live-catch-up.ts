// After a gap in the signals from other instances (the connection that carries them dropped and
// came back), the runs that changed meanwhile are announced again, from their rows. Subscribers
// to one run poll anyway; those by company, agent or issue have nothing to poll, and without this
// would keep, for good, the state a lost signal should have replaced (a run shown running forever).
import { and, desc, gte, inArray } from 'drizzle-orm';
import type { Database } from '../../db/client.ts';
import { heartbeatRuns } from '../../db/schema.ts';
import type { LiveSignal } from './live-signals.ts';
import { RUN_STATE_COLUMNS, runStateSnapshot } from '../model/runs.ts';

/** At most this many runs are announced again after one gap: the most recently changed ones. */
export const CATCH_UP_LIMIT = 5_000;

/** A `run` signal with its current state for each run of `companyIds` changed at or after `since`, oldest change first. */
export async function changedRunSignals(db: Database, companyIds: string[], since: Date): Promise<{ signals: LiveSignal[]; truncated: boolean }> {
  if (companyIds.length === 0) return { signals: [], truncated: false };
  const columns = Object.fromEntries(RUN_STATE_COLUMNS.map((name) => [name, heartbeatRuns[name]])) as { [K in (typeof RUN_STATE_COLUMNS)[number]]: (typeof heartbeatRuns)[K] };
  const rows = await db
    .select({ ...columns, id: heartbeatRuns.id, companyId: heartbeatRuns.companyId, agentId: heartbeatRuns.agentId, issueId: heartbeatRuns.issueId })
    .from(heartbeatRuns)
    .where(and(inArray(heartbeatRuns.companyId, companyIds), gte(heartbeatRuns.updatedAt, since)))
    .orderBy(desc(heartbeatRuns.updatedAt))
    .limit(CATCH_UP_LIMIT + 1);
  const truncated = rows.length > CATCH_UP_LIMIT;
  const signals = rows
    .slice(0, CATCH_UP_LIMIT)
    .reverse()
    .map((row): LiveSignal => ({ kind: 'run', companyId: row.companyId, runId: row.id, agentId: row.agentId, issueId: row.issueId, state: runStateSnapshot(row), replay: true }));
  return { signals, truncated };
}
