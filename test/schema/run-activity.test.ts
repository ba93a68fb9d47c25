// Query.runActivity: runs that finished at chosen times land in the right buckets with the right
// counts and p95; empty buckets are zeros; the runs waiting and running now; the limits; one
// company's runs only; and a plan that reads the time ranges off indexes.
import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, companies, heartbeatRuns } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { runActivityStatement } from '../../engine/runs/run-activity.ts';
import { agentGid, createAgent, gql, gqlFailure, runGid } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let agentId: string;
let otherAgentId: string;
let otherCompanyKey: string;
let otherCompanyAgentId: string;

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
/** The instant `seconds` after T0. */
const at = (seconds: number) => new Date(T0 + seconds * 1000);
const FROM = at(0).toISOString();
const TO = at(300).toISOString();

type RunRow = typeof heartbeatRuns.$inferInsert;
const run = (agent: string, status: RunRow['status'], startedSec: number | null, finishedSec: number | null, companyId?: string): RunRow => ({
  companyId: companyId ?? server.companyId,
  agentId: agent,
  status,
  startedAt: startedSec === null ? null : at(startedSec),
  finishedAt: finishedSec === null ? null : at(finishedSec),
});

/** The 95th percentile as PostgreSQL's percentile_cont computes it: linear between the two nearest ranks. */
function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = 0.95 * (sorted.length - 1);
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  return sorted[below] + (position - below) * (sorted[above] - sorted[below]);
}

const TWENTY_DURATIONS_MS = Array.from({ length: 20 }, (_, i) => (i + 1) * 1000);

beforeAll(async () => {
  // The engine loop is off: the queued and running rows written here stay as they are.
  server = await startTestServer({ env: { HEARTBEAT_TICK_MS: '0' } });
  const { db } = server.database;
  agentId = await createAgent(server, { name: 'charted' });
  otherAgentId = await createAgent(server, { name: 'charted-too' });
  await db.insert(heartbeatRuns).values([
    // Bucket 0 [0 s, 60 s): three succeeded (1 s, 3 s, and 10 s for the one finishing exactly at
    // `from`, which started before it), one failed (2 s); three started in it.
    run(agentId, 'succeeded', 5, 6),
    run(agentId, 'succeeded', 10, 13),
    run(agentId, 'failed', 20, 22),
    run(agentId, 'succeeded', -10, 0),
    // Bucket 1: nothing. Bucket 2 [120 s, 180 s): cancelled before it started; timed out after 50 s.
    run(agentId, 'cancelled', null, 130),
    run(agentId, 'timed_out', 125, 175),
    // Bucket 3 [180 s, 240 s): twenty succeeded, taking 1 to 20 s, all started and finished in it.
    ...TWENTY_DURATIONS_MS.map((ms) => run(agentId, 'succeeded', 200 - ms / 1000, 200)),
    // Bucket 4 [240 s, 300 s): one failed at the very end of the range; one finished at `to` (outside);
    // one running now, started in it.
    run(agentId, 'failed', 299, 299.999),
    run(agentId, 'succeeded', 290, 300),
    run(agentId, 'running', 250, null),
    // Before the range: counted nowhere.
    run(agentId, 'succeeded', -20, -1),
    // Waiting now.
    run(agentId, 'queued', null, null),
    run(agentId, 'scheduled_retry', null, null),
    // The other agent: in the company's buckets, not in the first agent's.
    run(otherAgentId, 'succeeded', 25, 30),
    run(otherAgentId, 'queued', null, null),
  ]);
  // Another company with a run in bucket 0, one running and one queued.
  const [company] = await db.insert(companies).values({ name: 'Other company' }).returning();
  const [agent] = await db.insert(agents).values({ companyId: company.id, name: 'theirs', adapterType: 'script', adapterConfig: { steps: [] } }).returning();
  otherCompanyAgentId = agent.id;
  await db.insert(heartbeatRuns).values([
    run(agent.id, 'succeeded', 40, 45, company.id),
    run(agent.id, 'running', 41, null, company.id),
    run(agent.id, 'queued', null, null, company.id),
  ]);
  otherCompanyKey = (await createApiKey(db, { companyId: company.id, name: 'other admin', role: 'admin' })).key;
});
afterAll(() => server?.close());

const ACTIVITY = `query($from: DateTime!, $to: DateTime, $size: Int, $agent: ID) {
  runActivity(from: $from, to: $to, bucketSeconds: $size, agentId: $agent) {
    bucketSeconds queued running
    buckets { start succeeded failed cancelled timedOut started p95DurationMs }
  }
}`;
const activity = async (variables: Record<string, unknown>, key = server.adminKey) => (await gql(server, ACTIVITY, variables, key)).runActivity;

const zeros = { succeeded: 0, failed: 0, cancelled: 0, timedOut: 0, started: 0, p95DurationMs: null };

describe('Query.runActivity buckets', () => {
  it("one agent's runs land in the bucket they finished and started in, with their p95; empty buckets are zeros", async () => {
    const result = await activity({ from: FROM, to: TO, size: 60, agent: agentGid(agentId) });
    expect(result.bucketSeconds).toBe(60);
    expect(result.buckets.map((bucket: { start: string }) => bucket.start)).toEqual([0, 60, 120, 180, 240].map((s) => at(s).toISOString()));
    const [b0, b1, b2, b3, b4] = result.buckets;
    expect(b0).toMatchObject({ succeeded: 3, failed: 1, cancelled: 0, timedOut: 0, started: 3 });
    expect(b0.p95DurationMs).toBeCloseTo(p95([1000, 3000, 10000, 2000]), 6);
    expect(b1).toMatchObject(zeros);
    // The run cancelled before it started counts as cancelled but has no duration.
    expect(b2).toMatchObject({ succeeded: 0, failed: 0, cancelled: 1, timedOut: 1, started: 1, p95DurationMs: 50000 });
    expect(b3).toMatchObject({ succeeded: 20, failed: 0, started: 20 });
    expect(b3.p95DurationMs).toBeCloseTo(p95(TWENTY_DURATIONS_MS), 6);
    expect(b3.p95DurationMs).toBeCloseTo(19050, 6);
    // The run finished at `to` is outside the range; the running one started in it.
    expect(b4).toMatchObject({ succeeded: 0, failed: 1, started: 3 });
    expect(b4.p95DurationMs).toBeCloseTo(999, 6);
    expect(result).toMatchObject({ queued: 2, running: 1 });
  });

  it("the company's buckets hold every agent's runs", async () => {
    const result = await activity({ from: FROM, to: TO, size: 60 });
    const [b0, b1] = result.buckets;
    expect(b0).toMatchObject({ succeeded: 4, failed: 1, started: 4 });
    expect(b0.p95DurationMs).toBeCloseTo(p95([1000, 3000, 10000, 2000, 5000]), 6);
    expect(b1).toMatchObject(zeros);
    expect(result).toMatchObject({ queued: 3, running: 1 });
  });

  it('a bucket as wide as the range holds it all; a range that does not divide evenly ends in a partial bucket', async () => {
    const whole = await activity({ from: FROM, to: TO, size: 300, agent: agentGid(agentId) });
    expect(whole.buckets).toHaveLength(1);
    expect(whole.buckets[0]).toMatchObject({ succeeded: 23, failed: 2, cancelled: 1, timedOut: 1, started: 3 + 1 + 20 + 3 });
    const uneven = await activity({ from: FROM, to: at(130).toISOString(), size: 60, agent: agentGid(agentId) });
    expect(uneven.buckets.map((bucket: { start: string }) => bucket.start)).toEqual([0, 60, 120].map((s) => at(s).toISOString()));
    // Only [120 s, 130 s) of the last bucket is in the range: the cancel at 130 s is not.
    expect(uneven.buckets[2]).toMatchObject({ cancelled: 0, started: 1 });
  });

  it('to defaults to now: the buckets run from `from` up to now without gaps', async () => {
    const from = new Date(Date.now() - 600_000);
    const result = await activity({ from: from.toISOString(), size: 60 });
    expect([10, 11]).toContain(result.buckets.length);
    result.buckets.forEach((bucket: { start: string }, i: number) => expect(Date.parse(bucket.start)).toBe(from.getTime() + i * 60_000));
    expect(Date.parse(result.buckets.at(-1).start)).toBeLessThanOrEqual(Date.now());
  });
});

describe('Query.runActivity tenancy', () => {
  it("another company's key sees its own runs only", async () => {
    const result = await activity({ from: FROM, to: TO, size: 60 }, otherCompanyKey);
    expect(result.buckets[0]).toMatchObject({ succeeded: 1, failed: 0, started: 2 });
    for (const bucket of result.buckets.slice(1)) expect(bucket).toMatchObject(zeros);
    expect(result).toMatchObject({ queued: 1, running: 1 });
  });

  it("another company's agent: all zeros, as an agent without runs", async () => {
    const result = await activity({ from: FROM, to: TO, size: 60, agent: agentGid(otherCompanyAgentId) });
    for (const bucket of result.buckets) expect(bucket).toMatchObject(zeros);
    expect(result).toMatchObject({ queued: 0, running: 0 });
  });
});

describe('Query.runActivity limits', () => {
  const refused = async (variables: Record<string, unknown>) => {
    const failure = await gqlFailure(activity(variables));
    expect(failure.code, JSON.stringify(variables)).toBe('BAD_USER_INPUT');
    return failure;
  };

  it('bucketSeconds from 10 to 86400', async () => {
    for (const size of [9, 0, -60, 86_401]) {
      const failure = await refused({ from: FROM, to: TO, size });
      expect(failure.errors[0].extensions?.argument).toBe('bucketSeconds');
      expect(failure.message).toContain('bucketSeconds must be between 10 and 86400');
    }
    expect((await activity({ from: FROM, to: at(10).toISOString(), size: 10 })).buckets).toHaveLength(1);
    expect((await activity({ from: FROM, to: TO, size: 86_400 })).buckets).toHaveLength(1);
  });

  it('at most 1,440 buckets, and the refusal names the limit', async () => {
    expect((await activity({ from: FROM, to: at(1440 * 60).toISOString(), size: 60 })).buckets).toHaveLength(1440);
    const failure = await refused({ from: FROM, to: new Date(T0 + 1440 * 60_000 + 1).toISOString(), size: 60 });
    expect(failure.message).toContain('At most 1440 buckets');
    expect(failure.errors[0].extensions?.maxBuckets).toBe(1440);
  });

  it('to must be after from; agentId must be an agent', async () => {
    expect((await refused({ from: FROM, to: FROM })).message).toContain('to must be after from');
    await refused({ from: TO, to: FROM });
    await refused({ from: FROM, to: TO, agent: runGid('00000000-0000-4000-8000-000000000000') });
  });
});

describe('Query.runActivity plan', () => {
  it('reads finished_at and started_at ranges off indexes, not the whole company', async () => {
    // A month of history in a company of its own, one run every ~9 minutes for each of 5 agents.
    const { db, sql: client } = server.database;
    const [company] = await db.insert(companies).values({ name: 'Busy company' }).returning();
    await db.execute(sql`
      insert into agents (company_id, name, adapter_type, adapter_config)
      select ${company.id}::uuid, 'busy-' || n, 'script', '{"steps": []}'::jsonb from generate_series(1, 5) n`);
    await db.execute(sql`
      insert into heartbeat_runs (company_id, agent_id, status, created_at, started_at, finished_at)
      select a.company_id, a.id, 'succeeded', now() - g * interval '9 minutes', now() - g * interval '9 minutes' + interval '1 second',
        now() - g * interval '9 minutes' + interval '5 seconds'
      from agents a, generate_series(1, 5000) g where a.company_id = ${company.id}::uuid`);
    await db.execute(sql`analyze heartbeat_runs`);
    const [busyAgent] = await db.select({ id: agents.id }).from(agents).where(sql`${agents.companyId} = ${company.id}`).limit(1);
    const now = new Date();
    for (const agent of [null, busyAgent.id]) {
      const { statement } = runActivityStatement({ companyId: company.id, from: new Date(now.getTime() - 3_600_000), agentId: agent }, now);
      const query = new PgDialect().sqlToQuery(statement);
      const plan = (await client.unsafe(`explain ${query.sql}`, query.params as never[])).map((row) => row['QUERY PLAN']).join('\n');
      expect(plan, plan).toContain('runs_company_finished_idx');
      expect(plan, plan).toContain('runs_company_agent_started_idx');
    }
  });
});
