// Fault: PostgreSQL restarts while Heartbeat is under load (100 wakeups/s for 30 s, two instances).
// Proves: no accepted wakeup and no run is lost or harmed (every run succeeds); the engines and
// their LISTEN connections come back by themselves; a subscriber is either kept or told to resume, and sees runs again afterwards.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { startHeartbeat, type HeartbeatApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { rawId } from '../support/api.ts';
import { postGraphQL, wsClient } from '../support/graphql.ts';
import { waitFor } from '../support/wait.ts';

const KEY = 'hb_fault_test_bootstrap_key_000000000001';
const RATE_PER_SEC = 100;
const LOAD_MS = 30_000;
const RESTART_AT_MS = 10_000;

describe('a PostgreSQL restart under load', () => {
  let dir: string;
  let postgres: EmbeddedPostgres;
  const apps: HeartbeatApp[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-pg-restart-'));
    postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 0 });
    await migrateDatabase(postgres.url);
    for (const name of ['a', 'b']) {
      const config = loadConfig({
        DATABASE_URL: postgres.url,
        PORT: '0',
        HEARTBEAT_BOOTSTRAP_KEY: KEY,
        HEARTBEAT_DATA_DIR: join(dir, name),
        HEARTBEAT_MUTATION_RATE: '10000',
        HEARTBEAT_MUTATION_BURST: '10000',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      });
      apps.push(await startHeartbeat(config, createLogger(config.logLevel)));
    }
  }, 120_000);
  afterAll(async () => {
    for (const app of apps) await app.close().catch(() => {});
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const gql = (app: HeartbeatApp, query: string, variables?: Record<string, unknown>) => postGraphQL<any>(app.graphqlUrl, query, { key: KEY, variables });

  it('loses no accepted wakeup and no run; engines, LISTEN and subscribers recover', async () => {
    const [a, b] = apps;
    const agents: string[] = [];
    for (let i = 0; i < 4; i++) {
      const { body } = await gql(a, `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`, {
        input: { name: `load-${i}`, adapterType: 'SCRIPT', adapterConfig: { steps: [] }, heartbeat: { maxConcurrentRuns: 10 } },
      });
      agents.push(body.data.createAgent.id);
    }

    // A subscriber on B to every run of the company, re-subscribing whenever it is told to.
    const seen = new Map<string, string>();
    let endings = 0;
    const ws = wsClient(b.graphqlUrl.replace(/^http/, 'ws'), { authorization: `Bearer ${KEY}` });
    let stopped = false;
    const subscribe = () =>
      ws.subscribe<{ runStatus: { id: string; status: string } }>(
        { query: 'subscription { runStatus { id status } }' },
        {
          next: (result) => result.data && seen.set(result.data.runStatus.id, result.data.runStatus.status),
          error: () => {
            endings += 1;
            if (!stopped) setTimeout(subscribe, 200); // told to resume: resume
          },
          complete: () => {
            endings += 1;
            if (!stopped) setTimeout(subscribe, 200);
          },
        },
      );
    subscribe();
    await waitFor('the subscriber on B', () => b.hub.size === 1);

    const accepted: string[] = [];
    let refused = 0;
    let restart: Promise<void> | null = null;
    const started = Date.now();
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; Date.now() - started < LOAD_MS; i++) {
      const due = started + (i * 1000) / RATE_PER_SEC;
      if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
      // The load goes on while PostgreSQL restarts.
      if (!restart && Date.now() - started >= RESTART_AT_MS) {
        const port = postgres.port;
        restart = (async () => {
          await postgres.stop();
          postgres = await startEmbeddedPostgres({ dataDir: postgres.dataDir, port });
          expect(postgres.port).toBe(port);
        })();
      }
      const request = gql(i % 2 ? a : b, `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome run { id } } }`, {
        input: { agentId: agents[i % agents.length], payload: { taskKey: `t${i}` } },
      })
        .then(({ body }) => {
          if (body.data?.enqueueWakeup?.run?.id) accepted.push(body.data.enqueueWakeup.run.id);
          else refused += 1;
        }, () => void (refused += 1))
        .finally(() => inFlight.delete(request));
      inFlight.add(request);
    }
    await restart;
    await Promise.all(inFlight);
    expect(accepted.length).toBeGreaterThan(RATE_PER_SEC * 20); // most of the load was taken

    // Every accepted wakeup's run reaches a terminal state.
    const open = async () => {
      const { body } = await gql(a, `query { runs(first: 1, filter: { status: [QUEUED, RUNNING, SCHEDULED_RETRY] }) { edges { node { id } } } }`);
      return body.data?.runs?.edges?.length ?? 1;
    };
    // Draining ~3,000 runs takes a while on a busy 2-core machine; what matters is that all of them end.
    await waitFor('every run to finish', async () => (await open()) === 0, { timeoutMs: 200_000, intervalMs: 500 });
    const { postgres: pgClient } = await import('../support/pg-client.ts');
    const sql = pgClient(postgres.url);
    try {
      const ids = accepted.map(rawId);
      const rows = await sql<{ id: string; status: string; error_code: string | null; error: string | null }[]>`select id, status, error_code, error from heartbeat_runs where id = any(${ids})`;
      expect(rows).toHaveLength(accepted.length);
      // Every run was healthy: one that ended anything but succeeded was harmed by the restart.
      expect(rows.filter((r) => r.status !== 'succeeded')).toEqual([]);
      const wakes = await sql<{ n: number }[]>`select count(*)::int as n from agent_wakeup_requests w where w.run_id = any(${ids})`;
      expect(wakes[0].n).toBe(accepted.length);
    } finally {
      await sql.end();
    }

    // After the restart, live updates flow again, across instances: a new run on A reaches B's subscriber.
    const { body } = await gql(a, `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { run { id } } }`, { input: { agentId: agents[0], payload: { taskKey: 'after' } } });
    const after = body.data.enqueueWakeup.run.id;
    await waitFor(
      'B to see the run after the restart',
      () => {
        if (seen.get(after) === 'SUCCEEDED') return true;
        // Said on a timeout: what B's subscriber saw of the run, and how often it had to resubscribe.
        throw new Error(`B saw ${seen.get(after) ?? 'nothing'} of it; its subscription ended ${endings} time(s); it holds ${b.hub.size} subscriber(s)`);
      },
      { timeoutMs: 30_000 },
    );
    stopped = true;
    await ws.dispose();
    console.info(`postgres restart: ${accepted.length} accepted, ${refused} refused while it was down, subscriber told to resume ${endings} time(s)`);
  }, 360_000);
});
