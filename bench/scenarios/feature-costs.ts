// What each capability a run can use costs, next to the drain: the throughput scenario's drain
// (no-op script runs, 40 agents x 5) run again with every run using one capability, and with
// all of them, alternated in each round against the plain drain:
// - a session: each run reports a session, kept per task (task_sessions, docs/engine.md §12);
// - usage: each run reports tokens, cost and model: one cost_events row and the agent's counters (§13);
// - logs: each run prints five lines, stored in the database (§6.5);
// - tracing on: the plain drain with the OpenTelemetry SDK started, spans sent over OTLP/HTTP to a
//   local endpoint that accepts them (tracing off is the plain drain itself: the README's Tracing
//   section compares it with the code without tracing points);
// - everything: a session, usage and logs together.
// The wake text (what an agent is told) is rendered for runs on an issue only: its cost is in the
// issue drain (issue-throughput.ts).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { startTracing, tracingSettingsFrom } from '../../engine/index.ts';
import type { DrainCosts } from '../lib/drain-costs.ts';
import { createBenchEngine, fillQueuedRuns, timedDrain } from '../lib/heartbeat.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';

const SCENARIO = 'feature-costs';
const POOL = 10;
const AGENTS = 40;
const PER_AGENT = 5;

const LINE = 'bench: compiling the workspace, 412 files checked, nothing to report for this step';
const STEPS = {
  session: { session: { id: 'bench-session', params: { cwd: '/work/bench' } } },
  usage: { usage: { inputTokens: 1_200, cachedInputTokens: 800, outputTokens: 300, costUsd: 0.0123, model: 'bench-model', provider: 'bench' } },
  logs: Array.from({ length: 5 }, (_, i) => ({ log: `${LINE} (${i + 1}/5)` })),
};

interface Variant {
  name: string;
  steps: unknown[];
  tracing?: boolean;
}

const PLAIN: Variant = { name: 'plain', steps: [] };
const VARIANTS: Variant[] = [
  PLAIN,
  { name: 'a session', steps: [STEPS.session] },
  { name: 'usage (cost ledger)', steps: [STEPS.usage] },
  { name: 'five log lines', steps: STEPS.logs },
  { name: 'tracing on', steps: [], tracing: true },
  { name: 'everything (session, usage, logs)', steps: [...STEPS.logs, STEPS.usage, STEPS.session] },
];

/** An OTLP/HTTP endpoint that accepts every export and keeps nothing. */
async function acceptingCollector(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function drainRound(ctx: ScenarioContext, jobs: number, variant: Variant): Promise<{ rate: number; costs: DrainCosts }> {
  const collector = variant.tracing ? await acceptingCollector() : null;
  const tracing = collector ? await startTracing(tracingSettingsFrom({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url })!, pino({ level: 'silent' })) : null;
  const database = await ctx.pg.createHeartbeatDatabase();
  const bench = await createBenchEngine({ url: database.url, agents: AGENTS, maxConcurrentRuns: PER_AGENT, poolSize: POOL, adapterConfig: { steps: variant.steps } });
  try {
    await fillQueuedRuns(bench.connection.sql, { companyId: bench.companyId, agentIds: bench.agentIds, count: jobs });
    const { rate, costs } = await timedDrain(ctx, bench, jobs, `feature-costs: ${variant.name}`);
    await checkWritten(bench.connection.sql, jobs, variant);
    return { rate, costs };
  } finally {
    await bench.close();
    await tracing?.close();
    await collector?.close();
    await database.drop();
  }
}

/** Throws unless every run succeeded and left what its capability writes: the variant did its work. */
async function checkWritten(sql: Awaited<ReturnType<typeof createBenchEngine>>['connection']['sql'], jobs: number, variant: Variant): Promise<void> {
  const [row] = await sql<{ ok: number; sessions: number; costs: number; logged: number }[]>`
    select (select count(*) from heartbeat_runs where status = 'succeeded' and settled_at is not null)::int as ok,
           (select count(*) from heartbeat_runs where session_id_after is not null)::int as sessions,
           (select count(*) from cost_events)::int as costs,
           (select count(distinct run_id) from heartbeat_run_log_chunks)::int as logged`;
  const expected = {
    ok: jobs,
    sessions: variant.steps.includes(STEPS.session) ? jobs : 0,
    costs: variant.steps.includes(STEPS.usage) ? jobs : 0,
    logged: variant.steps.includes(STEPS.logs[0]) ? jobs : 0,
  };
  for (const [key, want] of Object.entries(expected)) {
    const got = row[key as keyof typeof row];
    if (got !== want) throw new Error(`${SCENARIO} (${variant.name}): expected ${want} runs with ${key}, found ${got}`);
  }
}

export const featureCostsScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const jobs = ctx.quick ? 300 : 10_000;
    ctx.results.note(
      SCENARIO,
      `The throughput scenario's drain (${jobs.toLocaleString('en-US')} queued script runs, ${AGENTS} agents x maxConcurrentRuns ${PER_AGENT}, a pool of ${POOL}), ` +
        'with every run using one capability, alternated in each round with the plain drain: a session kept per task; usage (tokens, cost, model: a cost_events row); ' +
        'five log lines stored in the database; tracing on (the OpenTelemetry SDK exporting over OTLP/HTTP to a local endpoint); all of the first three together. ' +
        "Each variant's rate is also given as a share of the plain drain's in the same round. Tracing off is the plain drain.",
    );
    for (let round = 1; round <= ctx.rounds; round++) {
      let plainRate = 0;
      for (const variant of VARIANTS) {
        const { rate, costs } = await drainRound(ctx, jobs, variant);
        if (variant === PLAIN) plainRate = rate;
        const metric = `drain, ${variant.name}`;
        ctx.results.record(SCENARIO, `${metric}: jobs/s`, 'jobs/s', 'higher', 'heartbeat', rate);
        if (variant !== PLAIN) ctx.results.record(SCENARIO, `${metric}: rate / plain drain's`, 'x', 'higher', 'heartbeat', rate / plainRate);
        if (costs.workerCpu !== undefined) ctx.results.record(SCENARIO, `${metric}: CPU per job, engine process`, 'ms', 'lower', 'heartbeat', costs.workerCpu);
        if (costs.postgresCpu !== undefined) ctx.results.record(SCENARIO, `${metric}: CPU per job, PostgreSQL`, 'ms', 'lower', 'heartbeat', costs.postgresCpu);
        ctx.results.record(SCENARIO, `${metric}: WAL per job`, 'bytes', 'lower', 'heartbeat', costs.walBytes);
        ctx.log(
          `${SCENARIO} round ${round}: ${variant.name} ${rate.toFixed(0)} jobs/s` +
            (variant === PLAIN ? '' : ` (${(rate / plainRate).toFixed(2)}x plain)`) +
            `; CPU ms/job engine ${costs.workerCpu?.toFixed(3) ?? '-'}, PostgreSQL ${costs.postgresCpu?.toFixed(3) ?? '-'}; WAL ${costs.walBytes.toFixed(0)} B/job`,
        );
      }
    }
  },
};
