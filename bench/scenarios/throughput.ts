// Throughput: N no-op jobs already queued, drained by one instance; jobs/s from the moment the
// workers start until the last job is durably finished.
// - Heartbeat: `script` runs with no steps, each with the full bookkeeping (wakeup request, claim
//   under the agent's limit, run row, lifecycle events, liveness classification, agent status and
//   runtime state, settle). Finished = settled. The queue is filled with the rows enqueueWakeup
//   writes (a queued wakeup linked to a queued run, the same context), in bulk like the peers'.
// - graphile-worker / pg-boss: a no-op task; finished = the job is gone from (graphile-worker)
//   or completed in (pg-boss) their table. Measured with their batching features on (their
//   documented high-throughput settings) and, for graphile-worker, also in its default mode.
// - graphile-worker / pg-boss keeping Heartbeat's rows: the same jobs, where the application writes
//   the rows Heartbeat keeps for a run around each job (lib/bookkeeping-peers.ts): the wakeup and
//   the queued run with the job, the claim and the finish in the handler. Finished = the job
//   finished and its rows written, checked after the drain.
// - Reference (bare-sql): Heartbeat's rows with no engine (bookkeeping-floor.ts).
// Also measured: single enqueues per second (one job per call, 16 callers), for all three, and for
// the peers keeping Heartbeat's rows (the job, the wakeup and the queued run in one transaction).
import postgres from 'postgres';
import { graphileWorkerKeepingRuns, pgBossKeepingRuns } from '../lib/bookkeeping-peers.ts';
import { createBenchEngine, fillQueuedRuns, timedDrain } from '../lib/heartbeat.ts';
import { type DrainPeer, graphileWorker, pgBoss } from '../lib/peers.ts';
import { checkRunBookkeeping, createAgents } from '../lib/run-bookkeeping.ts';
import type { System } from '../lib/results.ts';
import { type DrainCosts, startDrainCosts } from '../lib/drain-costs.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { bookkeepingFloorRound, FLOOR_BATCH, FLOOR_CONNECTIONS } from './bookkeeping-floor.ts';
import { nowMs, until } from '../lib/stats.ts';

const SCENARIO = 'throughput';
const POOL = 10;
/** Heartbeat: agents x per-agent limit = runs in flight. */
const AGENTS = 40;
const PER_AGENT = 5;
/** Peers: jobs in flight. */
const CONCURRENCY = AGENTS * PER_AGENT;
const CALLERS = 16;

// Named in lib/targets.ts too.
const DRAIN_BATCHED = 'drain (peers with their batching on)';
const DRAIN_DEFAULT = 'drain (graphile-worker in its default mode)';
const DRAIN_KEEPING_RUNS = "drain, peers writing Heartbeat's rows in their handler, set-based (batching on)";
const ENQUEUE = `enqueue, one job per call, ${CALLERS} callers`;
const ENQUEUE_KEEPING_RUNS = `enqueue with Heartbeat's wakeup and queued run in the job's transaction, one job per call, ${CALLERS} callers`;

function recordCosts(ctx: ScenarioContext, drain: string, system: System, costs: DrainCosts): void {
  if (costs.workerCpu !== undefined) ctx.results.record(SCENARIO, `${drain}: CPU per job, worker process`, 'ms', 'lower', system, costs.workerCpu);
  if (costs.postgresCpu !== undefined) ctx.results.record(SCENARIO, `${drain}: CPU per job, PostgreSQL`, 'ms', 'lower', system, costs.postgresCpu);
  ctx.results.record(SCENARIO, `${drain}: WAL per job`, 'bytes', 'lower', system, costs.walBytes);
}

const describeCosts = (c: DrainCosts) =>
  `CPU ms/job worker ${c.workerCpu?.toFixed(3) ?? '-'}, PostgreSQL ${c.postgresCpu?.toFixed(3) ?? '-'}; WAL ${c.walBytes.toFixed(0)} B/job`;

/** Calls `enqueue(i)` for i < count from CALLERS concurrent callers; returns calls per second. */
async function enqueueRate(count: number, enqueue: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = nowMs();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < count) await enqueue(next++);
    }),
  );
  return count / ((nowMs() - t0) / 1000);
}

type RoundResult = { rate: number; enqueueRate: number; costs: DrainCosts };

export async function heartbeatRound(ctx: ScenarioContext, jobs: number, enqueues: number): Promise<RoundResult> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const bench = await createBenchEngine({ url: database.url, agents: AGENTS, maxConcurrentRuns: PER_AGENT, poolSize: POOL });
  try {
    // Single enqueues through the engine (not started: they queue), then the bulk fill.
    const enqueueRateValue = await enqueueRate(enqueues, async (i) => {
      const result = await bench.engine.enqueueWakeup({ companyId: bench.companyId, agentId: bench.agentIds[i % AGENTS], reason: 'bench', payload: { taskKey: `single-${i}` } });
      if (result.outcome !== 'queued') throw new Error(`wakeup ${i} was ${result.outcome}`);
    });
    await fillQueuedRuns(bench.connection.sql, { companyId: bench.companyId, agentIds: bench.agentIds, count: jobs - enqueues });
    const { rate, costs } = await timedDrain(ctx, bench, jobs, 'heartbeat without issues');
    const [row] = await bench.connection.sql<{ ok: number; total: number }[]>`
      select count(*) filter (where status = 'succeeded' and settled_at is not null)::int as ok, count(*)::int as total from heartbeat_runs`;
    if (row.ok !== jobs || row.total !== jobs) throw new Error(`expected ${jobs} settled runs, found ${row.ok} of ${row.total}`);
    return { rate, enqueueRate: enqueueRateValue, costs };
  } finally {
    await bench.close();
    await database.drop();
  }
}

/**
 * batched: the peer's batching on (graphile-worker's local queue and batched completion, pg-boss's
 * batches); default: graphile-worker with neither; keeping runs: batched, with Heartbeat's rows
 * written around each job, set-based (lib/bookkeeping-peers.ts).
 */
type PeerMode = 'batched' | 'default' | 'keeping runs';

/** A peer on a fresh database of its own, and what to check once it has drained. */
interface OpenPeer {
  peer: DrainPeer;
  check?(jobs: number): Promise<void>;
  close(): Promise<void>;
}

async function openPeer(ctx: ScenarioContext, system: System, mode: PeerMode): Promise<OpenPeer> {
  const keepsRuns = mode === 'keeping runs';
  const database = keepsRuns ? await ctx.pg.createHeartbeatDatabase() : await ctx.pg.createDatabase(system.replace('-', '_'));
  const sql = postgres(database.url, { max: 1, onnotice: () => {} });
  let peer: DrainPeer | null = null;
  const close = async () => {
    await peer?.close();
    await sql.end({ timeout: 5 });
    await database.drop();
  };
  try {
    const graphile = {
      url: database.url,
      concurrency: CONCURRENCY,
      localQueueSize: mode === 'default' ? -1 : 500,
      completeJobBatchDelay: mode === 'default' ? -1 : 0,
      poolSize: POOL,
    };
    const boss = { url: database.url, batchSize: 100, localConcurrency: 4, poolSize: POOL, notify: false };
    if (!keepsRuns) {
      peer = system === 'graphile-worker' ? await graphileWorker(graphile) : await pgBoss(boss);
      return { peer, close };
    }
    const agents = await createAgents(sql, { name: 'Bench peer', count: AGENTS, adapterConfig: { steps: [] } });
    peer =
      system === 'graphile-worker'
        ? await graphileWorkerKeepingRuns(agents, graphile)
        : await pgBossKeepingRuns(agents, boss);
    return { peer, check: (jobs) => checkRunBookkeeping(sql, jobs), close };
  } catch (error) {
    await close();
    throw error;
  }
}

async function peerRound(ctx: ScenarioContext, system: System, mode: PeerMode, jobs: number, enqueues: number): Promise<RoundResult> {
  const { peer, check, close } = await openPeer(ctx, system, mode);
  try {
    const enqueueRateValue = await enqueueRate(enqueues, (i) => peer.add(i));
    await peer.addBulk(enqueues, jobs);
    const stopCosts = await startDrainCosts(ctx, `throughput: ${system}`);
    const t0 = nowMs();
    await peer.start();
    await until(`${system} handlers`, () => peer.handled() >= jobs, 600_000, 5);
    await until(`${system} completions`, async () => (await peer.remaining()) === 0, 60_000, 5);
    const rate = jobs / ((nowMs() - t0) / 1000);
    const costs = await stopCosts(jobs);
    await check?.(jobs);
    return { rate, enqueueRate: enqueueRateValue, costs };
  } finally {
    await close();
  }
}

const PEER_DRAINS = [
  ['graphile-worker', 'batched'],
  ['pg-boss', 'batched'],
  ['graphile-worker', 'default'],
  ['graphile-worker', 'keeping runs'],
  ['pg-boss', 'keeping runs'],
] as const satisfies readonly (readonly [System, PeerMode])[];

const DRAIN_OF: Record<PeerMode, string> = {
  batched: DRAIN_BATCHED,
  default: DRAIN_DEFAULT,
  'keeping runs': DRAIN_KEEPING_RUNS,
};

export const throughputScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const jobs = ctx.quick ? 500 : 20_000;
    const enqueues = ctx.quick ? 100 : 2_000;
    ctx.results.note(
      SCENARIO,
      `${jobs.toLocaleString('en-US')} no-op jobs queued before the workers start (the first ${enqueues.toLocaleString('en-US')} enqueued one per call, timed as "enqueue"; the rest in bulk), ` +
        `drained by one instance with a pool of ${POOL} connections. Heartbeat: ${AGENTS} script agents x maxConcurrentRuns ${PER_AGENT}, finished = settled. ` +
        `graphile-worker: concurrency ${CONCURRENCY}; batching on = localQueue.size 500 + completeJobBatchDelay 0; default mode = neither. ` +
        'pg-boss: batchSize 100, localConcurrency 4, burstWhenBatchFull (with batchSize 1 it is bound by its polling interval, so it has no comparable default mode). ' +
        "Peers writing Heartbeat's rows: the same settings, batching on, on a Heartbeat database; the enqueue writes the wakeup and the queued run in the job's transaction, " +
        'the handler claims its runs (one statement, committed before the agent would run) and finishes them (one statement; pg-boss: in its transactional mode, in the jobs\' own transaction with their completion). ' +
        'Set-based: pg-boss per batch handed to the handler; graphile-worker per group of handlers its local queue starts together (one job per handler). ' +
        `Reference (bare-sql): the rows Heartbeat's drain writes, written by bare SQL with no engine, ${FLOOR_BATCH} runs a statement on ${FLOOR_CONNECTIONS} connections, ${AGENTS} agents (bookkeeping-floor.ts); ` +
        'the most any engine keeping those rows could drain here. ' +
        'Costs per job, over the drain: CPU of this process (where the engine or worker runs) and of PostgreSQL (all its processes; embedded only), and WAL bytes written (every heap tuple and index entry).',
    );
    for (let round = 1; round <= ctx.rounds; round++) {
      const hb = await heartbeatRound(ctx, jobs, enqueues);
      ctx.results.record(SCENARIO, DRAIN_BATCHED, 'jobs/s', 'higher', 'heartbeat', hb.rate);
      ctx.results.record(SCENARIO, DRAIN_DEFAULT, 'jobs/s', 'higher', 'heartbeat', hb.rate);
      ctx.results.record(SCENARIO, ENQUEUE, 'jobs/s', 'higher', 'heartbeat', hb.enqueueRate);
      recordCosts(ctx, DRAIN_BATCHED, 'heartbeat', hb.costs);
      recordCosts(ctx, DRAIN_DEFAULT, 'heartbeat', hb.costs);
      ctx.log(`${SCENARIO} round ${round}: heartbeat ${hb.rate.toFixed(0)} jobs/s (enqueue ${hb.enqueueRate.toFixed(0)}/s; ${describeCosts(hb.costs)})`);
      ctx.results.record(SCENARIO, DRAIN_KEEPING_RUNS, 'jobs/s', 'higher', 'heartbeat', hb.rate);
      recordCosts(ctx, DRAIN_KEEPING_RUNS, 'heartbeat', hb.costs);
      ctx.results.record(SCENARIO, ENQUEUE_KEEPING_RUNS, 'jobs/s', 'higher', 'heartbeat', hb.enqueueRate);
      for (const [system, mode] of PEER_DRAINS) {
        const peer = await peerRound(ctx, system, mode, jobs, enqueues);
        const drain = DRAIN_OF[mode];
        ctx.results.record(SCENARIO, drain, 'jobs/s', 'higher', system, peer.rate);
        if (mode === 'batched') ctx.results.record(SCENARIO, ENQUEUE, 'jobs/s', 'higher', system, peer.enqueueRate);
        if (mode === 'keeping runs') ctx.results.record(SCENARIO, ENQUEUE_KEEPING_RUNS, 'jobs/s', 'higher', system, peer.enqueueRate);
        recordCosts(ctx, drain, system, peer.costs);
        ctx.log(`${SCENARIO} round ${round}: ${system} (${mode}) ${peer.rate.toFixed(0)} jobs/s (enqueue ${peer.enqueueRate.toFixed(0)}/s; ${describeCosts(peer.costs)})`);
      }
      const floor = await bookkeepingFloorRound(ctx, jobs, AGENTS, () => startDrainCosts(ctx, 'throughput: bare SQL'));
      ctx.results.record(SCENARIO, DRAIN_BATCHED, 'jobs/s', 'higher', 'bare-sql', floor.rate);
      recordCosts(ctx, DRAIN_BATCHED, 'bare-sql', floor.costs);
      ctx.log(`${SCENARIO} round ${round}: Heartbeat's rows in bare SQL ${floor.rate.toFixed(0)} jobs/s (${describeCosts(floor.costs)})`);
    }
  },
};
