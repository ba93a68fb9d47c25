// HeartbeatRun.outputSilence, snoozeRunSilence and dismissRunSilence (docs/engine.md §17) through
// the API, with a fake clock: levels as of now, typed errors with stable codes, nothing changed
// on bad input; an agent's silenceTimeoutSec in its heartbeat policy.
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies, heartbeatRuns, wakeupRequests } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { ManualClock } from '../../engine/model/clock.ts';
import { agentGid, createAgent, gql, gqlFailure, runGid } from '../support/api.ts';
import { postGraphQL } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let server: TestServer;
const clock = new ManualClock(new Date('2026-05-01T09:00:00.000Z'));
beforeAll(async () => {
  // No loop: only the requests change anything.
  server = await startTestServer({ engine: { clock, tickIntervalMs: 0 } });
});
afterAll(() => server?.close());

const db = () => server.database.db;
const SILENCE = 'query($id: ID!) { run(id: $id) { status outputSilence { level silentSince seconds snoozedUntil dismissedAt } } }';
const SNOOZE = 'mutation($id: ID!, $until: DateTime!) { snoozeRunSilence(id: $id, until: $until) { id outputSilence { level seconds snoozedUntil dismissedAt } } }';
const DISMISS = 'mutation($id: ID!) { dismissRunSilence(id: $id) { id outputSilence { level seconds snoozedUntil dismissedAt } } }';

/** A run row of the server's company, as the claim would leave it (no process behind it). */
async function insertRun(status: 'running' | 'succeeded' | 'queued', fields: Partial<typeof heartbeatRuns.$inferInsert> = {}) {
  const agentId = await createAgent(server, {});
  const [wake] = await db().insert(wakeupRequests).values({ companyId: server.companyId, agentId, source: 'on_demand', status: 'claimed' }).returning();
  const [run] = await db()
    .insert(heartbeatRuns)
    .values({ companyId: server.companyId, agentId, status, wakeupRequestId: wake.id, createdAt: clock.now(), startedAt: status === 'queued' ? null : clock.now(), ...fields })
    .returning();
  return run.id;
}
const row = async (id: string) => (await db().query.heartbeatRuns.findFirst({ where: { id } }))!;

describe('HeartbeatRun.outputSilence', () => {
  it('is computed as of now for a running run, and null for any other', async () => {
    const started = clock.now();
    const runId = await insertRun('running');
    const done = await insertRun('succeeded', { finishedAt: clock.now() });
    const queued = await insertRun('queued');
    const read = async (id: string) => (await gql(server, SILENCE, { id: runGid(id) })).run;
    expect(await read(runId)).toEqual({
      status: 'RUNNING',
      outputSilence: { level: 'OK', silentSince: started.toISOString(), seconds: 0, snoozedUntil: null, dismissedAt: null },
    });
    clock.advance(61 * MINUTE);
    expect((await read(runId)).outputSilence).toMatchObject({ level: 'SUSPICIOUS', seconds: 3_660 });
    clock.advance(3 * HOUR);
    expect((await read(runId)).outputSilence).toMatchObject({ level: 'CRITICAL', seconds: 4 * 3_600 + 60 });
    // Output moves where the silence starts.
    await db().update(heartbeatRuns).set({ lastOutputAt: clock.now() }).where(eq(heartbeatRuns.id, runId));
    expect((await read(runId)).outputSilence).toEqual({ level: 'OK', silentSince: clock.now().toISOString(), seconds: 0, snoozedUntil: null, dismissedAt: null });
    expect((await read(done)).outputSilence).toBeNull();
    expect((await read(queued)).outputSilence).toBeNull();
    // A page of runs reads it too.
    const page = await gql(server, '{ runs(first: 10, filter: { status: [RUNNING] }) { edges { node { id outputSilence { level } } } } }');
    expect(page.runs.edges).toContainEqual({ node: { id: runGid(runId), outputSilence: { level: 'OK' } } });
  });
});

describe('snoozeRunSilence and dismissRunSilence', () => {
  it('snooze: SNOOZED until then; at most 7 days ahead and in the future, else BAD_USER_INPUT naming until and nothing changed', async () => {
    const runId = await insertRun('running');
    clock.advance(90 * MINUTE);
    const before = await row(runId);
    for (const until of [new Date(clock.now().getTime() + 7 * 24 * HOUR + 1_000), clock.now(), new Date(clock.now().getTime() - HOUR)]) {
      const error = await gqlFailure(gql(server, SNOOZE, { id: runGid(runId), until: until.toISOString() }));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'until' });
      expect(error.message).toMatch(/until must be/);
    }
    // Not a time at all: a malformed variable, refused by the DateTime scalar before anything runs.
    const garbled = await gqlFailure(gql(server, SNOOZE, { id: runGid(runId), until: 'tomorrow-ish' }));
    expect(garbled.code).toBe('BAD_REQUEST');
    expect(garbled.message).toMatch(/\$until/);
    expect(await row(runId)).toEqual(before);

    const until = new Date(clock.now().getTime() + 7 * 24 * HOUR);
    const { snoozeRunSilence } = await gql(server, SNOOZE, { id: runGid(runId), until: until.toISOString() });
    expect(snoozeRunSilence).toEqual({ id: runGid(runId), outputSilence: { level: 'SNOOZED', seconds: 90 * 60, snoozedUntil: until.toISOString(), dismissedAt: null } });
    expect((await row(runId)).outputSilenceLevel).toBe('snoozed');
    const events = await db().query.runEvents.findMany({ where: { runId, eventType: 'lifecycle' } });
    expect(events.map((e) => [e.level, e.message])).toEqual([['warn', `Output silence SNOOZED (was OK): no output for 1h 30m (snoozed until ${until.toISOString()})`]]);
    // Then evaluated again once it ends.
    clock.advance(7 * 24 * HOUR);
    expect((await gql(server, SILENCE, { id: runGid(runId) })).run.outputSilence).toMatchObject({ level: 'CRITICAL', snoozedUntil: null });
  });

  it('dismiss: OK while this silence lasts (a false positive), and it ends a snooze', async () => {
    const runId = await insertRun('running');
    clock.advance(5 * HOUR);
    await server.app.engine.evaluateRunSilence();
    await gql(server, SNOOZE, { id: runGid(runId), until: new Date(clock.now().getTime() + HOUR).toISOString() });
    const { dismissRunSilence } = await gql(server, DISMISS, { id: runGid(runId) });
    expect(dismissRunSilence.outputSilence).toEqual({ level: 'OK', seconds: 5 * 3_600, snoozedUntil: null, dismissedAt: clock.now().toISOString() });
    clock.advance(2 * 24 * HOUR);
    expect((await gql(server, SILENCE, { id: runGid(runId) })).run.outputSilence).toMatchObject({ level: 'OK', seconds: 53 * 3_600 });
    expect((await server.app.engine.evaluateRunSilence()).changes).toEqual([]);
    const messages = (await db().query.runEvents.findMany({ where: { runId, eventType: 'lifecycle' }, orderBy: { seq: 'asc' } })).map((e) => e.message);
    expect(messages).toEqual([
      'Output silence CRITICAL (was OK): no output for 5h',
      expect.stringMatching(/^Output silence SNOOZED \(was CRITICAL\): no output for 5h \(snoozed until /),
      'Output silence OK (was SNOOZED): no output for 5h (dismissed)',
    ]);
  });

  it('typed errors: NOT_FOUND (unknown, another company), CONFLICT (not running), FORBIDDEN (a viewer); nothing changed', async () => {
    const done = await insertRun('succeeded', { finishedAt: clock.now() });
    const running = await insertRun('running');
    const until = new Date(clock.now().getTime() + HOUR).toISOString();
    const before = [await row(done), await row(running)];
    const missing = runGid('00000000-0000-4000-8000-000000000000');
    for (const [query, variables, code] of [
      [SNOOZE, { id: missing, until }, 'NOT_FOUND'],
      [DISMISS, { id: missing }, 'NOT_FOUND'],
      [SNOOZE, { id: runGid(done), until }, 'CONFLICT'],
      [DISMISS, { id: runGid(done) }, 'CONFLICT'],
      [SNOOZE, { id: agentGid(running), until }, 'BAD_USER_INPUT'],
    ] as const) {
      const error = await gqlFailure(gql(server, query, variables));
      expect(error.code, `${query} ${JSON.stringify(variables)}`).toBe(code);
    }
    const conflict = await gqlFailure(gql(server, DISMISS, { id: runGid(done) }));
    expect(conflict.errors[0].extensions).toEqual({ code: 'CONFLICT', status: 'succeeded' });

    const { createApiKey: viewer } = await gql(server, 'mutation { createApiKey(name: "silence viewer", role: VIEWER) { key } }');
    for (const [query, variables] of [
      [SNOOZE, { id: runGid(running), until }],
      [DISMISS, { id: runGid(running) }],
    ] as const) {
      const { body } = await postGraphQL(server.graphqlUrl, query, { key: viewer.key, variables });
      expect(body.errors?.[0].extensions?.code).toBe('FORBIDDEN');
    }
    // Another company's operator does not find the run.
    const [company] = await db().insert(companies).values({ name: 'Other' }).returning();
    const other = await createApiKey(db(), { companyId: company.id, name: 'other operator', role: 'operator' });
    for (const [query, variables] of [
      [SNOOZE, { id: runGid(running), until }],
      [DISMISS, { id: runGid(running) }],
    ] as const) {
      const { body } = await postGraphQL(server.graphqlUrl, query, { key: other.key, variables });
      expect(body.errors?.[0].extensions?.code).toBe('NOT_FOUND');
    }
    expect([await row(done), await row(running)]).toEqual(before);
  });
});

describe("an agent's silenceTimeoutSec", () => {
  it('is part of its heartbeat policy: validated (0 or 60 to 2592000), read back, stored only when valid', async () => {
    const CREATE = 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id heartbeat { silenceTimeoutSec maxConcurrentRuns } } }';
    const input = (silenceTimeoutSec: number) => ({ name: `silent-${silenceTimeoutSec}-${Math.random()}`, adapterType: 'SCRIPT', adapterConfig: { steps: [] }, heartbeat: { silenceTimeoutSec } });
    const before = (await db().query.agents.findMany()).length;
    for (const bad of [30, -1, 2_592_001]) {
      const error = await gqlFailure(gql(server, CREATE, { input: input(bad) }));
      expect(error.code).toBe('BAD_USER_INPUT');
      expect(error.errors[0].extensions).toMatchObject({ field: 'heartbeat.silenceTimeoutSec' });
      expect(error.errors[0].message).toBe('heartbeat.silenceTimeoutSec must be 0 (off) or an integer from 60 to 2592000');
    }
    expect(await db().query.agents.findMany()).toHaveLength(before);
    const created = (await gql(server, CREATE, { input: input(7_200) })).createAgent;
    expect(created.heartbeat).toEqual({ silenceTimeoutSec: 7_200, maxConcurrentRuns: 1 });
    const plain = await createAgent(server, {});
    expect((await gql(server, 'query($id: ID!) { agent(id: $id) { heartbeat { silenceTimeoutSec } } }', { id: agentGid(plain) })).agent.heartbeat).toEqual({ silenceTimeoutSec: 0 });
    const updated = await gql(server, 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { heartbeat { silenceTimeoutSec } } }', {
      input: { id: created.id, heartbeat: { silenceTimeoutSec: 0 } },
    });
    expect(updated.updateAgent.heartbeat).toEqual({ silenceTimeoutSec: 0 });
  });
});
