// Reaping a dead instance: N runs running on an instance of another host whose lease then lapses
// (it stopped renewing while the database was reachable). Measured: from the lapse to when the last
// of them is seen failed as process_lost with its retry queued, in ms (the target: within a second,
// whatever their number).
import { createBenchEngine } from '../lib/heartbeat.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { median, until } from '../lib/stats.ts';

const SCENARIO = 'reaping';
/** The lease of the "dead" instance lapses this long after the engine started: past its own first full lease. */
const LAPSE_AFTER_MS = 8_000;

async function round(ctx: ScenarioContext, runs: number): Promise<number> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const bench = await createBenchEngine({ url: database.url, agents: 1, maxConcurrentRuns: 10, poolSize: 10 });
  try {
    const { sql } = bench.connection;
    const lapse = new Date(Date.now() + LAPSE_AFTER_MS);
    const [dead] = await sql<{ id: string }[]>`
      insert into engine_instances (host, pid, lease_expires_at) values ('bench-elsewhere', 1, ${lapse.toISOString()}::timestamptz) returning id`;
    // The runs it was executing: running, each with its claimed wakeup.
    await sql`
      with wakes as (
        insert into agent_wakeup_requests (company_id, agent_id, source, status)
        select ${bench.companyId}, ${bench.agentIds[0]}, 'on_demand', 'claimed' from generate_series(1, ${runs})
        returning id
      )
      insert into heartbeat_runs (company_id, agent_id, status, wakeup_request_id, owner_instance_id, owner_host, started_at)
      select ${bench.companyId}, ${bench.agentIds[0]}, 'running', id, ${dead.id}, 'bench-elsewhere', now() from wakes`;
    // The retries would run at once on this engine: pausing the agent keeps them queued.
    await sql`update agents set status = 'paused' where id = ${bench.agentIds[0]}`;
    await bench.start();
    const remaining = async () => (await sql<{ n: number }[]>`select count(*)::int as n from heartbeat_runs where owner_instance_id = ${dead.id} and status = 'running'`)[0].n;
    // When the last of them is seen failed (committed), polled every 10 ms: what a client would see.
    await until('the dead instance runs to be reaped', async () => (await remaining()) === 0, 60_000, 10);
    return Date.now() - lapse.getTime();
  } finally {
    await bench.close();
  }
}

export const reapingScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const counts = ctx.quick ? [20] : [100, 1_000];
    for (const runs of counts) {
      const samples: number[] = [];
      for (let i = 0; i < ctx.rounds; i++) samples.push(await round(ctx, runs));
      const ms = median(samples);
      ctx.log(`reaping ${runs} runs of a dead instance: last one ${ms.toFixed(0)} ms after its lease lapsed (rounds ${samples.map((s) => s.toFixed(0)).join(', ')})`);
      ctx.results.record(SCENARIO, `${runs} runs: lease lapse -> all reaped`, 'ms', 'lower', 'heartbeat', ms);
    }
  },
};
