// The engines people would pick instead, driven the same way: graphile-worker and pg-boss, each on
// a fresh database of the bench's PostgreSQL, with a no-op handler.
import { EventEmitter } from 'node:events';
import { Logger, makeWorkerUtils, run, runMigrations, type Runner, type TaskList, type WorkerEvents } from 'graphile-worker';
import { PgBoss } from 'pg-boss';
import pg from 'pg';
import postgres from 'postgres';
import { nowMs } from './stats.ts';

const silentGraphileLogger = new Logger(() => () => {});

export interface GraphileOptions {
  url: string;
  concurrency: number;
  /** localQueue.size (batch fetching); -1 disables it. */
  localQueueSize: number;
  /** completeJobBatchDelay (batch completion) in ms; -1 disables it. */
  completeJobBatchDelay: number;
  poolSize: number;
}

/** What a drain needs of a peer. */
export interface DrainPeer {
  /** How many jobs handled so far. */
  handled(): number;
  /** Enqueue jobs `from` .. `to - 1` in bulk (one statement per chunk). */
  addBulk(from: number, to: number): Promise<void>;
  /** Enqueue one job; resolves once it is committed. */
  add(i: number): Promise<void>;
  /** Jobs not yet durably finished. */
  remaining(): Promise<number>;
  /** Starts the workers. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface PeerHandle extends DrainPeer {
  /** When each job's handler started (ms, see nowMs), by the job's `i`. */
  started: Map<number, number>;
}

/** Jobs `from`..`to` - 1 added 1,000 at a time, one call each, in order. */
export async function inChunks(from: number, to: number, add: (ids: number[]) => Promise<unknown>): Promise<void> {
  for (let i = from; i < to; i += 1_000) {
    await add(Array.from({ length: Math.min(to, i + 1_000) - i }, (_, k) => i + k));
  }
}

/**
 * graphile-worker's workers as every graphile peer of the bench runs them: `options`' concurrency
 * and batching, polling once a second (jobs are woken by its LISTEN), signals left to the bench.
 */
export function runGraphileWorkers(base: { pgPool: pg.Pool; logger: Logger }, options: GraphileOptions, taskList: TaskList): Promise<Runner> {
  const events: WorkerEvents = new EventEmitter();
  return run({
    ...base,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: 1_000,
    events,
    taskList,
    preset: {
      worker: {
        ...(options.localQueueSize > 1 ? { localQueue: { size: options.localQueueSize } } : {}),
        completeJobBatchDelay: options.completeJobBatchDelay,
      },
    },
  });
}

export async function graphileWorker(options: GraphileOptions): Promise<PeerHandle> {
  // Our own pool, so that idle connections dropped with the database do not crash the process.
  const pgPool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
  pgPool.on('error', () => {});
  pgPool.on('connect', (client) => client.on('error', () => {}));
  const base = { pgPool, logger: silentGraphileLogger };
  await runMigrations(base);
  const utils = await makeWorkerUtils(base);
  const started = new Map<number, number>();
  let handled = 0;
  let runner: Runner | null = null;
  return {
    started,
    handled: () => handled,
    addBulk: (from, to) => inChunks(from, to, (ids) => utils.addJobs(ids.map((i) => ({ identifier: 'noop', payload: { i } })))),
    add: async (i) => {
      await utils.addJob('noop', { i });
    },
    remaining: () =>
      utils.withPgClient(async (client) => Number((await client.query('select count(*) as n from graphile_worker.jobs')).rows[0].n)),
    start: async () => {
      runner = await runGraphileWorkers(base, options, {
        noop: async (payload) => {
          started.set((payload as { i: number }).i, nowMs());
          handled += 1;
        },
      });
    },
    close: async () => {
      await runner?.stop();
      await utils.release();
      await pgPool.end();
    },
  };
}

export interface PgBossOptions {
  url: string;
  /** Jobs fetched per worker fetch. */
  batchSize: number;
  /** Workers polling the queue in this process. */
  localConcurrency: number;
  poolSize: number;
  /** Wake workers with LISTEN/NOTIFY on send (low latency) instead of polling only. */
  notify: boolean;
}

const QUEUE = 'noop';

export async function pgBoss(options: PgBossOptions): Promise<PeerHandle> {
  const boss = new PgBoss({ connectionString: options.url, max: options.poolSize, schedule: false, supervise: false, useListenNotify: options.notify });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue(QUEUE, { notify: options.notify });
  const counter = postgres(options.url, { max: 1, onnotice: () => {} });
  const started = new Map<number, number>();
  let handled = 0;
  return {
    started,
    handled: () => handled,
    addBulk: (from, to) => inChunks(from, to, (ids) => boss.insert(QUEUE, ids.map((i) => ({ data: { i } })))),
    add: async (i) => {
      await boss.send(QUEUE, { i });
    },
    remaining: async () => {
      const [{ n }] = await counter<{ n: number }[]>`select count(*)::int as n from pgboss.job where name = ${QUEUE} and state <> 'completed'`;
      return n;
    },
    start: async () => {
      await boss.work<{ i: number }>(
        QUEUE,
        {
          batchSize: options.batchSize,
          localConcurrency: options.localConcurrency,
          pollingIntervalSeconds: 0.5,
          // With NOTIFY on, pg-boss polls only every 30 s by default, and a worker busy fetching when
          // a job's NOTIFY arrives misses it: jobs then wait out the 30 s. Its backstop poll is the base one.
          notifyPollingIntervalSeconds: 0.5,
          burstWhenBatchFull: options.batchSize > 1,
        },
        async (jobs) => {
          const at = nowMs();
          for (const job of jobs) started.set(job.data.i, at);
          handled += jobs.length;
        },
      );
    },
    close: async () => {
      await boss.stop({ graceful: true, timeout: 5_000 });
      await counter.end({ timeout: 5 });
    },
  };
}
