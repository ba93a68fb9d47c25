// Queries over HTTP under load (autocannon): `runs(first: 20)` with each run's agent and liveness,
// authenticated with an API key, against a Heartbeat server in its own process; next to a bare
// graphql-yoga `{ __typename }` server on the same machine as the ceiling. req/s and p99.
// Nothing is written meanwhile, so the default server answers repeats from its response cache;
// a second server with the cache off shows what executing every request costs (as under writes).
import autocannon from 'autocannon';
import { generateApiKey } from '../../engine/index.ts';
import { type ChildServer, startChild } from '../lib/child.ts';
import { CpuMeter, processCpuMs, selfCpuMs } from '../lib/cpu.ts';
import type { System } from '../lib/results.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';

const SCENARIO = 'queries';
const RUNS_QUERY = `query Runs { runs(first: 20) { edges { cursor node { id status createdAt finishedAt agent { id name status } liveness { state reason nextAction } } } pageInfo { hasNextPage endCursor } } }`;
const CONNECTIONS = 16;
const CACHED = 'runs(first: 20)';
const EXECUTED = 'runs(first: 20), executed every time (response cache off)';

/** Runs the load against `server` and counts the CPU each part spent per answered request. */
async function load(ctx: ScenarioContext, server: ChildServer, body: string, headers: Record<string, string>, seconds: number) {
  const meter = new CpuMeter({ server: () => processCpuMs(server.pid), postgres: () => ctx.pg.cpuMs(), 'load generator': selfCpuMs });
  const url = String(server.ready.graphqlUrl);
  meter.start();
  const result = await autocannon({
    url,
    method: 'POST',
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  const cpu = meter.stop();
  if (result.non2xx > 0 || result.errors > 0) throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  const requests = Math.max(1, result.requests.total);
  const cpuPerRequest = Object.fromEntries(Object.entries(cpu).map(([part, ms]) => [part, ms / requests]));
  return { rps: result.requests.average, p99: result.latency.p99, p50: result.latency.p50, cpuPerRequest };
}

type LoadResult = Awaited<ReturnType<typeof load>>;

function record(ctx: ScenarioContext, system: System, name: string, r: LoadResult) {
  ctx.results.record(SCENARIO, `${name}: throughput`, 'req/s', 'higher', system, r.rps);
  ctx.results.record(SCENARIO, `${name}: latency p50`, 'ms', 'lower', system, r.p50);
  ctx.results.record(SCENARIO, `${name}: latency p99`, 'ms', 'lower', system, r.p99);
  for (const [part, ms] of Object.entries(r.cpuPerRequest)) {
    ctx.results.record(SCENARIO, `${name}: CPU per request, ${part}`, 'ms', 'lower', system, ms);
  }
}

export const queriesScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const seconds = ctx.quick ? 2 : 10;
    ctx.results.note(
      SCENARIO,
      `autocannon, ${CONNECTIONS} connections, ${seconds} s per round, in the bench process; each server in its own process. ` +
        'Heartbeat: `runs(first: 20) { edges { cursor node { id status createdAt finishedAt agent { id name status } liveness { state reason nextAction } } } pageInfo { ... } }` ' +
        'with `Authorization: Bearer <key>` over 200 finished runs of 20 agents. Reference: a bare graphql-yoga answering `{ __typename }`. ' +
        'Nothing is written during the rounds, so the default server answers repeats from its response cache (the database snapshot is unchanged); ' +
        'a second server on the same database, with HEARTBEAT_RESPONSE_CACHE_MB=0, executes every request, as happens while runs are being written. ' +
        'CPU per request = CPU time of the server process, of PostgreSQL (all its processes) and of the bench process (autocannon) over the round, divided by the answered requests.',
    );
    const database = await ctx.pg.createHeartbeatDatabase();
    const key = generateApiKey();
    let heartbeat: ChildServer | null = null;
    let uncached: ChildServer | null = null;
    let bare: ChildServer | null = null;
    try {
      heartbeat = await startChild('server.ts', { DATABASE_URL: database.url, HEARTBEAT_BOOTSTRAP_KEY: key });
      const agents = await heartbeat.request<Array<{ id: string }>>('agents', { count: 20 });
      await heartbeat.request('runs', { agentIds: agents.map((a) => a.id), perAgent: 10 });
      uncached = await startChild('server.ts', { DATABASE_URL: database.url, HEARTBEAT_RESPONSE_CACHE_MB: '0' });
      bare = await startChild('bare-yoga.ts', {});
      const auth = { authorization: `Bearer ${key}` };
      const runsBody = JSON.stringify({ query: RUNS_QUERY });
      const bareBody = JSON.stringify({ query: '{ __typename }' });
      // Warm-up (JIT, pools, prepared statements), not recorded.
      await load(ctx, heartbeat, runsBody, auth, 1);
      await load(ctx, uncached, runsBody, auth, 1);
      await load(ctx, bare, bareBody, {}, 1);
      const cpu = (r: LoadResult) => Object.entries(r.cpuPerRequest).map(([part, ms]) => `${part} ${ms.toFixed(3)}`).join(', ');
      const report = (round: number, who: string, r: LoadResult) =>
        ctx.log(`${SCENARIO} round ${round}: ${who} ${r.rps.toFixed(0)} req/s (p99 ${r.p99} ms; CPU ms/request: ${cpu(r)})`);
      for (let round = 1; round <= ctx.rounds; round++) {
        const hb = await load(ctx, heartbeat, runsBody, auth, seconds);
        record(ctx, 'heartbeat', CACHED, hb);
        report(round, 'heartbeat', hb);
        const executed = await load(ctx, uncached, runsBody, auth, seconds);
        record(ctx, 'heartbeat', EXECUTED, executed);
        report(round, 'heartbeat, response cache off', executed);
        const ceiling = await load(ctx, bare, bareBody, {}, seconds);
        record(ctx, 'bare-yoga', CACHED, ceiling);
        record(ctx, 'bare-yoga', EXECUTED, ceiling);
        report(round, 'bare yoga', ceiling);
      }
    } finally {
      await bare?.close();
      await uncached?.close();
      await heartbeat?.close();
      await database.drop();
    }
  },
};
