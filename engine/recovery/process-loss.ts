// Process loss (spec §6.11, Decisions 9). A `running` run nobody executes any more is found two
// ways: its owner instance is dead (declared so by the lease rules of leases.ts, or stopped), or
// this instance owns it but lost its in-memory handle. Its process is checked and stopped where that is possible (same
// host), the run fails as `process_lost`, and exactly one automatic retry is queued.
import { and, eq, inArray, isNotNull, isNull, lte, ne, or, type SQL, sql } from 'drizzle-orm';
import { agents, engineInstances, heartbeatRuns } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { OwnerRow, OwnerVerdict } from '../cluster/leases.ts';
import type { RunRow } from '../model/runs.ts';

/** A run this instance owns is left alone this long after its last write: it may be mid-claim. */
const OWN_RUN_GRACE_MS = 10_000;

export interface OrphanCandidate {
  run: RunRow;
  adapterType: (typeof agents.$inferSelect)['adapterType'];
  agentName: string;
  /** The owner instance is dead, stopped or gone: nobody can finish this run. */
  ownerDead: boolean;
  /** The owner's row, when it has one. */
  owner: OwnerRow | null;
  /** Why the run is lost, when the reaper is told rather than finds out (a stopping instance's runs). */
  lostBecause?: string;
}

/** Tells whether an instance is dead (the engine's lease: leases.ts judgeOwner). */
export type OwnerJudge = (ownerInstanceId: string | null, owner: OwnerRow | null) => OwnerVerdict;

export interface DeadInstance {
  instance: OwnerRow;
  why: Extract<OwnerVerdict, { dead: true }>['why'];
}

/**
 * Declares dead the instances `judge` finds dead, by ending their leases (stopped_at), in one
 * statement: from then on their runs are anyone's to reap, and an instance that was only cut off
 * finds its lease taken over when it renews, and stops executing (leases.ts).
 */
export async function declareDeadInstances(deps: EngineDeps, judge: OwnerJudge): Promise<DeadInstance[]> {
  const now = deps.clock.now();
  const live = await deps.db.select().from(engineInstances).where(and(isNull(engineInstances.stoppedAt), ne(engineInstances.id, deps.settings.instanceId)));
  const dead = live.flatMap((instance) => {
    const verdict = judge(instance.id, instance);
    return verdict.dead ? [{ instance, why: verdict.why }] : [];
  });
  if (dead.length === 0) return [];
  // A lapsed lease is checked again in the statement: a renewal that landed meanwhile wins.
  const certain = dead.filter((d) => d.why !== 'lease_lapsed').map((d) => d.instance.id);
  const declared = await deps.db
    .update(engineInstances)
    .set({ stoppedAt: now })
    .where(
      and(
        inArray(engineInstances.id, dead.map((d) => d.instance.id)),
        isNull(engineInstances.stoppedAt),
        or(lte(engineInstances.leaseExpiresAt, now), ...(certain.length > 0 ? [inArray(engineInstances.id, certain)] : [])),
      ),
    )
    .returning({ id: engineInstances.id });
  const ids = new Set(declared.map((row) => row.id));
  return dead.filter((d) => ids.has(d.instance.id));
}

/**
 * Runs matching `where` that nobody executes any more: their owner instance is dead (stopped, or
 * declared dead by declareDeadInstances), or this instance owns them without a handle
 * (activeRunIds) since the grace period.
 */
export async function findUnownedRuns(deps: EngineDeps, activeRunIds: ReadonlySet<string>, where: SQL): Promise<OrphanCandidate[]> {
  const now = deps.clock.now();
  const self = deps.settings.instanceId;
  const rows = await deps.db
    .select({ run: heartbeatRuns, adapterType: agents.adapterType, agentName: agents.name, owner: engineInstances })
    .from(heartbeatRuns)
    .innerJoin(agents, eq(agents.id, heartbeatRuns.agentId))
    .leftJoin(engineInstances, eq(engineInstances.id, heartbeatRuns.ownerInstanceId))
    .where(
      and(
        where,
        or(
          isNull(heartbeatRuns.ownerInstanceId),
          isNull(engineInstances.id),
          isNotNull(engineInstances.stoppedAt),
          and(eq(heartbeatRuns.ownerInstanceId, self), sql`${heartbeatRuns.updatedAt} < ${new Date(now.getTime() - OWN_RUN_GRACE_MS).toISOString()}::timestamptz`),
        ),
      ),
    );
  return rows
    .filter((row) => !activeRunIds.has(row.run.id))
    .map((row) => ({ run: row.run, adapterType: row.adapterType, agentName: row.agentName, owner: row.owner, ownerDead: row.run.ownerInstanceId !== self }));
}

/** The runs `runIds` that are still running, as runs to reap (their executor stopped: a shutdown). */
export async function runningRunsById(deps: EngineDeps, runIds: string[], lostBecause: string): Promise<OrphanCandidate[]> {
  if (runIds.length === 0) return [];
  const rows = await deps.db
    .select({ run: heartbeatRuns, adapterType: agents.adapterType, agentName: agents.name })
    .from(heartbeatRuns)
    .innerJoin(agents, eq(agents.id, heartbeatRuns.agentId))
    .where(and(inArray(heartbeatRuns.id, runIds), eq(heartbeatRuns.status, 'running')));
  return rows.map((row) => ({ ...row, owner: null, ownerDead: true, lostBecause }));
}

export function findOrphanedRuns(deps: EngineDeps, activeRunIds: ReadonlySet<string>): Promise<OrphanCandidate[]> {
  return findUnownedRuns(deps, activeRunIds, eq(heartbeatRuns.status, 'running'));
}

/**
 * Runs cancelled while running whose executor is gone: that executor would have stopped the
 * process, recorded what it left and settled the run (execution/execute-run.ts finish); the reaper
 * does it.
 */
export function findAbandonedCancels(deps: EngineDeps, activeRunIds: ReadonlySet<string>): Promise<OrphanCandidate[]> {
  return findUnownedRuns(deps, activeRunIds, and(eq(heartbeatRuns.status, 'cancelled'), isNull(heartbeatRuns.settledAt))!);
}

/**
 * Runs finished (succeeded, failed, timed out: a cancel's are findAbandonedCancels') whose owner died
 * between their finish and their settle, so that their follow-up (§6.4 step 8, or the reaper's
 * release of a lost run) will never be written by it (§6.11-K). Every such run has an owner: it was
 * claimed (a run the engine ends without a claim is settled at once). The conditions are spelled out,
 * not parameters, so that the partial index runs_finished_unsettled_idx serves the statement, which
 * every reaper pass runs: it reads only the runs between their finish and their settle.
 */
export function findAbandonedFollowUps(deps: EngineDeps, activeRunIds: ReadonlySet<string>): Promise<OrphanCandidate[]> {
  return findUnownedRuns(
    deps,
    activeRunIds,
    sql`${heartbeatRuns.status} in ('succeeded', 'failed', 'timed_out') and ${heartbeatRuns.settledAt} is null and ${heartbeatRuns.ownerInstanceId} is not null`,
  );
}

