// Agent.runStats: an agent's runs created in a window, counted by status, with the success rate of
// the finished ones and their p95 duration.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../db/schema.ts';
import { agentGid, createAgent, gql } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let mixed: string;
let idle: string;
let busy: string;

const DAY = 86_400_000;
const ago = (ms: number) => new Date(Date.now() - ms);

beforeAll(async () => {
  // The engine loop is off: the queued and running rows written here stay as they are.
  server = await startTestServer({ env: { HEARTBEAT_TICK_MS: '0' } });
  mixed = await createAgent(server, { name: 'mixed' });
  idle = await createAgent(server, { name: 'idle' });
  busy = await createAgent(server, { name: 'busy' });
  const createdAt = ago(DAY);
  const finished = (status: 'succeeded' | 'failed' | 'cancelled' | 'timed_out', durationMs: number | null) => ({
    companyId: server.companyId,
    agentId: mixed,
    status,
    createdAt,
    startedAt: durationMs === null ? null : createdAt,
    finishedAt: new Date(createdAt.getTime() + (durationMs ?? 0)),
  });
  const active = (agentId: string, status: 'running' | 'queued' | 'scheduled_retry') => ({ companyId: server.companyId, agentId, status, createdAt, startedAt: status === 'running' ? createdAt : null });
  await server.database.db.insert(heartbeatRuns).values([
    finished('succeeded', 1000),
    finished('succeeded', 2000),
    finished('succeeded', 3000),
    finished('failed', 4000),
    finished('failed', 5000),
    // Cancelled before it started: finished, without a duration.
    finished('cancelled', null),
    finished('timed_out', 60_000),
    active(mixed, 'running'),
    active(mixed, 'queued'),
    active(mixed, 'scheduled_retry'),
    // Created before the default week: only a wider window counts it.
    { ...finished('succeeded', 1000), createdAt: ago(8 * DAY) },
    active(busy, 'running'),
  ]);
});
afterAll(() => server?.close());

const STATS = `query($id: ID!, $since: DateTime) { agent(id: $id) { runStats(since: $since) {
  total succeeded failed cancelled timedOut running queued successRate p95DurationMs } } }`;
const stats = async (agentId: string, since?: Date) => (await gql(server, STATS, { id: agentGid(agentId), since: since?.toISOString() })).agent.runStats;

describe('Agent.runStats', () => {
  it('counts the last week of runs by status, with the success rate of the finished ones and their p95', async () => {
    const result = await stats(mixed);
    expect(result).toMatchObject({ total: 10, succeeded: 3, failed: 2, cancelled: 1, timedOut: 1, running: 1, queued: 2 });
    expect(result.successRate).toBeCloseTo(3 / 7, 10);
    // percentile_cont over the six finished runs that started: 1, 2, 3, 4, 5 and 60 s.
    const position = 0.95 * 5;
    expect(result.p95DurationMs).toBeCloseTo(5000 + (position - 4) * (60_000 - 5000), 6);
  });

  it('since widens or narrows the window', async () => {
    const wider = await stats(mixed, ago(9 * DAY));
    expect(wider).toMatchObject({ total: 11, succeeded: 4 });
    expect(wider.successRate).toBeCloseTo(4 / 8, 10);
    const none = await stats(mixed, new Date(Date.now() + DAY));
    expect(none).toEqual({ total: 0, succeeded: 0, failed: 0, cancelled: 0, timedOut: 0, running: 0, queued: 0, successRate: null, p95DurationMs: null });
  });

  it('no finished run: no success rate and no p95', async () => {
    expect(await stats(idle)).toEqual({ total: 0, succeeded: 0, failed: 0, cancelled: 0, timedOut: 0, running: 0, queued: 0, successRate: null, p95DurationMs: null });
    expect(await stats(busy)).toMatchObject({ total: 1, running: 1, successRate: null, p95DurationMs: null });
  });

  it("each agent of a list gets its own stats", async () => {
    const data = await gql(server, '{ agents(first: 10) { edges { node { name runStats { total running } } } } }');
    const byName = Object.fromEntries(data.agents.edges.map((edge: { node: { name: string; runStats: unknown } }) => [edge.node.name, edge.node.runStats]));
    expect(byName).toEqual({ mixed: { total: 10, running: 1 }, idle: { total: 0, running: 0 }, busy: { total: 1, running: 1 } });
  });
});
