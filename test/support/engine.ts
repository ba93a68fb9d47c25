// An engine over a fresh database that does not execute anything by itself: tests call its
// functions (enqueueWakeup, claim, release, ...) one step at a time.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { AgentStatus, IssueStatus, RunStatus } from '../../db/enums.ts';
import { agents, companies, heartbeatRuns, issueRelations, issues, wakeupRequests } from '../../db/schema.ts';
import { ManualClock } from '../../engine/model/clock.ts';
import { Engine, type EngineOptions } from '../../engine/engine.ts';
import { registerInstance } from '../../engine/cluster/instances.ts';
import type { LiveEvent } from '../../engine/live/live-events.ts';
import { createTestDatabase, type TestDatabase } from './database.ts';

export interface EngineFixture {
  database: TestDatabase;
  db: TestDatabase['db'];
  engine: Engine;
  clock: ManualClock;
  companyId: string;
  /** Every live event published, in order. */
  published: LiveEvent[];
  agent(input?: { name?: string; status?: AgentStatus; heartbeat?: Record<string, unknown>; adapterConfig?: Record<string, unknown> }): Promise<typeof agents.$inferSelect>;
  issue(input?: { status?: IssueStatus; assigneeAgentId?: string | null; priority?: 'critical' | 'high' | 'medium' | 'low'; executionState?: Record<string, unknown> }): Promise<typeof issues.$inferSelect>;
  block(blocked: string, blocker: string): Promise<void>;
  run(input: { agentId: string; issueId?: string | null; status?: RunStatus; context?: Record<string, unknown>; createdAt?: Date }): Promise<typeof heartbeatRuns.$inferSelect>;
  close(): Promise<void>;
}

/** The rows the fixture's `agent()` and `issue()` make. */
export type FixtureAgent = Awaited<ReturnType<EngineFixture['agent']>>;
export type FixtureIssue = Awaited<ReturnType<EngineFixture['issue']>>;

export async function engineFixture(options: Partial<EngineOptions> = {}): Promise<EngineFixture> {
  const database = await createTestDatabase();
  const { db } = database;
  const logDir = await mkdtemp(join(tmpdir(), 'heartbeat-engine-logs-'));
  const clock = new ManualClock(new Date('2026-01-01T00:00:00.000Z'));
  const engine = new Engine({
    db,
    sql: database.sql,
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    logDir,
    clock,
    tickIntervalMs: 0,
    ...options,
  });
  // As start() would, before anything is woken: the companies with budgets are known.
  await engine.ready();
  // Claiming needs an instance id; the engine is not started, so nothing runs on its own.
  const instance = await registerInstance(db, clock);
  Object.assign(engine.deps.settings, { instanceId: instance.id, host: instance.host, apiUrl: 'http://127.0.0.1:9/graphql' });
  const published: LiveEvent[] = [];
  engine.deps.bus.subscribe((event) => published.push(event));
  const [company] = await db.insert(companies).values({ name: 'Acme' }).returning();
  let issueNumber = 0;

  return {
    database,
    db,
    engine,
    clock,
    companyId: company.id,
    published,
    agent: async (input = {}) => {
      const [agent] = await db
        .insert(agents)
        .values({
          companyId: company.id,
          name: input.name ?? `agent-${Math.random().toString(36).slice(2, 8)}`,
          status: input.status ?? 'idle',
          adapterType: 'script',
          adapterConfig: input.adapterConfig ?? { steps: [] },
          runtimeConfig: { heartbeat: input.heartbeat ?? {} },
          createdAt: clock.now(),
        })
        .returning();
      return agent;
    },
    issue: async (input = {}) => {
      issueNumber += 1;
      const [issue] = await db
        .insert(issues)
        .values({
          companyId: company.id,
          identifier: `T-${issueNumber}`,
          title: `Issue ${issueNumber}`,
          status: input.status ?? 'todo',
          priority: input.priority ?? 'medium',
          assigneeAgentId: input.assigneeAgentId ?? null,
          executionState: input.executionState ?? null,
        })
        .returning();
      return issue;
    },
    block: async (blocked, blocker) => {
      await db.insert(issueRelations).values({ companyId: company.id, issueId: blocker, relatedIssueId: blocked, type: 'blocks' });
    },
    run: async (input) => {
      const [wake] = await db
        .insert(wakeupRequests)
        .values({ companyId: company.id, agentId: input.agentId, source: 'on_demand', status: input.status === 'running' ? 'claimed' : 'queued' })
        .returning();
      const [run] = await db
        .insert(heartbeatRuns)
        .values({
          companyId: company.id,
          agentId: input.agentId,
          issueId: input.issueId ?? null,
          status: input.status ?? 'queued',
          wakeupRequestId: wake.id,
          contextSnapshot: { ...(input.issueId ? { issueId: input.issueId } : {}), ...input.context },
          createdAt: input.createdAt ?? clock.now(),
        })
        .returning();
      return run;
    },
    close: async () => {
      await engine.stop();
      await database.drop();
      await rm(logDir, { recursive: true, force: true });
    },
  };
}
