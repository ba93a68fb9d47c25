// The bookkeeping floor, a reference for the throughput scenario: the rows a Heartbeat drain
// writes for a no-op run, written by bare SQL with no engine at all. Each of two connections (one
// per core) takes the 500 oldest queued runs at a time and writes, in two transactions, what the
// engine writes around an execution (its agents as many as the drain's): the claim and the finish
// of lib/run-bookkeeping.ts, which the peers that keep these rows write too.
// Nothing is decided: no concurrency limit is counted, no evidence read, no row mapped, no event
// published. Its rate is the most any engine could drain while keeping these rows, on this machine:
// the ceiling Heartbeat's drain is measured against, next to the peers, which write one row a job.
import postgres from 'postgres';
import { fillQueuedRuns } from '../lib/heartbeat.ts';
import { checkRunBookkeeping, claimRunsSql, createAgents, FINISH_AGENTS, FINISH_RUNS } from '../lib/run-bookkeeping.ts';
import type { ScenarioContext } from '../lib/scenario.ts';
import { nowMs } from '../lib/stats.ts';

/** Runs a statement writes: graphile-worker's local queue in its batched mode takes as many. */
export const FLOOR_BATCH = 500;
/** One connection per core of the bench machine. */
export const FLOOR_CONNECTIONS = 2;

/** What one bookkeeping floor writes: its agents' config, its queue, one batch of its drain, a final check. */
export interface FloorDrain {
  /** The company's name. */
  name: string;
  /** The agents' adapter config. */
  adapterConfig: unknown;
  fill(sql: postgres.Sql, input: { companyId: string; agentIds: string[]; count: number }): Promise<void>;
  /** Claims and finishes the next batch of queued runs as `instanceId`; how many (0: the queue is empty). */
  batch(sql: postgres.Sql, instanceId: string): Promise<number>;
  /** Throws when the drained database lacks what the drain should have written. */
  check?(sql: postgres.Sql, jobs: number): Promise<void>;
}

/**
 * Drains `jobs` queued runs of `agentCount` agents in a fresh Heartbeat database with bare SQL,
 * `drain` saying what is written; jobs/s, and what `startCosts` counted over the drain.
 */
export async function floorRound<C>(
  ctx: ScenarioContext,
  jobs: number,
  agentCount: number,
  drain: FloorDrain,
  startCosts: () => Promise<(jobs: number) => Promise<C>>,
): Promise<{ rate: number; costs: C }> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const sql = postgres(database.url, { max: FLOOR_CONNECTIONS, onnotice: () => {} });
  try {
    const { companyId, agentIds } = await createAgents(sql, { name: drain.name, count: agentCount, adapterConfig: drain.adapterConfig });
    await drain.fill(sql, { companyId, agentIds, count: jobs });
    const instanceId = crypto.randomUUID();
    const stopCosts = await startCosts();
    const t0 = nowMs();
    let drained = 0;
    await Promise.all(
      Array.from({ length: FLOOR_CONNECTIONS }, async () => {
        for (let n = await drain.batch(sql, instanceId); n > 0; n = await drain.batch(sql, instanceId)) drained += n;
      }),
    );
    const rate = jobs / ((nowMs() - t0) / 1000);
    const costs = await stopCosts(jobs);
    if (drained !== jobs) throw new Error(`${drain.name} drained ${drained} of ${jobs} runs`);
    await drain.check?.(sql, jobs);
    return { rate, costs };
  } finally {
    await sql.end({ timeout: 5 });
    await database.drop();
  }
}

/** The floor of the drain without issues. */
export function bookkeepingFloorRound<C>(ctx: ScenarioContext, jobs: number, agentCount: number, startCosts: () => Promise<(jobs: number) => Promise<C>>) {
  const drain: FloorDrain = {
    name: 'Bench floor',
    adapterConfig: { steps: [] },
    fill: fillQueuedRuns,
    batch: async (sql, instanceId) => {
      const ids = await claimBatch(sql, instanceId);
      if (ids.length > 0) await finishBatch(sql, ids);
      return ids.length;
    },
    check: checkRunBookkeeping,
  };
  return floorRound(ctx, jobs, agentCount, drain, startCosts);
}

/** The oldest queued runs, FLOOR_BATCH ($2) at a time, each connection its own. */
const CLAIM_OLDEST = claimRunsSql(`
      select id from heartbeat_runs where status = 'queued' order by created_at, id limit $2 for update skip locked`);

async function claimBatch(sql: postgres.Sql, instanceId: string): Promise<string[]> {
  const rows = await sql.begin((tx) => tx.unsafe<{ id: string }[]>(CLAIM_OLDEST, [instanceId, FLOOR_BATCH], { prepare: true }));
  return rows.map((row) => row.id);
}

async function finishBatch(sql: postgres.Sql, ids: string[]): Promise<void> {
  await sql.begin((tx) => tx.unsafe(FINISH_RUNS, [ids], { prepare: true }));
}

/** The agents' part of a floor's finish (FINISH_AGENTS), for the issue floor's own finish. */
export const finishAgents = (tx: postgres.TransactionSql) => tx.unsafe(FINISH_AGENTS);
