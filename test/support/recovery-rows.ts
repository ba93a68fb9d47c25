// What the recovery tests read and plant around an engine fixture: its rows by id, and engine
// instances whose lease has ended or is live. `fixture` is read at each call (tests make a new one
// for each case).
import { engineInstances } from '../../db/schema.ts';
import type { EngineFixture } from './engine.ts';

export function recoveryRows(fixture: () => EngineFixture) {
  const db = () => fixture().db;
  const now = () => fixture().clock.now();
  return {
    runRow: async (id: string) => (await db().query.heartbeatRuns.findFirst({ where: { id } }))!,
    issueRow: async (id: string) => (await db().query.issues.findFirst({ where: { id } }))!,
    wakeRow: async (id: string) => (await db().query.wakeupRequests.findFirst({ where: { id } }))!,
    runsOn: (issueId: string) => db().query.heartbeatRuns.findMany({ where: { issueId }, orderBy: { createdAt: 'asc' } }),
    summariesBy: (runId: string) => db().query.issueDocumentRevisions.findMany({ where: { createdByRunId: runId, key: 'continuation-summary' } }),
    /** An engine instance whose lease ended: it stopped, or another instance declared it dead (§6.11-F). */
    deadInstance: async (): Promise<string> => {
      const [dead] = await db().insert(engineInstances).values({ host: 'gone', pid: 1, leaseExpiresAt: now(), stoppedAt: now() }).returning();
      return dead.id;
    },
    /** An engine instance elsewhere with a live lease. */
    liveInstance: async (): Promise<string> => {
      const [live] = await db().insert(engineInstances).values({ host: 'elsewhere', pid: 1, leaseExpiresAt: new Date(now().getTime() + 3_600_000) }).returning();
      return live.id;
    },
  };
}
