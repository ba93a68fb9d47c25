// Live subscriptions: N graphql-ws clients (one WebSocket each, from this process) subscribed to
// `runStatus(agentId:)` on a Heartbeat server running in its own process. While all N are held,
// agents are woken at a steady rate; each run's status changes (queued, running, succeeded,
// settled) reach the subscribers of its agent. Measured: event -> client latency (from the state's
// updatedAt, stamped by the engine before its commit, to the client receiving it), and the server's
// RSS per subscriber: (RSS with N - RSS with none) / N, both after a GC.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { generateApiKey } from '../../engine/index.ts';
import { type ChildServer, startChild } from '../lib/child.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { latencySummary, nowMs, sleep, until } from '../lib/stats.ts';

const SCENARIO = 'subscriptions';
const QUERY = 'subscription Bench($agent: ID!) { runStatus(agentId: $agent) { id status updatedAt } }';
/** Subscribers per agent: each status change reaches this many of them. */
const PER_AGENT = 10;
/** Wakeups per second while measuring: a moderate load, then four times as much. */
const WAKE_RATES = [5, 20];
const CONNECT_CONCURRENCY = 250;

interface Agent {
  id: string;
  globalId: string;
}

async function connectAll(url: string, key: string, agents: Agent[], count: number, onStatus: (updatedAt: string) => void) {
  const clients: Client[] = [];
  let errors = 0;
  let next = 0;
  const connectOne = (i: number) =>
    new Promise<void>((resolve) => {
      const client = createClient({
        url,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key}` },
        retryAttempts: 0,
        keepAlive: 0,
        on: { connected: () => resolve(), closed: () => resolve(), error: () => resolve() },
      });
      clients.push(client);
      client.subscribe<{ runStatus: { updatedAt: string } }>(
        { query: QUERY, variables: { agent: agents[i % agents.length].globalId } },
        {
          next: (message) => {
            if (message.data) onStatus(message.data.runStatus.updatedAt);
            else errors += 1;
          },
          error: () => {
            errors += 1;
          },
          complete: () => {},
        },
      );
    });
  await Promise.all(
    Array.from({ length: CONNECT_CONCURRENCY }, async () => {
      while (next < count) await connectOne(next++);
    }),
  );
  return { clients, errors: () => errors };
}

async function round(ctx: ScenarioContext, subscribers: number, seconds: number): Promise<void> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const key = generateApiKey();
  let server: ChildServer | null = null;
  let clients: Client[] = [];
  try {
    server = await startChild('server.ts', { DATABASE_URL: database.url, HEARTBEAT_BOOTSTRAP_KEY: key }, { exposeGc: true });
    const wsUrl = String(server.ready.graphqlUrl).replace(/^http/, 'ws');
    const agents = await server.request<Agent[]>('agents', { count: Math.max(1, Math.ceil(subscribers / PER_AGENT)) });
    // Warm up the server (JIT, pools, prepared statements) before its baseline RSS is taken.
    await server.request('runs', { agentIds: agents.slice(0, 20).map((a) => a.id), perAgent: 2 });
    const base = await server.request<{ rss: number }>('rss');

    let measuring = false;
    const samples: number[] = [];
    const t0 = nowMs();
    const connected = await connectAll(wsUrl, key, agents, subscribers, (updatedAt) => {
      // Wall clock on both sides (same machine): updatedAt was stamped with Date in the server.
      if (measuring) samples.push(Date.now() - Date.parse(updatedAt));
    });
    clients = connected.clients;
    const held = await until(
      `${subscribers} subscriptions on the server`,
      async () => {
        const { subscribers: n } = await server!.request<{ subscribers: number }>('rss');
        return n >= subscribers ? n : null;
      },
      120_000,
      250,
    );
    const connectSeconds = (nowMs() - t0) / 1000;
    const loaded = await server.request<{ rss: number }>('rss');

    const label = `${subscribers.toLocaleString('en-US')} subscribers`;
    ctx.results.record(SCENARIO, `${label}: held`, 'subscribers', 'higher', 'heartbeat', held);
    ctx.results.record(SCENARIO, `${label}: server RSS per subscriber`, 'KiB', 'lower', 'heartbeat', (loaded.rss - base.rss) / subscribers / 1024);
    ctx.results.record(SCENARIO, `${label}: connect + subscribe all`, 's', 'lower', 'heartbeat', connectSeconds);
    for (const rate of WAKE_RATES) {
      samples.length = 0;
      measuring = true;
      const wakes = Math.round(seconds * rate);
      const start = nowMs();
      for (let i = 0; i < wakes; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - nowMs();
        if (wait > 1) await sleep(wait);
        server.request('wake', { agentId: agents[Math.floor(Math.random() * agents.length)].id }).catch(() => {});
      }
      // Each run changes status four times; every change reaches the agent's subscribers.
      const expected = wakes * 4 * Math.min(PER_AGENT, subscribers);
      await until('status changes to reach the subscribers', () => samples.length >= expected, 30_000).catch(() => null);
      await sleep(500);
      measuring = false;
      const { p50, p95, p99 } = latencySummary(samples);
      const at = `${label} @ ${rate} wakeups/s (${rate * 4 * Math.min(PER_AGENT, subscribers)} messages/s)`;
      ctx.results.record(SCENARIO, `${at}: event -> client p50`, 'ms', 'lower', 'heartbeat', p50);
      ctx.results.record(SCENARIO, `${at}: event -> client p95`, 'ms', 'lower', 'heartbeat', p95);
      ctx.results.record(SCENARIO, `${at}: event -> client p99`, 'ms', 'lower', 'heartbeat', p99);
      ctx.results.record(SCENARIO, `${at}: delivered / expected`, '%', 'higher', 'heartbeat', (100 * samples.length) / expected);
      ctx.log(
        `${SCENARIO}: ${at}: held ${held}, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, ` +
          `${samples.length}/${expected} delivered, ${connected.errors()} errors, RSS ${(base.rss / 2 ** 20).toFixed(0)} -> ${(loaded.rss / 2 ** 20).toFixed(0)} MiB`,
      );
    }
  } finally {
    await Promise.allSettled(clients.map((client) => client.dispose()));
    await server?.close();
    await database.drop();
  }
}

export const subscriptionsScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const sizes = ctx.quick ? [100] : [1_000, 10_000];
    const seconds = ctx.quick ? 2 : 10;
    ctx.results.note(
      SCENARIO,
      `graphql-ws clients (one socket each) in the bench process, ${PER_AGENT} per agent on runStatus(agentId:), server in its own process; ` +
        `${WAKE_RATES.join(' then ')} wakeups/s for ${seconds} s each on random agents, each run's 4 status changes measured at every subscriber of its agent ` +
        '(latency from the state\'s updatedAt, stamped by the engine before its commit, to the client: wall clock, same machine).',
    );
    for (let r = 1; r <= ctx.rounds; r++) {
      for (const n of sizes) await round(ctx, n, seconds);
    }
  },
};
