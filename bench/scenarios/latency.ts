// Latency at a steady rate: jobs enqueued one at a time at 200/s (none waiting behind a limit),
// enqueue -> run started (the adapter / handler is called) and, for Heartbeat, enqueue -> run
// finished (its terminal status committed and published), p50/p95/p99 in ms.
import { createBenchEngine } from '../lib/heartbeat.ts';
import { graphileWorker, pgBoss, type PeerHandle } from '../lib/peers.ts';
import type { System } from '../lib/results.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { latencySummary, nowMs, sleep, until } from '../lib/stats.ts';

const SCENARIO = 'latency';
const RATE = 200;
const POOL = 10;
const AGENTS = 20;
const PER_AGENT = 10;

/** Calls `fire(i)` for i = 0..count-1 at `rate` per second, on schedule (not waiting for the previous). */
async function steady(count: number, rate: number, fire: (i: number) => Promise<void>): Promise<void> {
  const start = nowMs();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    pending.push(fire(i));
  }
  await Promise.all(pending);
}

function record(ctx: ScenarioContext, system: System, metric: string, samples: number[]): void {
  const { p50, p95, p99 } = latencySummary(samples);
  ctx.results.record(SCENARIO, `${metric} p50`, 'ms', 'lower', system, p50);
  ctx.results.record(SCENARIO, `${metric} p95`, 'ms', 'lower', system, p95);
  ctx.results.record(SCENARIO, `${metric} p99`, 'ms', 'lower', system, p99);
}

async function heartbeatRound(ctx: ScenarioContext, count: number, warmup: number): Promise<void> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const bench = await createBenchEngine({ url: database.url, agents: AGENTS, maxConcurrentRuns: PER_AGENT, poolSize: POOL });
  try {
    await bench.start();
    const enqueued = new Map<string, number>();
    const calls: number[] = [];
    const wake = async (i: number, measured: boolean) => {
      const t0 = nowMs();
      const result = await bench.engine.enqueueWakeup({
        companyId: bench.companyId,
        agentId: bench.agentIds[i % AGENTS],
        reason: 'bench',
        payload: { taskKey: `latency-${measured ? 'm' : 'w'}-${i}` },
      });
      if (!result.run) throw new Error(`wakeup ${i} was ${result.outcome}`);
      if (measured) {
        enqueued.set(result.run.id, t0);
        calls.push(nowMs() - t0);
      }
    };
    await steady(warmup, RATE, (i) => wake(i, false));
    await until('warm-up runs to settle', () => bench.settled.size >= warmup, 60_000);
    await steady(count, RATE, (i) => wake(i, true));
    await until('measured runs to settle', () => bench.settled.size >= warmup + count, 120_000);
    const started: number[] = [];
    const finished: number[] = [];
    for (const [runId, t0] of enqueued) {
      started.push(bench.started.get(runId)! - t0);
      finished.push(bench.finished.get(runId)! - t0);
    }
    record(ctx, 'heartbeat', 'enqueue -> started', started);
    record(ctx, 'heartbeat', 'enqueue -> finished', finished);
    record(ctx, 'heartbeat', 'enqueue call', calls);
    ctx.log(`${SCENARIO}: heartbeat started p50 ${latencySummary(started).p50.toFixed(2)} ms, finished p50 ${latencySummary(finished).p50.toFixed(2)} ms`);
  } finally {
    await bench.close();
    await database.drop();
  }
}

async function peerRound(ctx: ScenarioContext, system: System, count: number, warmup: number): Promise<void> {
  const database = await ctx.pg.createDatabase(system.replace('-', '_'));
  let peer: PeerHandle | null = null;
  try {
    // Their low-latency settings: no local batching; new jobs wake the workers through NOTIFY.
    peer =
      system === 'graphile-worker'
        ? await graphileWorker({ url: database.url, concurrency: AGENTS * PER_AGENT, localQueueSize: -1, completeJobBatchDelay: -1, poolSize: POOL })
        : await pgBoss({ url: database.url, batchSize: 1, localConcurrency: 10, poolSize: POOL, notify: true });
    const handle = peer;
    await handle.start();
    const added = new Map<number, number>();
    const calls: number[] = [];
    const add = async (i: number, measured: boolean) => {
      const t0 = nowMs();
      await handle.add(i);
      if (measured) {
        added.set(i, t0);
        calls.push(nowMs() - t0);
      }
    };
    await steady(warmup, RATE, (i) => add(1_000_000 + i, false));
    await until(`${system} warm-up`, () => handle.handled() >= warmup, 60_000);
    await steady(count, RATE, (i) => add(i, true));
    await until(`${system} measured jobs`, () => handle.handled() >= warmup + count, 120_000);
    const started = [...added].map(([i, t0]) => handle.started.get(i)! - t0);
    record(ctx, system, 'enqueue -> started', started);
    record(ctx, system, 'enqueue call', calls);
    ctx.log(`${SCENARIO}: ${system} started p50 ${latencySummary(started).p50.toFixed(2)} ms`);
  } finally {
    await peer?.close();
    await database.drop();
  }
}

export const latencyScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const count = ctx.quick ? 200 : 2_000;
    const warmup = ctx.quick ? 50 : 200;
    ctx.results.note(
      SCENARIO,
      `${count.toLocaleString('en-US')} jobs added one at a time at a steady ${RATE}/s after ${warmup} warm-up jobs; started = the adapter / handler is called. ` +
        `Heartbeat: ${AGENTS} script agents x maxConcurrentRuns ${PER_AGENT}, in-process engine.enqueueWakeup (the API's mutation minus HTTP); finished = terminal status committed. ` +
        `graphile-worker: concurrency ${AGENTS * PER_AGENT}, no local queue (LISTEN/NOTIFY wake-up). pg-boss: useListenNotify + queue notify, batchSize 1, localConcurrency 10, polling every 0.5 s behind NOTIFY.`,
    );
    for (let round = 1; round <= ctx.rounds; round++) {
      await heartbeatRound(ctx, count, warmup);
      for (const system of ['graphile-worker', 'pg-boss'] as const) await peerRound(ctx, system, count, warmup);
    }
  },
};
