// Heartbeat's engine in this process, over a bench database: a company, script agents with no
// steps (no-op runs that still get the full bookkeeping: wakeup, claim, run, events, liveness,
// agent status, settle) and probes on the adapter and on the live-event bus.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type postgres from 'postgres';
import { connectDatabase, type DatabaseConnection } from '../../db/client.ts';
import { agents, companies } from '../../db/schema.ts';
import { scriptAdapter } from '../../engine/index.ts';
import type { Adapter } from '../../engine/index.ts';
import { Engine, PIPELINE_CONNECTIONS } from '../../engine/index.ts';
import { type DrainCosts, startDrainCosts } from './drain-costs.ts';
import { INSERT_QUEUED_RUNS, queuedRunsParams } from './run-bookkeeping.ts';
import type { ScenarioContext } from './scenario.ts';
import { nowMs } from './stats.ts';

export interface BenchEngineOptions {
  url: string;
  agents: number;
  maxConcurrentRuns: number;
  /** Connections of the engine in all, its run pipeline's among them. */
  poolSize: number;
  tickIntervalMs?: number;
  /** The agents' script (default: no steps, a no-op run). */
  adapterConfig?: { steps: unknown[] };
  /** Sees every statement the engine's connection sends through drizzle. */
  onQuery?: (query: string) => void;
}

export interface BenchEngine {
  engine: Engine;
  connection: DatabaseConnection;
  companyId: string;
  agentIds: string[];
  /** When the adapter was handed each run (ms, see nowMs). */
  started: Map<string, number>;
  /** When each run's terminal status was committed and published. */
  finished: Map<string, number>;
  /** When each run was settled (all follow-up work done). */
  settled: Map<string, number>;
  /** Called on every settle, after it is recorded. */
  onSettled: ((runId: string) => void) | null;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function createBenchEngine(options: BenchEngineOptions): Promise<BenchEngine> {
  // The pool the scenario gives, shared as the server shares its connections: the run pipeline's
  // group commits on PIPELINE_CONNECTIONS of them (EngineOptions.pipelineDb), the rest for the engine's
  // other work. A pool too small to share is the engine's alone.
  const pipelineSize = options.poolSize > 2 * PIPELINE_CONNECTIONS ? PIPELINE_CONNECTIONS : 0;
  const connection = connectDatabase(options.url, { max: options.poolSize - pipelineSize, applicationName: 'heartbeat-bench', onQuery: options.onQuery });
  const pipeline = pipelineSize > 0 ? connectDatabase(options.url, { max: pipelineSize, applicationName: 'heartbeat-bench-pipeline', onQuery: options.onQuery }) : null;
  const logDir = await mkdtemp(join(tmpdir(), 'heartbeat-bench-logs-'));
  const [company] = await connection.db.insert(companies).values({ name: 'Bench' }).returning();
  const rows = await connection.db
    .insert(agents)
    .values(
      Array.from({ length: options.agents }, (_, i) => ({
        companyId: company.id,
        name: `bench-${i}`,
        adapterType: 'script' as const,
        adapterConfig: options.adapterConfig ?? { steps: [] },
        runtimeConfig: { heartbeat: { maxConcurrentRuns: options.maxConcurrentRuns, wakeOnDemand: true } },
      })),
    )
    .returning({ id: agents.id });

  const started = new Map<string, number>();
  const finished = new Map<string, number>();
  const settled = new Map<string, number>();
  const observed: Adapter<unknown> = {
    ...(scriptAdapter as Adapter<unknown>),
    execute(execution) {
      started.set(execution.runId, nowMs());
      return scriptAdapter.execute(execution as never);
    },
  };
  const engine = new Engine({
    db: connection.db,
    sql: connection.sql,
    logger: pino({ level: 'silent' }),
    logDir,
    adapters: { script: observed },
    pipelineDb: pipeline?.db,
    maxConcurrentRunsLimit: Math.max(10, options.maxConcurrentRuns),
    tickIntervalMs: options.tickIntervalMs ?? 1_000,
    shutdownGraceMs: 5_000,
  });
  const bench: BenchEngine = {
    engine,
    connection,
    companyId: company.id,
    agentIds: rows.map((r) => r.id),
    started,
    finished,
    settled,
    onSettled: null,
    start: () => engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' }),
    close: async () => {
      await engine.stop();
      await connection.close();
      await pipeline?.close();
      await rm(logDir, { recursive: true, force: true });
    },
  };
  engine.deps.bus.subscribe((event) => {
    if (event.type !== 'heartbeat.run.status') return;
    if (event.state.settledAt !== null) {
      if (!settled.has(event.runId)) {
        settled.set(event.runId, nowMs());
        bench.onSettled?.(event.runId);
      }
    } else if (event.state.finishedAt !== null && !finished.has(event.runId)) {
      finished.set(event.runId, nowMs());
    }
  });
  return bench;
}

/**
 * Fills the queue in bulk with the rows enqueueWakeup writes for a plain wakeup: a queued wakeup
 * linked to a queued run with the same context, spread over the agents in turn.
 */
export async function fillQueuedRuns(sql: postgres.Sql, input: { companyId: string; agentIds: string[]; count: number }): Promise<void> {
  await sql.unsafe(INSERT_QUEUED_RUNS, queuedRunsParams({ ...input, from: 0 }));
}

/**
 * Starts the engine on its filled queue and waits until `jobs` runs are settled: jobs/s from the
 * start, and what the drain cost (drain-costs.ts).
 */
export async function timedDrain(ctx: ScenarioContext, bench: BenchEngine, jobs: number, label = 'heartbeat'): Promise<{ rate: number; costs: DrainCosts }> {
  const done = new Promise<void>((resolve) => {
    bench.onSettled = () => {
      if (bench.settled.size >= jobs) resolve();
    };
  });
  const stopCosts = await startDrainCosts(ctx, label);
  const t0 = nowMs();
  await bench.start();
  await done;
  const rate = jobs / ((nowMs() - t0) / 1000);
  return { rate, costs: await stopCosts(jobs) };
}
