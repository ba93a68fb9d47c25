// Throughput: N no-op jobs already queued, drained by one instance; jobs/s from the moment the
// workers start until the last job is durably finished.
// - Heartbeat: `script` runs with no steps, each with the full bookkeeping (wakeup request, claim
//   under the agent's limit, run row, lifecycle events, liveness classification, agent status and
//   runtime state, settle). Finished = settled. The queue is filled with the rows enqueueWakeup
//   writes (a queued wakeup linked to a queued run, the same context), in bulk like the peers'.
// - graphile-worker / pg-boss: a no-op task; finished = the job is gone from (graphile-worker)
//   or completed in (pg-boss) their table. Measured with their batching features on (their
//   documented high-throughput settings) and, for graphile-worker, also in its default mode.
// - Reference (bare-sql): Heartbeat's rows with no engine (bookkeeping-floor.ts).
// Also measured: single enqueues per second (one job per call, 16 callers), for all three.
import { createBenchEngine, fillQueuedRuns } from '../lib/heartbeat.ts';
import { graphileWorker, pgBoss, type PeerHandle } from '../lib/peers.ts';
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

const DRAIN_BATCHED = 'drain (peers with their batching on)';
const DRAIN_DEFAULT = 'drain (graphile-worker in its default mode)';
const ENQUEUE = `enqueue, one job per call, ${CALLERS} callers`;

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
    const done = new Promise<void>((resolve) => {
      bench.onSettled = () => {
        if (bench.settled.size >= jobs) resolve();
      };
    });
    const stopCosts = await startDrainCosts(ctx);
    const t0 = nowMs();
    await bench.start();
    await done;
    const rate = jobs / ((nowMs() - t0) / 1000);
    const costs = await stopCosts(jobs);
    const [row] = await bench.connection.sql<{ ok: number; total: number }[]>`
      select count(*) filter (where status = 'succeeded' and settled_at is not null)::int as ok, count(*)::int as total from heartbeat_runs`;
    if (row.ok !== jobs || row.total !== jobs) throw new Error(`expected ${jobs} settled runs, found ${row.ok} of ${row.total}`);
    return { rate, enqueueRate: enqueueRateValue, costs };
  } finally {
    await bench.close();
    await database.drop();
  }
}

type PeerMode = 'batched' | 'default';

async function peerRound(ctx: ScenarioContext, system: System, mode: PeerMode, jobs: number, enqueues: number): Promise<RoundResult> {
  const database = await ctx.pg.createDatabase(system.replace('-', '_'));
  let peer: PeerHandle | null = null;
  try {
    peer =
      system === 'graphile-worker'
        ? await graphileWorker({
            url: database.url,
            concurrency: CONCURRENCY,
            localQueueSize: mode === 'batched' ? 500 : -1,
            completeJobBatchDelay: mode === 'batched' ? 0 : -1,
            poolSize: POOL,
          })
        : await pgBoss({ url: database.url, batchSize: 100, localConcurrency: 4, poolSize: POOL, notify: false });
    const handle = peer;
    const enqueueRateValue = await enqueueRate(enqueues, (i) => handle.add(i));
    await handle.addBulk(enqueues, jobs);
    const stopCosts = await startDrainCosts(ctx);
    const t0 = nowMs();
    await handle.start();
    await until(`${system} handlers`, () => handle.handled() >= jobs, 600_000, 5);
    await until(`${system} completions`, async () => (await handle.remaining()) === 0, 60_000, 5);
    const rate = jobs / ((nowMs() - t0) / 1000);
    return { rate, enqueueRate: enqueueRateValue, costs: await stopCosts(jobs) };
  } finally {
    await peer?.close();
    await database.drop();
  }
}

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
      for (const [system, mode] of [['graphile-worker', 'batched'], ['pg-boss', 'batched'], ['graphile-worker', 'default']] as const) {
        const peer = await peerRound(ctx, system, mode, jobs, enqueues);
        ctx.results.record(SCENARIO, mode === 'batched' ? DRAIN_BATCHED : DRAIN_DEFAULT, 'jobs/s', 'higher', system, peer.rate);
        if (mode === 'batched') ctx.results.record(SCENARIO, ENQUEUE, 'jobs/s', 'higher', system, peer.enqueueRate);
        recordCosts(ctx, mode === 'batched' ? DRAIN_BATCHED : DRAIN_DEFAULT, system, peer.costs);
        ctx.log(`${SCENARIO} round ${round}: ${system} (${mode}) ${peer.rate.toFixed(0)} jobs/s (enqueue ${peer.enqueueRate.toFixed(0)}/s; ${describeCosts(peer.costs)})`);
      }
      const floor = await bookkeepingFloorRound(ctx, jobs, AGENTS, () => startDrainCosts(ctx));
      ctx.results.record(SCENARIO, DRAIN_BATCHED, 'jobs/s', 'higher', 'bare-sql', floor.rate);
      recordCosts(ctx, DRAIN_BATCHED, 'bare-sql', floor.costs);
      ctx.log(`${SCENARIO} round ${round}: Heartbeat's rows in bare SQL ${floor.rate.toFixed(0)} jobs/s (${describeCosts(floor.costs)})`);
    }
  },
};
