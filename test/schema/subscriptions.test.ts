// runEvents and runStatus over real graphql-ws clients against running servers.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { companies, engineInstances, heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { claimNextRunsForAgent } from '../../engine/runs/claim.ts';
import { transact } from '../../engine/model/deps.ts';
import { appendRunEvent } from '../../engine/runs/events.ts';
import type { LiveSignal } from '../../engine/live/live-signals.ts';
import { runStateSnapshot } from '../../engine/model/runs.ts';
import { settleRun } from '../../engine/runs/settle.ts';
import { agentGid, createAgent, enqueue, runGid } from '../support/api.ts';
import { collect, wsClient } from '../support/graphql.ts';
import { postgres } from '../support/pg-client.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const RUN_EVENTS = `subscription($runId: ID!, $afterSeq: Int) { runEvents(runId: $runId, afterSeq: $afterSeq) { seq eventType message } }`;
const RUN_STATUS = `subscription($runId: ID, $agentId: ID) { runStatus(runId: $runId, agentId: $agentId) { id status settledAt liveness { state } retry { attempt maxAttempts } } }`;
type EventResult = { runEvents: { seq: number; eventType: string; message: string } };
type StatusResult = { runStatus: { id: string; status: string; settledAt: string | null } };

/** The code of a refused subscription: an `error` message (the iteration rejects with its errors) or a first result carrying errors. */
function errorCode(outcome: unknown): unknown {
  const [first] = outcome as Array<{ extensions?: { code?: string }; errors?: Array<{ extensions?: { code?: string } }> }>;
  return first?.errors ? first.errors[0]?.extensions?.code : first?.extensions?.code;
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A running run that no engine executes: tests write its events and finish it by hand. It belongs
 * to an instance with a live lease elsewhere, so no reaper touches it.
 */
async function inertRun(server: TestServer) {
  const agentId = await createAgent(server, {});
  const { db } = server.database;
  const [owner] = await db.insert(engineInstances).values({ host: 'elsewhere', pid: 1, leaseExpiresAt: new Date(Date.now() + 3_600_000) }).returning();
  const [wake] = await db.insert(wakeupRequests).values({ companyId: server.companyId, agentId, source: 'on_demand', status: 'claimed' }).returning();
  const [run] = await db
    .insert(heartbeatRuns)
    .values({ companyId: server.companyId, agentId, status: 'running', wakeupRequestId: wake.id, ownerInstanceId: owner.id, ownerHost: 'elsewhere' })
    .returning();
  const deps = server.app.engine.deps;
  return {
    agentId,
    run,
    write: (message: string) => transact(deps, (tx, events) => appendRunEvent(tx, events, { runId: run.id, eventType: 'tool.call', message }, new Date())),
    finish: async () => {
      await db.update(heartbeatRuns).set({ status: 'succeeded', finishedAt: new Date() }).where(eq(heartbeatRuns.id, run.id));
      await transact(deps, (tx, events) => settleRun(tx, events, run.id, new Date()));
    },
  };
}

describe('subscriptions on one server', () => {
  let server: TestServer;
  /** Every statement the server's own connection sends. */
  const statements: string[] = [];
  beforeAll(async () => {
    server = await startTestServer({ onQuery: (query) => statements.push(query) });
  });
  afterAll(() => server?.close());

  const client = (key = server.adminKey) => wsClient(server.wsUrl, { authorization: `Bearer ${key}` });

  it('runStatus by agent: queued -> running -> succeeded for a script run', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 100 }, { log: 'x' }] } });
    const ws = client();
    const seen: StatusResult['runStatus'][] = [];
    const done = (async () => {
      for await (const result of ws.iterate<StatusResult>({ query: RUN_STATUS, variables: { agentId: agentGid(agentId) } })) {
        seen.push(result.data!.runStatus);
        if (result.data!.runStatus.settledAt) break;
      }
    })();
    await waitFor('the subscription to be registered', () => server.app.hub.size === 1);
    const { runId } = await enqueue(server, { agentId });
    await done;
    await ws.dispose();
    const statuses = seen.filter((s) => s.id === runGid(runId!)).map((s) => s.status);
    expect(statuses.filter((s, i) => s !== statuses[i - 1])).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    await waitFor('the hub to let go', () => server.app.hub.size === 0);
  });

  it('runStatus subscribers told about one change share one read of the run', async () => {
    const inert = await inertRun(server);
    const subscribers = 8;
    const query = 'subscription($runId: ID) { runStatus(runId: $runId) { id status settledAt agent { name } } }';
    const clients = range(1, subscribers).map(() => client());
    const seen = clients.map(() => [] as StatusResult['runStatus'][]);
    statements.length = 0;
    const done = clients.map(async (ws, i) => {
      for await (const result of ws.iterate<StatusResult>({ query, variables: { runId: runGid(inert.run.id) } })) seen[i].push(result.data!.runStatus);
    });
    await waitFor('every subscriber to have the current state', () => seen.every((results) => results.length === 1));
    // The current state is read once per subscriber: that statement (its selection planned, with
    // the agent joined) is the read a change costs.
    const reads = statements.filter((statement) => statement.includes('from "heartbeat_runs"') && statement.includes('"agent"'));
    expect(reads).toHaveLength(subscribers);
    expect(new Set(reads).size).toBe(1);
    statements.length = 0;
    // One change, committed at once: the run succeeds and settles.
    const { deps } = server.app.engine;
    await transact(deps, async (tx, events) => {
      await tx.update(heartbeatRuns).set({ status: 'succeeded', finishedAt: new Date() }).where(eq(heartbeatRuns.id, inert.run.id));
      await settleRun(tx, events, inert.run.id, new Date());
    });
    await Promise.all(done);
    await Promise.all(clients.map((ws) => ws.dispose()));
    for (const results of seen) {
      expect(results.map((r) => r.status)).toEqual(['RUNNING', 'SUCCEEDED']);
      expect(results[1].settledAt).not.toBeNull();
    }
    expect(statements.filter((statement) => statement === reads[0])).toHaveLength(1);
  });

  it('runStatus: a state replayed after a gap in signals is not sent when a newer one already was', async () => {
    const inert = await inertRun(server);
    const ws = client();
    const statuses: string[] = [];
    const unsubscribe = ws.subscribe<StatusResult>(
      { query: RUN_STATUS, variables: { agentId: agentGid(inert.agentId) } },
      { next: (result) => result.data && statuses.push(result.data.runStatus.status), error: () => {}, complete: () => {} },
    );
    try {
      await waitFor('the subscriber', () => server.app.hub.size === 1);
      const at = (ms: number) => ({ ...inert.run, updatedAt: new Date(inert.run.updatedAt.getTime() + ms) });
      const signal = (run: typeof inert.run, replay: boolean): LiveSignal => ({
        kind: 'run',
        companyId: run.companyId,
        runId: run.id,
        agentId: run.agentId,
        issueId: null,
        state: runStateSnapshot(run),
        ...(replay ? { replay: true as const } : {}),
      });
      server.app.hub.deliver(signal({ ...at(2_000), status: 'succeeded' }, false));
      await waitFor('the live state', () => statuses.length === 1);
      // Read before that live signal arrived: older, so not news.
      server.app.hub.deliver(signal({ ...at(1_000), status: 'running' }, true));
      // Newer than anything sent: news, even replayed.
      server.app.hub.deliver(signal({ ...at(3_000), status: 'failed' }, true));
      await waitFor('the newer replayed state', () => statuses.length === 2);
      expect(statuses).toEqual(['SUCCEEDED', 'FAILED']);
    } finally {
      unsubscribe();
      await ws.dispose();
    }
  });

  it('runStatus with runId sends the current state first and completes once the run has settled', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 150 }] } });
    const { runId } = await enqueue(server, { agentId });
    const ws = client();
    const results = await collect<StatusResult>(ws, RUN_STATUS, { runId: runGid(runId!) });
    await ws.dispose();
    expect(['QUEUED', 'RUNNING']).toContain(results[0].data!.runStatus.status);
    const last = results.at(-1)!.data!.runStatus;
    expect(last).toMatchObject({ status: 'SUCCEEDED', retry: { attempt: 0, maxAttempts: 4 } });
    expect(last.settledAt).not.toBeNull();
  });

  it('runEvents replays a finished run and completes', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ event: { type: 'tool.call', message: 'a' } }, { event: { type: 'tool.call', message: 'b' } }] } });
    const { runId } = await enqueue(server, { agentId });
    await waitFor('settled', async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.settledAt);
    const ws = client();
    statements.length = 0;
    const results = await collect<EventResult>(ws, RUN_EVENTS, { runId: runGid(runId!), afterSeq: 0 });
    // The events are read a page at a time, never again one by one as they are resolved.
    const eventReads = statements.filter((statement) => statement.includes('from "heartbeat_run_events"'));
    expect(eventReads).toHaveLength(1);
    const tail = await collect<EventResult>(ws, RUN_EVENTS, { runId: runGid(runId!), afterSeq: 3 });
    await ws.dispose();
    expect(results.map((r) => r.data!.runEvents.message)).toEqual(['run started', 'adapter invoked', 'a', 'b', 'run succeeded']);
    expect(tail.map((r) => r.data!.runEvents.seq)).toEqual([4, 5]);
  });

  it('runEvents subscribers woken by one write share one read of the new page and of the run', async () => {
    const inert = await inertRun(server);
    const subscribers = 8;
    const writes = 3;
    statements.length = 0;
    const clients = range(1, subscribers).map(() => client());
    const seen = clients.map(() => [] as number[]);
    const done = clients.map(async (ws, i) => {
      for await (const result of ws.iterate<EventResult>({ query: RUN_EVENTS, variables: { runId: runGid(inert.run.id) } })) seen[i].push(result.data!.runEvents.seq);
    });
    await waitFor('every subscriber to watch the run', () => server.app.hub.size === subscribers);
    for (let seq = 1; seq <= writes; seq++) {
      await inert.write(`event ${seq}, eight watchers`);
      await waitFor(`every subscriber to have event ${seq}`, () => seen.every((seqs) => seqs.length === seq));
    }
    await inert.finish();
    await Promise.all(done);
    await Promise.all(clients.map((ws) => ws.dispose()));
    for (const seqs of seen) expect(seqs).toEqual(range(1, writes));
    const pageReads = statements.filter((statement) => statement.includes('from "heartbeat_run_events"'));
    const stateReads = statements.filter((statement) => statement.startsWith('select') && statement.includes('"last_event_seq"') && !statement.includes('"agent"'));
    // Each subscriber reads on its own once as it starts (they start one after another). After
    // that, unshared, each would read the page and the run's state at every write and at the end
    // (8 + 8 x 4 = 40 of each); shared, the subscribers woken together read once (8 + 4). A
    // subscriber's 5 s poll may fall in between and read on its own: room for a few.
    expect(pageReads.length).toBeLessThanOrEqual(subscribers + (writes + 1) + 4);
    expect(stateReads.length).toBeLessThanOrEqual(subscribers + (writes + 1) + 4);
  });

  it('runEvents subscribers of two runs at the same position each get their own run\'s events', async () => {
    const runs = [await inertRun(server), await inertRun(server)];
    const clients = runs.map(() => [client(), client()]);
    const seen = clients.map((pair) => pair.map(() => [] as string[]));
    const done = runs.flatMap((inert, r) =>
      clients[r].map(async (ws, i) => {
        for await (const result of ws.iterate<EventResult>({ query: RUN_EVENTS, variables: { runId: runGid(inert.run.id) } })) seen[r][i].push(result.data!.runEvents.message);
      }),
    );
    await waitFor('every subscriber to watch its run', () => server.app.hub.size === 4);
    for (let n = 1; n <= 3; n++) {
      // Both runs' events at the same seqs, committed together: all four watchers are woken at once
      // and read the same position of the same selection, each for its own run.
      await transact(server.app.engine.deps, async (tx, events) => {
        for (const [r, inert] of runs.entries()) await appendRunEvent(tx, events, { runId: inert.run.id, eventType: 'tool.call', message: `run ${r} event ${n}` }, new Date());
      });
      await waitFor(`every subscriber to have event ${n}`, () => seen.flat().every((messages) => messages.length === n));
    }
    await Promise.all(runs.map((inert) => inert.finish()));
    await Promise.all(done);
    await Promise.all(clients.flat().map((ws) => ws.dispose()));
    for (const r of [0, 1]) for (const messages of seen[r]) expect(messages).toEqual(range(1, 3).map((n) => `run ${r} event ${n}`));
  });

  it('runEvents: replay then live, without gap or duplicate, while four writers append concurrently', async () => {
    const inert = await inertRun(server);
    for (let i = 0; i < 100; i++) await inert.write(`before ${i}`);
    const writers = Promise.all(range(1, 4).map(async (w) => {
      for (let i = 0; i < 150; i++) await inert.write(`writer ${w} #${i}`);
    }));
    const ws = client();
    const collected = collect<EventResult>(ws, RUN_EVENTS, { runId: runGid(inert.run.id) });
    await writers;
    await inert.finish();
    const seqs = (await collected).map((r) => r.data!.runEvents.seq);
    await ws.dispose();
    expect(seqs).toEqual(range(1, 700));
  });

  it('runEvents: a client that reconnects with the last seq it saw misses nothing', async () => {
    const inert = await inertRun(server);
    const writing = (async () => {
      for (let i = 0; i < 400; i++) await inert.write(`event ${i}`);
    })();
    const first = client();
    const seen: number[] = [];
    await new Promise<void>((resolve) => {
      const dispose = first.subscribe<EventResult>(
        { query: RUN_EVENTS, variables: { runId: runGid(inert.run.id) } },
        {
          next: (result) => {
            if (seen.length === 50) return; // what arrives after the drop was never seen
            seen.push(result.data!.runEvents.seq);
            if (seen.length === 50) {
              dispose();
              first.terminate(); // a dropped connection, not a goodbye
              resolve();
            }
          },
          error: () => resolve(),
          complete: () => resolve(),
        },
      );
    });
    const second = client();
    const resumed = collect<EventResult>(second, RUN_EVENTS, { runId: runGid(inert.run.id), afterSeq: seen.at(-1) });
    await writing;
    await inert.finish();
    const rest = (await resumed).map((r) => r.data!.runEvents.seq);
    await second.dispose();
    expect([...seen, ...rest]).toEqual(range(1, 400));
  });

  it('is authorised at subscribe time: another company, and run tokens, are refused', async () => {
    const inert = await inertRun(server);
    const [company] = await server.database.db.insert(companies).values({ name: 'Rival' }).returning();
    const rival = await createApiKey(server.database.db, { companyId: company.id, name: 'rival' });
    const ws = client(rival.key);
    const error = await collect(ws, RUN_EVENTS, { runId: runGid(inert.run.id) }).catch((e: unknown) => e);
    await ws.dispose();
    expect(errorCode(error)).toBe('NOT_FOUND');

    // A run token may not subscribe, not even to its own run.
    const agentId = await createAgent(server, {});
    const { db } = server.database;
    await db.insert(heartbeatRuns).values({ companyId: server.companyId, agentId, status: 'queued' });
    const [claimed] = await claimNextRunsForAgent(server.app.engine.deps, agentId);
    const tokenClient = client(claimed.runToken);
    const refused = await collect(tokenClient, RUN_EVENTS, { runId: runGid(claimed.run.id) }).catch((e: unknown) => e);
    await tokenClient.dispose();
    expect(errorCode(refused)).toBe('FORBIDDEN');
    await inert.finish();
  });

  it('closed sockets release their watchers and open no database connections', async () => {
    const inert = await inertRun(server);
    const listeners = async () =>
      (await server.database.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database() and query ilike 'listen%'`)[0].n;
    const connections = async () =>
      (await server.database.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity where datname = current_database()`)[0].n;
    const before = { listeners: await listeners(), connections: await connections() };
    const clients = range(1, 20).map(() => client());
    for (const ws of clients) ws.subscribe({ query: RUN_EVENTS, variables: { runId: runGid(inert.run.id) } }, { next: () => {}, error: () => {}, complete: () => {} });
    await waitFor('20 watchers', () => server.app.hub.size === 20);
    // Subscriptions share the instance's pool (10) and its single LISTEN connection.
    expect(await listeners()).toBe(before.listeners);
    expect(await connections()).toBeLessThanOrEqual(before.connections + 10);
    for (const ws of clients) ws.terminate();
    await waitFor('every watcher released', () => server.app.hub.size === 0);
    await inert.finish();
  });

  it('a subscriber that stops reading is ended with SLOW_CONSUMER and a resume point; memory stays bounded', async () => {
    const inert = await inertRun(server);
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 250; i++) await inert.write(`${i} ${big}`); // ~16 MB of events
    await inert.finish();
    const socket = new WebSocket(server.wsUrl, 'graphql-transport-ws');
    const messages: Array<{ type: string; payload?: any }> = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once('open', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${server.adminKey}` } }));
    await waitFor('ack', () => messages.some((m) => m.type === 'connection_ack'));
    socket.send(JSON.stringify({ id: 's1', type: 'subscribe', payload: { query: RUN_EVENTS, variables: { runId: runGid(inert.run.id) } } }));
    await waitFor('the first event', () => messages.some((m) => m.type === 'next'));
    // Stop reading: the server's send buffer fills, then it ends the subscription instead of queueing more.
    (socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause();
    await waitFor('the server to end the subscription', () => server.app.hub.size === 0, { timeoutMs: 30_000 });
    (socket as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor('complete', () => messages.some((m) => m.type === 'complete'), { timeoutMs: 30_000 });
    socket.close();
    const events = messages.filter((m) => m.type === 'next' && m.payload.data);
    const ending = messages.find((m) => m.type === 'next' && m.payload.errors)!;
    expect(events.length).toBeLessThan(250);
    expect(ending.payload.errors[0].extensions).toMatchObject({ code: 'SLOW_CONSUMER', resumeAfterSeq: events.at(-1)!.payload.data.runEvents.seq });
  }, 60_000);
});

describe.each([
  ['Postgres LISTEN/NOTIFY', {}],
  ...(process.env.TEST_REDIS_URL ? [['Redis pub/sub', { REDIS_URL: process.env.TEST_REDIS_URL }] as const] : []),
] as Array<[string, Record<string, string>]>)('across instances (%s)', (_name, env) => {
  let a: TestServer;
  let b: TestServer;
  beforeAll(async () => {
    a = await startTestServer({ env });
    // B never claims queued runs by itself (no loop), so A executes what A enqueues.
    b = await startTestServer({ database: a.database, env: { ...env, HEARTBEAT_TICK_MS: '0' } });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a subscriber on instance B sees every status and event of a run executed by instance A', async () => {
    const agentId = await createAgent(a, { adapterConfig: { steps: [{ log: 'one' }, { sleepMs: 100 }, { event: { type: 'tool.call', message: 'two' } }, { sleepMs: 100 }, { event: { type: 'tool.call', message: 'three' } }] } });
    const ws = wsClient(b.wsUrl, { authorization: `Bearer ${a.adminKey}` });
    const statuses: StatusResult['runStatus'][] = [];
    const watching = (async () => {
      for await (const result of ws.iterate<StatusResult>({ query: RUN_STATUS, variables: { agentId: agentGid(agentId) } })) {
        statuses.push(result.data!.runStatus);
        if (result.data!.runStatus.settledAt) break;
      }
    })();
    await waitFor('B to watch', () => b.app.hub.size === 1);
    const { runId } = await enqueue(a, { agentId });
    await waitFor('the run to start', () => statuses.some((s) => s.status === 'RUNNING'));
    const events = await collect<EventResult>(ws, RUN_EVENTS, { runId: runGid(runId!) });
    await watching;
    await ws.dispose();
    const run = await a.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
    expect(run!.ownerInstanceId).toBe(a.app.engine.instanceId);
    const sequence = statuses.map((s) => s.status);
    expect(sequence.filter((s, i) => s !== sequence[i - 1])).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
    expect(events.map((r) => r.data!.runEvents.seq)).toEqual(range(1, run!.lastEventSeq));
    expect(events.map((r) => r.data!.runEvents.message)).toContain('three');
  });

  it('after its connection for signals dropped, B catches its subscribers up on the runs that changed meanwhile', async () => {
    const agentId = await createAgent(a, {});
    const ws = wsClient(b.wsUrl, { authorization: `Bearer ${a.adminKey}` });
    const seen = new Map<string, string>();
    const unsubscribe = ws.subscribe<StatusResult>(
      { query: RUN_STATUS, variables: { agentId: agentGid(agentId) } },
      { next: (result) => result.data && seen.set(result.data.runStatus.id, result.data.runStatus.status), error: () => {}, complete: () => {} },
    );
    try {
      await waitFor('B to watch', () => b.app.hub.size === 1);
      // A change no signal tells anyone about: what a batch lost in the gap would leave behind.
      const { db } = a.database;
      const [wake] = await db.insert(wakeupRequests).values({ companyId: a.companyId, agentId, source: 'on_demand', status: 'completed' }).returning();
      const now = new Date();
      const [run] = await db
        .insert(heartbeatRuns)
        .values({ companyId: a.companyId, agentId, status: 'succeeded', wakeupRequestId: wake.id, startedAt: now, finishedAt: now, settledAt: now })
        .returning();
      await dropSignalConnections(a.database.url, env);
      await waitFor('B to announce the run changed in the gap', () => seen.get(runGid(run.id)) === 'SUCCEEDED', { timeoutMs: 15_000 });
      const metrics = await (await fetch(`${b.app.url}/metrics`)).text();
      expect(metrics).toMatch(/^heartbeat_live_catch_ups_total [1-9]/m);
      expect(metrics).toMatch(/^heartbeat_live_catch_up_runs_total [1-9]/m);
    } finally {
      unsubscribe();
      await ws.dispose();
    }
  });
});

/** Cuts the connections live signals travel on, as a database restart or a network fault would. */
async function dropSignalConnections(databaseUrl: string, env: Record<string, string>) {
  if (env.REDIS_URL) {
    const redis = new Redis(env.REDIS_URL);
    try {
      await redis.client('KILL', 'TYPE', 'pubsub');
    } finally {
      redis.disconnect();
    }
    return;
  }
  const sql = postgres(databaseUrl);
  try {
    const killed = await sql`
      select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'heartbeat-live' and datname = current_database()`;
    expect(killed.length).toBeGreaterThan(0);
  } finally {
    await sql.end();
  }
}
