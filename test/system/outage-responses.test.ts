// What clients and load balancers are told while the database is away. Proves: a request that meets
// an unreachable database is HTTP 503 SERVICE_UNAVAILABLE with Retry-After, over HTTP (a query and a
// mutation) and over WebSocket, within the request bound (HEARTBEAT_REQUEST_TIMEOUT_MS, 2 s here);
// a mutation refused that way is not carried out later, when the database answers again, nor when
// its transaction was only held up (a lock) past the bound; /readyz follows the database within a
// second, either way, and says not ready once the embedded PostgreSQL's data directory is deleted.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrateDatabase } from '../../db/migrate.ts';
import { AGENT_LOCK_NAMESPACE } from '../../engine/cluster/agent-locks.ts';
import { startHeartbeat, type HeartbeatApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config.ts';
import { createLogger } from '../../server/logger.ts';
import { rawId } from '../support/api.ts';
import { collect } from '../support/graphql.ts';
import { postgres as pgClient } from '../support/pg-client.ts';
import { waitFor } from '../support/wait.ts';

const KEY = 'hb_outage_test_bootstrap_key_00000000001';
const REQUEST_TIMEOUT_MS = 2_000;
/** What the bound may be overrun by on a busy test machine (the answer's own trip, a timer firing late). */
const SLACK_MS = 750;

type Answer = { status: number; retryAfter: string | null; ms: number; body: { data?: any; errors?: Array<{ message: string; extensions?: { code?: string } }> } };

async function post(url: string, query: string, variables?: Record<string, unknown>): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Answer['body'];
  return { status: response.status, retryAfter: response.headers.get('retry-after'), ms: performance.now() - started, body };
}

async function readyz(app: HeartbeatApp): Promise<{ status: number; reason?: string }> {
  const response = await fetch(`${app.url}/readyz`);
  const body = (await response.json()) as { status: string; reason?: string };
  return { status: response.status, reason: body.reason };
}

/** Polls /readyz until it answers `status`; returns how long that took. */
async function readyzTurns(app: HeartbeatApp, status: number, reason?: string): Promise<number> {
  const started = performance.now();
  await waitFor(`/readyz to answer ${status}`, async () => {
    const now = await readyz(app);
    return now.status === status && (reason === undefined || now.reason === reason);
  }, { timeoutMs: 10_000, intervalMs: 25 });
  return performance.now() - started;
}

/** An unavailable-database refusal: 503, SERVICE_UNAVAILABLE, Retry-After in seconds, within the bound. */
function expectRefused(answer: Answer, what: string) {
  expect(answer.status, `${what}: ${JSON.stringify(answer.body)}`).toBe(503);
  expect(answer.body.errors?.[0]?.extensions?.code, what).toBe('SERVICE_UNAVAILABLE');
  expect(answer.body.errors?.[0]?.message, what).not.toMatch(/Unexpected error/);
  expect(Number(answer.retryAfter), `${what}: Retry-After ${answer.retryAfter}`).toBeGreaterThanOrEqual(1);
  expect(Number(answer.retryAfter), what).toBeLessThanOrEqual(5);
  expect(answer.ms, what).toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
}

const CREATE_AGENT = `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`;
const agentInput = (name: string) => ({ input: { name, adapterType: 'SCRIPT', adapterConfig: { steps: [] } } });

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('while the database is away', () => {
  let dir: string;
  let postgres: EmbeddedPostgres;
  let app: HeartbeatApp;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-outage-'));
    postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 0 });
    await migrateDatabase(postgres.url);
    const config = loadConfig({
      DATABASE_URL: postgres.url,
      PORT: '0',
      HEARTBEAT_BOOTSTRAP_KEY: KEY,
      HEARTBEAT_DATA_DIR: join(dir, 'app'),
      HEARTBEAT_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    app = await startHeartbeat(config, createLogger(config.logLevel));
  }, 60_000);
  afterAll(async () => {
    await app?.close().catch(() => {});
    await postgres?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('a mutation whose transaction is held up past the bound is refused with 503 and rolled back, not committed later', async () => {
    const created = await post(app.graphqlUrl, CREATE_AGENT, agentInput('held-up'));
    expect(created.status).toBe(200);
    const agentId = rawId(created.body.data.createAgent.id);
    const enqueue = (taskKey: string, idempotencyKey?: string) =>
      post(app.graphqlUrl, `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome run { id } } }`, {
        input: { agentId: created.body.data.createAgent.id, payload: { taskKey }, idempotencyKey },
      });

    // The agent's lock, which every wakeup of it takes first, held by someone else for longer than the bound.
    const sql = pgClient(postgres.url);
    try {
      const holder = await sql.reserve();
      await holder`begin`;
      await holder`select pg_advisory_xact_lock(${AGENT_LOCK_NAMESPACE}, hashtext(${agentId}))`;
      // Two ways a wakeup is written: one pipelined transaction, and (with an idempotency key) `transact`.
      const refused = await Promise.all([enqueue('refused'), enqueue('refused-keyed', 'refused-key')]);
      for (const answer of refused) {
        expectRefused(answer, 'a held-up wakeup');
        expect(answer.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
        expect(answer.body.errors?.[0].message).toMatch(`did not answer within ${REQUEST_TIMEOUT_MS} ms`);
      }
      // The lock goes: the held-up transactions get it in turn, run their statements, and must roll back.
      await holder`commit`;
      holder.release();

      // A later wakeup of the agent waits for the agent's lock until the held-up ones have ended.
      const later = await enqueue('later');
      expect(later.status, JSON.stringify(later.body)).toBe(200);
      const rows = await sql<{ task: string }[]>`
        select context_snapshot->>'taskKey' as task from heartbeat_runs where agent_id = ${agentId} order by created_at`;
      expect(rows.map((row) => row.task)).toEqual(['later']);
      const wakeups = await sql<{ n: number }[]>`select count(*)::int as n from agent_wakeup_requests where agent_id = ${agentId}`;
      expect(wakeups[0].n).toBe(1);
    } finally {
      await sql.end();
    }
  });

  it('a request whose key check is held up past the bound is answered 503 at the bound', async () => {
    const sql = pgClient(postgres.url);
    try {
      const holder = await sql.reserve();
      await holder`begin`;
      await holder`lock table api_keys in access exclusive mode`;
      const held = await post(app.graphqlUrl, '{ viewer { name } }');
      expectRefused(held, 'the held-up key check');
      expect(held.ms).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 50);
      await holder`rollback`;
      holder.release();
      expect((await post(app.graphqlUrl, '{ viewer { name } }')).status).toBe(200);
    } finally {
      await sql.end();
    }
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After within the bound, commits nothing it refused, and /readyz follows the database', async () => {
    expect((await readyz(app)).status).toBe(200);
    // A WebSocket connected (its key checked) while the database is up, and kept open.
    const ws = createClient({
      url: app.graphqlUrl.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${KEY}` },
      retryAttempts: 0,
      lazyCloseTimeout: 60_000,
    });
    try {
      expect((await collect(ws, '{ viewer { name } }'))[0].data).toEqual({ viewer: { name: 'Heartbeat' } });

      const port = postgres.port;
      await postgres.stop();
      const down = await readyzTurns(app, 503, 'database unreachable');
      expect(down).toBeLessThan(1_000);

      expectRefused(await post(app.graphqlUrl, '{ viewer { name } agents(first: 5) { edges { node { id } } } }'), 'a query');
      const names = Array.from({ length: 4 }, (_, i) => `refused-during-outage-${i}`);
      const answers = await Promise.all(names.map((name) => post(app.graphqlUrl, CREATE_AGENT, agentInput(name))));
      answers.forEach((answer, i) => expectRefused(answer, `createAgent ${names[i]}`));
      // Sent one after another too, each meeting the database driver in whatever state the last left it.
      for (const name of ['refused-during-outage-a', 'refused-during-outage-b']) {
        names.push(name);
        expectRefused(await post(app.graphqlUrl, CREATE_AGENT, agentInput(name)), `createAgent ${name}`);
      }

      const [overWs] = await collect(ws, '{ viewer { name } }');
      expect(overWs.errors?.[0]?.extensions?.code, JSON.stringify(overWs)).toBe('SERVICE_UNAVAILABLE');
      expect(JSON.stringify(overWs)).not.toMatch(/"http"|Unexpected error/);

      postgres = await startEmbeddedPostgres({ dataDir: postgres.dataDir, port });
      expect(postgres.port).toBe(port);
      const up = await readyzTurns(app, 200);
      expect(up).toBeLessThan(1_000);
      // The API is back as soon (its pool reconnects within half a second).
      const back = performance.now();
      await waitFor('the API to answer again', async () => (await post(app.graphqlUrl, '{ viewer { name } }')).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 25,
      });
      const apiBack = performance.now() - back;
      expect(apiBack).toBeLessThan(2_000);
      console.info(
        `outage: /readyz 503 after ${Math.round(down)} ms, 200 ${Math.round(up)} ms after the database was back, API ${Math.round(up + apiBack)} ms; ` +
          `refusals took ${answers.map((answer) => Math.round(answer.ms)).join(', ')} ms`,
      );

      // Everything that was queued has gone through by the time a new mutation has: none of the refused ones.
      const after = await post(app.graphqlUrl, CREATE_AGENT, agentInput('after-outage'));
      expect(after.status, JSON.stringify(after.body)).toBe(200);
      const sql = pgClient(postgres.url);
      try {
        const rows = await sql<{ name: string }[]>`select name from agents where name = any(${[...names, 'after-outage']}) order by name`;
        expect(rows.map((row) => row.name)).toEqual(['after-outage']);
      } finally {
        await sql.end();
      }
    } finally {
      await ws.dispose();
    }
  });
});

describe('the embedded PostgreSQL', () => {
  it('/readyz says not ready once its data directory is deleted', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'heartbeat-outage-embedded-'));
    const config = loadConfig({
      PORT: '0',
      HEARTBEAT_BOOTSTRAP_KEY: KEY,
      HEARTBEAT_DATA_DIR: dir,
      HEARTBEAT_EMBEDDED_PG_PORT: String(await freePort()),
      HEARTBEAT_TICK_MS: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    });
    const app = await startHeartbeat(config, createLogger(config.logLevel));
    try {
      expect(app.embedded).toBe(true);
      expect(await readyz(app)).toEqual({ status: 200, reason: undefined });
      // PostgreSQL goes on serving from the files it has open: only the directory tells.
      await rm(join(dir, 'pg'), { recursive: true, force: true });
      const missing = await readyzTurns(app, 503, 'data directory missing');
      expect(missing).toBeLessThan(1_000);
    } finally {
      await app.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
