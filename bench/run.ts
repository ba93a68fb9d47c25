// `npm run bench [-- --quick] [-- --only throughput,latency] [-- --rounds N] [-- --statements]`
// Starts one PostgreSQL (embedded, or BENCH_DATABASE_URL), runs every scenario for Heartbeat and
// for the peers that have an equivalent, prints a Markdown table and writes
// bench/results/latest.json with per-round values, medians and Heartbeat / peer ratios.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBenchPostgres } from './lib/postgres.ts';
import { Results } from './lib/results.ts';
import type { Scenario } from './lib/scenario.ts';
import { checkTargets } from './lib/targets.ts';
import { agentOutputScenario } from './scenarios/agent-output.ts';
import { apiWakesScenario } from './scenarios/api-wakes.ts';
import { cancelScenario } from './scenarios/cancel.ts';
import { dbCeilingScenario } from './scenarios/db-ceiling.ts';
import { featureCostsScenario } from './scenarios/feature-costs.ts';
import { issueThroughputScenario } from './scenarios/issue-throughput.ts';
import { latencyScenario } from './scenarios/latency.ts';
import { probeRefusalScenario } from './scenarios/probe-refusal.ts';
import { queriesScenario } from './scenarios/queries.ts';
import { reapingScenario } from './scenarios/reaping.ts';
import { subscriptionsScenario } from './scenarios/subscriptions.ts';
import { throughputScenario } from './scenarios/throughput.ts';

const SCENARIOS: Scenario[] = [dbCeilingScenario, throughputScenario, featureCostsScenario, issueThroughputScenario, apiWakesScenario, latencyScenario, subscriptionsScenario, agentOutputScenario, queriesScenario, reapingScenario, cancelScenario, probeRefusalScenario];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    out: { type: 'string' },
    // Each drain's statements, per job, in the log (lib/statement-costs.ts).
    statements: { type: 'boolean', default: false },
  },
});
const quick = values.quick ?? false;
const rounds = values.rounds ? Number(values.rounds) : quick ? 1 : 3;
const only = values.only ? new Set(values.only.split(',').map((s) => s.trim())) : null;
const outPath = values.out ?? fileURLToPath(new URL('./results/latest.json', import.meta.url));
const selected = SCENARIOS.filter((s) => !only || only.has(s.name));
if (only && selected.length !== only.size) {
  throw new Error(`Unknown scenario in --only; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
}

const began = Date.now();
const log = (message: string) => process.stderr.write(`[bench +${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);
const results = new Results();
const pg = await startBenchPostgres(log, { statements: values.statements });
// A crash or ^C must not leave the embedded PostgreSQL behind.
let stopping: Promise<void> | null = null;
const stopPostgres = () => (stopping ??= pg.stop().catch((error: unknown) => void log(`stopping PostgreSQL failed: ${String(error)}`)));
const abort = (reason: string) => {
  log(`aborting: ${reason}`);
  void stopPostgres().finally(() => process.exit(1));
};
process.on('uncaughtException', (error) => abort(error.stack ?? error.message));
// Peer libraries may reject a promise nobody awaits while they shut down: noted, not fatal.
process.on('unhandledRejection', (error) => log(`unhandled rejection: ${error instanceof Error ? error.message : String(error)}`));
process.on('SIGINT', () => abort('interrupted'));
process.on('SIGTERM', () => abort('terminated'));
log(`PostgreSQL ${pg.version} (${pg.embedded ? 'embedded' : 'BENCH_DATABASE_URL'}); ${quick ? 'quick mode' : `${rounds} rounds`}`);
let failed = false;
try {
  for (const scenario of selected) {
    log(`scenario ${scenario.name}`);
    await scenario.run({ pg, results, quick, rounds, log });
  }
} catch (error) {
  failed = true;
  log(`FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
} finally {
  await stopPostgres();
}

const targets = quick ? [] : checkTargets(results);
const durationMs = Date.now() - began;
await results.write(outPath, { quick, targets, durationMs, postgres: { version: pg.version, embedded: pg.embedded, settings: pg.settings } });
process.stdout.write(`\n${results.table()}\n\n${results.notesText()}\n`);
if (targets.length > 0) {
  process.stdout.write(`\nTargets:\n${targets.map((t) => `- [${t.met ? 'x' : ' '}] ${t.name}: ${t.bar}; measured ${t.measured}`).join('\n')}\n`);
}
process.stdout.write(`\nWrote ${outPath} (${(durationMs / 1000).toFixed(0)} s)\n`);
// Peer libraries keep timers and pools around after stop(); the bench is done.
process.exit(failed ? 1 : 0);
