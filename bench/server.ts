// A Heartbeat server (startHeartbeat: HTTP, WebSocket, engine, NOTIFY fanout) in a process of its
// own, started by the bench (lib/child.ts) with DATABASE_URL and friends in its environment.
// The bench asks it over IPC for agents, runs, wakeups and its RSS.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agents, companies } from '../db/schema.ts';
import { encodeGlobalId } from '../schema/global-id.ts';
import { startHeartbeat } from '../server/app.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger } from '../server/logger.ts';
import { serveRequests } from './lib/child.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'heartbeat-bench-server-'));
// Its agents (bench/agents) run from the checkout, which may be root-only: as the server's user, as
// in the test suite. What the bench measures is the output's path, not the sandbox's start.
const config = loadConfig({ ...process.env, PORT: '0', HEARTBEAT_DATA_DIR: dataDir, LOG_LEVEL: 'silent', HEARTBEAT_AGENT_SANDBOX: 'none' });
const app = await startHeartbeat(config, createLogger('silent'));
const [company] = await app.db.select({ id: companies.id }).from(companies).limit(1);

const settled = new Set<string>();
let onSettled: (() => void) | null = null;
app.engine.deps.bus.subscribe((event) => {
  if (event.type === 'heartbeat.run.status' && event.state.settledAt !== null && !settled.has(event.runId)) {
    settled.add(event.runId);
    onSettled?.();
  }
});

serveRequests({
  /** Script agents (no-op unless `adapterConfig` says otherwise); returns their ids and global ids. */
  agents: async ({ count, adapterConfig }) => {
    const rows = await app.db
      .insert(agents)
      .values(
        Array.from({ length: Number(count) }, (_, i) => ({
          companyId: company.id,
          name: `bench-${randomUUID().slice(0, 8)}-${i}`,
          adapterType: 'script' as const,
          adapterConfig: (adapterConfig as Record<string, unknown> | undefined) ?? { steps: [] },
          runtimeConfig: { heartbeat: { maxConcurrentRuns: 10, wakeOnDemand: true } },
        })),
      )
      .returning({ id: agents.id });
    return rows.map((row) => ({ id: row.id, globalId: encodeGlobalId('Agent', row.id) }));
  },
  /** Wakes the agents, `perAgent` each, and waits until every run has settled. */
  runs: async ({ agentIds, perAgent }) => {
    const ids = agentIds as string[];
    const want = settled.size + ids.length * Number(perAgent);
    const done = new Promise<void>((resolve) => {
      onSettled = () => settled.size >= want && resolve();
    });
    for (let k = 0; k < Number(perAgent); k++) {
      await Promise.all(ids.map((agentId) => app.engine.enqueueWakeup({ companyId: company.id, agentId, reason: 'bench', payload: { taskKey: randomUUID() } })));
    }
    await done;
    onSettled = null;
    return settled.size;
  },
  /** One wakeup (its run goes queued -> running -> succeeded -> settled). */
  wake: async ({ agentId }) => {
    const result = await app.engine.enqueueWakeup({ companyId: company.id, agentId: String(agentId), reason: 'bench', payload: { taskKey: randomUUID() } });
    return result.run?.id ?? null;
  },
  /** Resolves once `count` runs (counted since the start) have settled. */
  settled: async ({ count }) => {
    const want = Number(count);
    if (settled.size < want) {
      await new Promise<void>((resolve) => {
        onSettled = () => settled.size >= want && resolve();
      });
      onSettled = null;
    }
    return settled.size;
  },
  rss: async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    for (let i = 0; i < 3; i++) {
      gc?.();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { rss: process.memoryUsage().rss, subscribers: app.hub.size };
  },
  stop: async () => {
    await app.close();
    await rm(dataDir, { recursive: true, force: true });
    setImmediate(() => process.exit(0));
  },
});

process.send!({ type: 'ready', graphqlUrl: app.graphqlUrl, companyId: company.id, adminKey: config.bootstrapKey });
