// Cancelling across instances: two engines on one database; a run of a process agent executes on
// one, and the cancel is sent to the other (its NOTIFY reaches the owner, which stops the process
// group). Measured: from the cancel call to when the run's process group is gone, in ms, polled
// every millisecond. (test/engine/adapters/process-runs.test.ts checks that it happens; this is how
// fast.)
import { agents } from '../../db/schema.ts';
import { groupAlive } from '../../engine/index.ts';
import { type BenchEngine, createBenchEngine } from '../lib/heartbeat.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { latencySummary, nowMs, until } from '../lib/stats.ts';

const SCENARIO = 'cancel';

async function round(ctx: ScenarioContext, samples: number): Promise<number[]> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const engines: BenchEngine[] = [];
  try {
    for (let i = 0; i < 2; i++) engines.push(await createBenchEngine({ url: database.url, agents: 1, maxConcurrentRuns: 1, poolSize: 4 }));
    const [first] = engines;
    const { db, sql } = first.connection;
    // A process that runs until it is stopped, and goes at the first SIGTERM (node's default).
    const [agent] = await db
      .insert(agents)
      .values({
        companyId: first.companyId,
        name: 'bench-cancel',
        adapterType: 'process',
        adapterConfig: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'] },
        runtimeConfig: { heartbeat: { maxConcurrentRuns: 1, wakeOnDemand: true } },
      })
      .returning({ id: agents.id });
    for (const bench of engines) await bench.start();

    const measured: number[] = [];
    for (let i = 0; i < samples; i++) {
      const { run } = await first.engine.enqueueWakeup({ companyId: first.companyId, agentId: agent.id, reason: 'bench', payload: { taskKey: `cancel-${i}` } });
      if (!run) throw new Error(`wakeup ${i} made no run`);
      const running = await until(
        'the run to start its process',
        async () => {
          const [row] = await sql<{ owner: string | null; pgid: number | null }[]>`
            select owner_instance_id as owner, process_group_id as pgid from heartbeat_runs where id = ${run.id} and status = 'running'`;
          return row?.owner && row.pgid ? row : null;
        },
        30_000,
        5,
      );
      // Whichever engine claimed it, the cancel goes to the other one.
      const other = engines.find((bench) => bench.engine.instanceId !== running.owner)!;
      const started = nowMs();
      await other.engine.cancelRun({ runId: run.id });
      await until('the process group to be gone', async () => !(await groupAlive(running.pgid!)), 30_000, 1);
      measured.push(nowMs() - started);
      // The owner lets go of the run before the next one starts.
      await until(
        'the cancelled run to settle',
        async () => (await sql<{ n: number }[]>`select count(*)::int as n from heartbeat_runs where id = ${run.id} and settled_at is not null`)[0].n === 1,
        30_000,
        5,
      );
    }
    return measured;
  } finally {
    for (const bench of engines) await bench.close();
    await database.drop();
  }
}

export const cancelScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const samples = ctx.quick ? 5 : 30;
    ctx.results.note(
      SCENARIO,
      `Two in-process engines on one database; ${samples} runs in turn of a process agent (\`node -e "setInterval(...)"\`), each cancelled through the engine that does not own it. ` +
        'Measured from the cancelRun call to the run\'s process group being gone (polled every 1 ms).',
    );
    for (let r = 1; r <= ctx.rounds; r++) {
      const measured = await round(ctx, samples);
      const { p50, p95 } = latencySummary(measured);
      ctx.log(`${SCENARIO} round ${r}: cancel on the other instance -> process group gone p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);
      ctx.results.record(SCENARIO, 'cancel on the other instance -> process group gone p50', 'ms', 'lower', 'heartbeat', p50);
      ctx.results.record(SCENARIO, 'cancel on the other instance -> process group gone p95', 'ms', 'lower', 'heartbeat', p95);
    }
  },
};
