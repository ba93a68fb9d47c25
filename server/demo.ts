// The demo company (`heartbeat serve --demo`): a few script agents on timers and three issues in the
// first company, chosen so that the console shows every state a run can be in within seconds of the
// start: a success, a plan-only run and its liveness continuations, a transient failure waiting for
// its automatic retry, a hard failure escalated to a person, a long run streaming output and a wake
// deferred behind it. Everything goes through the engine's own functions, so the demo follows the
// same rules as real use. `--remove-demo` takes it all away again, and nothing else.
import { and, eq, inArray, isNull, like, or, sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { activityLog, agents, companies, heartbeatRuns, issues } from '../db/schema.ts';
import { HeartbeatError, type Engine } from '../engine/index.ts';
import type { HeartbeatApp } from './app.ts';

/** What marks demo data, as the API shows it: the agents' role and name, the issues' title. */
export const DEMO_ROLE = 'demo';
export const DEMO_AGENT_PREFIX = 'demo-';
export const DEMO_ISSUE_PREFIX = '[demo] ';

export interface DemoCounts {
  agents: number;
  issues: number;
}

export interface DemoSeed extends DemoCounts {
  /** False when the demo data was already there (from an earlier `--demo` start): nothing was added. */
  created: boolean;
}

/** What the demo needs of a running server. */
export type DemoApp = Pick<HeartbeatApp, 'db' | 'engine'>;
type Step = Record<string, unknown>;

/** "heartbeat demo": two instances seeding one database at once add the demo once. */
const SEED_LOCK_KEY = 0x6862_646d;
/** How long seeding waits for the long run to start before it adds the wakes that queue behind it. */
const LONG_RUN_START_MS = 10_000;
/** How long removal waits for the cancelled demo runs to settle before it deletes them. */
const SETTLE_MS = 15_000;

const usage = (inputTokens: number, outputTokens: number, costUsd: number): Step => ({
  usage: { inputTokens, outputTokens, costUsd, billingType: 'metered_api', provider: 'anthropic', model: 'claude-sonnet-4' },
});

/** A run that succeeds in about three seconds, with log lines, tool events and a cost. */
const builderSteps: Step[] = [
  { log: 'Checking out main' },
  { event: { type: 'tool.call', message: 'git pull --ff-only', payload: { tool: 'git' } } },
  { sleepMs: 700 },
  { log: 'Running the test suite (212 tests)' },
  { event: { type: 'tool.call', message: 'npm test', payload: { tool: 'npm' } } },
  { sleepMs: 1_500 },
  { log: '212 passed, 0 failed' },
  { event: { type: 'test.report', message: '212 passed, 0 failed', payload: { passed: 212, failed: 0 } } },
  usage(18_400, 2_100, 0.084),
  { result: { ok: true, testsPassed: 212 }, summary: 'The build is green: 212 tests passed.' },
];

/**
 * A run that only says what it will do: no comment, document or event of its own, so the engine
 * classifies it plan_only (docs/engine.md §6.7) and wakes the agent again to do it (§6.8).
 */
const plannerSteps: Step[] = [
  { log: 'Reading the issue and the invoices module' },
  { sleepMs: 1_000 },
  { log: 'Plan: add a CSV serializer, wire an export endpoint, then run the tests.' },
  usage(6_200, 480, 0.021),
  {
    result: { nextAction: 'Implement the CSV serializer for invoices, then run the tests' },
    summary: "I'll implement the CSV serializer first, then wire the export endpoint and run the tests.",
  },
];

/** A failure the upstream is to blame for: the engine schedules a bounded retry (§6.12). */
const summarizerSteps: Step[] = [
  { log: 'Summarising yesterday\'s support tickets' },
  { sleepMs: 800 },
  { log: 'POST /v1/messages: 503 Service Unavailable', stream: 'stderr' },
  { fail: { message: 'The model API is overloaded (503); try again later', code: 'upstream_overloaded', errorFamily: 'transient_upstream' } },
];

/** A failure no retry fixes: after the engine's recovery run fails too, the issue is escalated (§6.9, §6.14). */
const deployerSteps: Step[] = [
  { log: 'Renewing the staging certificate' },
  { sleepMs: 500 },
  { log: 'open /etc/ssl/staging/cert.pem: permission denied', stream: 'stderr' },
  { fail: { message: 'Permission denied writing /etc/ssl/staging/cert.pem', code: 'permission_denied' } },
];

const LONG_RUN_BATCHES = 45;
/** A run of about 45 seconds that prints a line a second: it holds its issue while wakes queue behind it. */
const migratorSteps: Step[] = [
  { log: `Backfilling invoice totals in ${LONG_RUN_BATCHES} batches` },
  ...Array.from({ length: LONG_RUN_BATCHES }, (_, index): Step[] => {
    const batch = index + 1;
    const line: Step = { log: `batch ${batch}/${LONG_RUN_BATCHES}: 2,000 invoices updated` };
    const progress: Step[] = batch % 5 === 0 ? [{ event: { type: 'progress', message: `${batch * 2_000} invoices updated`, payload: { done: batch, total: LONG_RUN_BATCHES } } }] : [];
    return [line, ...progress, { sleepMs: 1_000 }];
  }).flat(),
  usage(52_000, 7_400, 0.27),
  { result: { ok: true, invoicesUpdated: LONG_RUN_BATCHES * 2_000 }, summary: `Backfilled ${LONG_RUN_BATCHES * 2_000} invoice totals.` },
];

interface DemoAgent {
  name: string;
  steps: Step[];
  /** Seconds between timer wakes; absent: woken only by its issue. */
  intervalSec?: number;
  /** Woken once when the demo is added (agents with an issue are woken by its assignment). */
  wakeAtStart?: boolean;
  issue?: {
    title: string;
    description: string;
    priority: 'critical' | 'high' | 'medium' | 'low';
    /** What a person says on the issue once its run works: each comment's wake waits behind that run. */
    commentsWhileRunning?: string[];
  };
}

const DEMO_AGENTS: DemoAgent[] = [
  { name: 'demo-builder', steps: builderSteps, intervalSec: 20, wakeAtStart: true },
  {
    name: 'demo-planner',
    steps: plannerSteps,
    intervalSec: 60,
    // Neither names a plan or a report: an issue that asks for a write-up is done by one (§6.7).
    issue: { title: 'Add CSV export to the invoices page', description: 'Customers want to download their invoices as a CSV file.', priority: 'medium' },
  },
  { name: 'demo-summarizer', steps: summarizerSteps, intervalSec: 45, wakeAtStart: true },
  {
    name: 'demo-deployer',
    steps: deployerSteps,
    issue: { title: 'Rotate the staging TLS certificate', description: 'The staging certificate expires on Friday.', priority: 'high' },
  },
  {
    name: 'demo-migrator',
    steps: migratorSteps,
    intervalSec: 30,
    issue: {
      title: 'Backfill invoice totals for 2023',
      description: 'Invoices created before the totals column existed have no total.',
      priority: 'high',
      commentsWhileRunning: ['Please also cover the archived invoices.', 'And post the number of invoices you changed when you are done.'],
    },
  },
];

/** The company the console's bootstrap key belongs to: the first one. */
export async function demoCompanyId(db: Database): Promise<string> {
  const [first] = await db.select({ id: companies.id }).from(companies).orderBy(companies.createdAt, companies.id).limit(1);
  if (!first) throw new Error('There is no company yet');
  return first.id;
}

const demoAgentsOf = (db: Database, companyId: string) =>
  db
    .select({ id: agents.id, status: agents.status })
    .from(agents)
    .where(and(eq(agents.companyId, companyId), eq(agents.role, DEMO_ROLE), like(agents.name, `${DEMO_AGENT_PREFIX}%`)));

const demoIssuesOf = (db: Database, companyId: string) =>
  db
    .select({ id: issues.id })
    .from(issues)
    .where(and(eq(issues.companyId, companyId), eq(sql`left(${issues.title}, ${DEMO_ISSUE_PREFIX.length})`, DEMO_ISSUE_PREFIX)));

/** How much demo data the company holds now. */
export async function countDemo(db: Database, companyId: string): Promise<DemoCounts> {
  const [found, issueRows] = await Promise.all([demoAgentsOf(db, companyId), demoIssuesOf(db, companyId)]);
  return { agents: found.length, issues: issueRows.length };
}

/**
 * Adds the demo agents and issues to the company and wakes them, unless a demo agent is already
 * there (the demo is added once; `removeDemo` and a new `--demo` start add it afresh).
 */
export async function seedDemo(app: DemoApp, companyId: string): Promise<DemoSeed> {
  // The advisory lock is held by this transaction while the engine writes on its own connections.
  return app.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`);
    const existing = await countDemo(app.db, companyId);
    if (existing.agents > 0) return { ...existing, created: false };
    for (const spec of DEMO_AGENTS) await addAgent(app, companyId, spec);
    return { ...(await countDemo(app.db, companyId)), created: true };
  });
}

async function addAgent({ db, engine }: DemoApp, companyId: string, spec: DemoAgent): Promise<void> {
  const agent = await engine.createAgent({
    companyId,
    name: spec.name,
    role: DEMO_ROLE,
    adapterType: 'script',
    adapterConfig: { steps: spec.steps },
    heartbeat: spec.intervalSec ? { enabled: true, intervalSec: spec.intervalSec } : { enabled: false },
  });
  if (spec.wakeAtStart) {
    await engine.enqueueWakeup({
      companyId,
      agentId: agent.id,
      source: 'on_demand',
      triggerDetail: 'manual',
      reason: 'demo_started',
      idempotencyKey: 'demo-start',
      actor: { type: 'system', id: 'demo' },
    });
  }
  if (!spec.issue) return;
  // Assigned at creation: the assignment wakes the agent, as it would for a person's issue.
  const { issue, wakeup } = await engine.issues.create(
    { companyId, title: DEMO_ISSUE_PREFIX + spec.issue.title, description: spec.issue.description, priority: spec.issue.priority, assigneeAgentId: agent.id },
    null,
  );
  const comments = spec.issue.commentsWhileRunning ?? [];
  // A comment on an issue whose run is already working cannot reach that run: it waits behind it
  // (DEFERRED), and the second merges into the first. Made before the run started, it would join it.
  if (comments.length === 0 || !wakeup?.run || !(await runStarted(db, wakeup.run.id))) return;
  for (const body of comments) {
    await engine.issues.addComment({ companyId, issueId: issue.id, body }, { type: 'user', id: 'demo-reviewer' });
  }
}

async function runStarted(db: Database, runId: string): Promise<boolean> {
  const deadline = Date.now() + LONG_RUN_START_MS;
  for (;;) {
    const [run] = await db.select({ status: heartbeatRuns.status }).from(heartbeatRuns).where(eq(heartbeatRuns.id, runId));
    if (run?.status === 'running') return true;
    if (!run || run.status !== 'queued' || Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Removes the demo agents (with their runs, wakeups, events, logs and costs) and the demo issues
 * (with their comments and documents). Their runs are cancelled first, through the engine, and
 * given time to settle, so that no executor writes for a run that is gone. Returns what it removed.
 */
export async function removeDemo(app: DemoApp, companyId: string): Promise<DemoCounts> {
  const demoAgents = await demoAgentsOf(app.db, companyId);
  const agentIds = demoAgents.map((agent) => agent.id);
  for (const agent of demoAgents) await stopAgent(app.engine, companyId, agent.id);
  await runsSettled(app.db, agentIds);
  const issueIds = (await demoIssuesOf(app.db, companyId)).map((issue) => issue.id);
  await app.db.transaction(async (tx) => {
    const runIds = tx.select({ id: heartbeatRuns.id }).from(heartbeatRuns).where(inArray(heartbeatRuns.agentId, agentIds));
    // The engine's records about them (an escalation names its issue and the run that failed last).
    const about = [
      ...(issueIds.length ? [inArray(activityLog.entityId, issueIds)] : []),
      ...(agentIds.length ? [inArray(activityLog.agentId, agentIds), inArray(activityLog.runId, runIds)] : []),
    ];
    if (about.length) await tx.delete(activityLog).where(and(eq(activityLog.companyId, companyId), or(...about)));
    if (issueIds.length) await tx.delete(issues).where(inArray(issues.id, issueIds));
    if (agentIds.length) await tx.delete(agents).where(inArray(agents.id, agentIds));
  });
  return { agents: agentIds.length, issues: issueIds.length };
}

/** Paused (so nothing wakes it any more), with every run on its way cancelled. */
async function stopAgent(engine: Engine, companyId: string, agentId: string): Promise<void> {
  try {
    await engine.pauseAgent({ companyId, agentId });
  } catch (error) {
    // Terminated or awaiting approval: it cannot be paused, but its runs can still be cancelled.
    if (!(error instanceof HeartbeatError) || error.code !== 'CONFLICT') throw error;
    await engine.cancelActiveForAgent(agentId, 'Cancelled: demo data removed');
  }
}

/** Waits (within SETTLE_MS) until no run of the agents is on its way or unsettled. */
async function runsSettled(db: Database, agentIds: string[]): Promise<void> {
  if (agentIds.length === 0) return;
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline) {
    const [open] = await db
      .select({ id: heartbeatRuns.id })
      .from(heartbeatRuns)
      .where(and(inArray(heartbeatRuns.agentId, agentIds), or(isNull(heartbeatRuns.settledAt), inArray(heartbeatRuns.status, ['queued', 'running', 'scheduled_retry']))))
      .limit(1);
    if (!open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
