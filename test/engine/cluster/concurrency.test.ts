// Acceptance: two engine instances on one database, 2,000 wakeups over 50 agents with limits 1–3.
// Every run executes exactly once, and no agent ever has more runs executing than its limit.
import { pino } from 'pino';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase, type DatabaseConnection } from '../../../db/client.ts';
import { agents, companies } from '../../../db/schema.ts';
import { scriptAdapter } from '../../../engine/adapters/script.ts';
import type { Adapter } from '../../../engine/adapters/types.ts';
import { Engine } from '../../../engine/engine.ts';
import { createTestDatabase, type TestDatabase } from '../../support/database.ts';
import { waitFor } from '../../support/wait.ts';

const AGENTS = 50;
const WAKEUPS = 2_000;

describe('exact per-agent concurrency across two instances', () => {
  let database: TestDatabase;
  let connections: DatabaseConnection[] = [];
  let engines: Engine[] = [];
  let logDir: string;
  const executions = new Map<string, number>();
  const executing = new Map<string, number>();
  const peak = new Map<string, number>();

  /** The script adapter, observed: counts executions per run and concurrent runs per agent. */
  const observedScript: Adapter<unknown> = {
    ...scriptAdapter,
    async execute(execution) {
      executions.set(execution.runId, (executions.get(execution.runId) ?? 0) + 1);
      const now = (executing.get(execution.agentId) ?? 0) + 1;
      executing.set(execution.agentId, now);
      peak.set(execution.agentId, Math.max(peak.get(execution.agentId) ?? 0, now));
      try {
        return await scriptAdapter.execute(execution as never);
      } finally {
        executing.set(execution.agentId, (executing.get(execution.agentId) ?? 1) - 1);
      }
    },
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    logDir = await mkdtemp(join(tmpdir(), 'heartbeat-concurrency-'));
    for (let i = 0; i < 2; i++) {
      const connection = connectDatabase(database.url, { max: 8, applicationName: `engine-${i}` });
      connections.push(connection);
      const engine = new Engine({
        db: connection.db,
        sql: connection.sql,
        logger: pino({ level: 'silent' }),
        logDir: join(logDir, String(i)),
        adapters: { script: observedScript },
        tickIntervalMs: 200,
      });
      engines.push(engine);
    }
  });
  afterAll(async () => {
    await Promise.all(engines.map((engine) => engine.stop()));
    await Promise.all(connections.map((c) => c.close()));
    await database?.drop();
    await rm(logDir, { recursive: true, force: true });
  });

  it('runs 2,000 wakeups exactly once each without exceeding any limit', async () => {
    const { db } = database;
    const [company] = await db.insert(companies).values({ name: 'Load' }).returning();
    const limits = new Map<string, number>();
    const rows = await db
      .insert(agents)
      .values(
        Array.from({ length: AGENTS }, (_, i) => ({
          companyId: company.id,
          name: `load-${i}`,
          adapterType: 'script' as const,
          adapterConfig: { steps: [{ sleepMs: 5 }, { log: 'done' }] },
          runtimeConfig: { heartbeat: { maxConcurrentRuns: (i % 3) + 1 } },
        })),
      )
      .returning();
    for (const [i, row] of rows.entries()) limits.set(row.id, (i % 3) + 1);

    let next = 0;
    const enqueueWorker = async (engine: Engine, until: number) => {
      while (next < until) {
        const i = next++;
        const agent = rows[i % AGENTS];
        const result = await engine.enqueueWakeup({ companyId: company.id, agentId: agent.id, payload: { taskKey: `task-${i}` } });
        expect(result.outcome).toBe('queued');
      }
    };
    // Most wakeups go in through both instances before either executes anything, so that when both
    // start they compete for the same queues from the first moment. The rest go in through both
    // while they run: an instance that lost the first claims to the other (which then claims each
    // agent's next run as its last one ends) still gets the runs it can claim as they are woken.
    await Promise.all(Array.from({ length: 16 }, (_, i) => enqueueWorker(engines[i % 2], WAKEUPS - WAKEUPS / 4)));
    await Promise.all(engines.map((engine) => engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' })));
    await Promise.all(Array.from({ length: 16 }, (_, i) => enqueueWorker(engines[i % 2], WAKEUPS)));

    const finished = await waitFor(
      'every run to finish',
      async () => {
        const [{ open, total }] = await database.sql<{ open: number; total: number }[]>`
          select count(*) filter (where status not in ('succeeded', 'failed', 'cancelled', 'timed_out'))::int as open,
                 count(*)::int as total
          from heartbeat_runs`;
        return open === 0 && total === WAKEUPS ? total : null;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );
    expect(finished).toBe(WAKEUPS);

    const statuses = await database.sql<{ status: string; count: number }[]>`
      select status, count(*)::int as count from heartbeat_runs group by status`;
    expect(statuses).toEqual([{ status: 'succeeded', count: WAKEUPS }]);
    expect(executions.size).toBe(WAKEUPS);
    expect([...executions.values()].every((n) => n === 1)).toBe(true);
    for (const [agentId, limit] of limits) {
      expect(peak.get(agentId), `agent with limit ${limit}`).toBeLessThanOrEqual(limit);
    }
    // Both instances did part of the work.
    const owners = await database.sql<{ owner: string }[]>`select distinct owner_instance_id as owner from heartbeat_runs`;
    expect(owners).toHaveLength(2);
    // Limits were actually reached, so the test could have caught an overshoot.
    expect([...peak.values()].filter((p) => p >= 2).length).toBeGreaterThan(0);
  }, 180_000);
});
