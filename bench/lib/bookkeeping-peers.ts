// graphile-worker and pg-boss as the queue of an agent control plane a user builds on them: the job
// is the run's place in the queue, and the application writes the rows Heartbeat keeps for a run
// (lib/run-bookkeeping.ts) around it, in a Heartbeat database that also holds the peer's schema.
// - Enqueue: the wakeup request and its queued run in the same transaction as the job. Both peers
//   add a job inside the caller's transaction (graphile-worker's `add_jobs` SQL function, pg-boss's
//   `insert`/`send` with `db`), so a job never exists without its run, nor a run without its job.
// - Handler: the claim (run running, wakeup claimed, agents running, `run started`), committed before
//   the agent would run so that the run shows running meanwhile; then the finish (run succeeded
//   with liveness and settle, wakeup completed, events, agents idle with their counters).
// Each statement covers every run the handler has at once, set-based; the job's completion is the
// peer's own. Both run on the peer's own pool (the same connections as Heartbeat's drain).
import { Logger, runMigrations, type Runner } from 'graphile-worker';
import { PgBoss } from 'pg-boss';
import pg from 'pg';
import postgres from 'postgres';
import { groupWrites } from './group-writes.ts';
import type { DrainPeer, GraphileOptions, PgBossOptions } from './peers.ts';
import { inChunks, runGraphileWorkers } from './peers.ts';
import { CLAIM_RUNS, FINISH_RUNS, INSERT_QUEUED_RUNS, queuedRunsParams } from './run-bookkeeping.ts';

const silentGraphileLogger = new Logger(() => () => {});

/** The company and agents whose runs the peer queues (lib/run-bookkeeping.ts createAgents). */
export interface KeptAgents {
  companyId: string;
  agentIds: string[];
}

/** The instance that claims the runs (owner_instance_id). */
const instanceId = () => crypto.randomUUID();

const TASK = 'run';

/** Adds a graphile-worker job for each run of $1 (uuid[]), as WorkerUtils.addJobs does. */
const ADD_GRAPHILE_JOBS = `
  select count(*) from graphile_worker.add_jobs(array(
    select json_populate_record(null::graphile_worker.job_spec, json_build_object('identifier', '${TASK}', 'payload', json_build_object('runId', id)))
    from unnest($1::uuid[]) id))`;

/**
 * graphile-worker: its handler gets one job, and completes it in a statement of its own after the
 * handler (it does not hand out the job's transaction), so the handler writes its rows in its own
 * transactions: one statement each, the claim and the finish. The handlers that its local queue
 * starts together share those statements (groupWrites). Its batch jobs (an array payload, merged
 * under one job key) would hand one handler many runs, but as one job: every enqueue would
 * rewrite that one growing row, and the runs would not be jobs of their own.
 */
export async function graphileWorkerKeepingRuns(agents: KeptAgents, options: GraphileOptions): Promise<DrainPeer> {
  const pgPool = new pg.Pool({ connectionString: options.url, max: options.poolSize });
  pgPool.on('error', () => {});
  pgPool.on('connect', (client) => client.on('error', () => {}));
  const base = { pgPool, logger: silentGraphileLogger };
  await runMigrations(base);
  const owner = instanceId();
  // Named: node-postgres prepares them once per connection, as Heartbeat's statements are.
  const claim = (ids: string[]) => pgPool.query({ name: 'claim-runs', text: CLAIM_RUNS, values: [owner, ids] });
  const finish = (ids: string[]) => pgPool.query({ name: 'finish-runs', text: FINISH_RUNS, values: [ids] });
  const claimRun = groupWrites(claim);
  const finishRun = groupWrites(finish);
  const enqueue = async (from: number, count: number) => {
    const client = await pgPool.connect();
    try {
      await client.query('begin');
      const { rows } = await client.query<{ id: string }>(INSERT_QUEUED_RUNS, queuedRunsParams({ ...agents, from, count }));
      await client.query(ADD_GRAPHILE_JOBS, [rows.map((row) => row.id)]);
      await client.query('commit');
    } catch (error) {
      await client.query('rollback').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  };
  let handled = 0;
  let runner: Runner | null = null;
  return {
    handled: () => handled,
    addBulk: (from, to) => inChunks(from, to, (ids) => enqueue(ids[0], ids.length)),
    add: (i) => enqueue(i, 1),
    remaining: async () => Number((await pgPool.query('select count(*) as n from graphile_worker.jobs')).rows[0].n),
    start: async () => {
      runner = await runGraphileWorkers(base, options, {
        [TASK]: async (payload) => {
          const { runId } = payload as { runId: string };
          await claimRun(runId);
          // The agent would run here: a no-op, as Heartbeat's script agents with no steps.
          await finishRun(runId);
          handled += 1;
        },
      });
    },
    close: async () => {
      await runner?.stop();
      await pgPool.end();
    },
  };
}

const QUEUE = 'run';

/**
 * pg-boss: `work` with batchSize hands the handler its batch, and with `transactional` runs the
 * handler and the jobs' completion in one transaction it opens: the claim for the batch is
 * committed first on a connection of its own, the finish is written in the jobs' transaction and
 * commits with their completion.
 */
export async function pgBossKeepingRuns(agents: KeptAgents, options: PgBossOptions): Promise<DrainPeer> {
  const boss = new PgBoss({ connectionString: options.url, max: options.poolSize, schedule: false, supervise: false, useListenNotify: options.notify });
  boss.on('error', () => {});
  await boss.start();
  await boss.createQueue(QUEUE, { notify: options.notify });
  // Warms pg-boss's queue cache: cold, each send or insert first looks its queue up on a pooled
  // connection, which enqueue transactions holding the whole pool would wait for forever.
  await boss.findJobs(QUEUE, { id: crypto.randomUUID() });
  const db = boss.getDb();
  const counter = postgres(options.url, { max: 1, onnotice: () => {} });
  const owner = instanceId();
  const enqueue = async (from: number, count: number) => {
    const tx = await db.beginTransaction!();
    try {
      const { rows } = await tx.db.executeSql(INSERT_QUEUED_RUNS, queuedRunsParams({ ...agents, from, count }));
      const ids = rows.map((row: { id: string }) => row.id);
      if (count === 1) await boss.send(QUEUE, { runId: ids[0] }, { db: tx.db });
      else await boss.insert(QUEUE, ids.map((runId: string) => ({ data: { runId } })), { db: tx.db });
      await tx.commit();
    } catch (error) {
      await tx.rollback();
      throw error;
    }
  };
  let handled = 0;
  return {
    handled: () => handled,
    addBulk: (from, to) => inChunks(from, to, (ids) => enqueue(ids[0], ids.length)),
    add: (i) => enqueue(i, 1),
    remaining: async () => {
      const [{ n }] = await counter<{ n: number }[]>`select count(*)::int as n from pgboss.job where name = ${QUEUE} and state <> 'completed'`;
      return n;
    },
    start: async () => {
      const work = {
        batchSize: options.batchSize,
        localConcurrency: options.localConcurrency,
        pollingIntervalSeconds: 0.5,
        notifyPollingIntervalSeconds: 0.5,
        burstWhenBatchFull: options.batchSize > 1,
        transactional: true,
      } as const;
      await boss.work<{ runId: string }, void, typeof work>(
        QUEUE,
        work,
        async (jobs, tx) => {
          const ids = jobs.map((job) => job.data.runId);
          await db.executeSql(CLAIM_RUNS, [owner, ids]);
          // The agents would run here: no-ops, as Heartbeat's script agents with no steps.
          await tx.executeSql(FINISH_RUNS, [ids]);
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
