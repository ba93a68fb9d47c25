// `heartbeat runs snooze` and `runs dismiss` (docs/engine.md §17) against a live server, and how
// `--until` is read.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUntil } from '../../client/cli.ts';
import { createAgent, enqueue, gql, runGid } from '../support/api.ts';
import { spawnHeartbeat } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

describe('--until', () => {
  const now = new Date('2026-06-01T12:00:00.000Z');
  it('takes a duration from now or a time', () => {
    expect(parseUntil('90m', now)).toBe('2026-06-01T13:30:00.000Z');
    expect(parseUntil('2h', now)).toBe('2026-06-01T14:00:00.000Z');
    expect(parseUntil('1d', now)).toBe('2026-06-02T12:00:00.000Z');
    expect(parseUntil('30s', now)).toBe('2026-06-01T12:00:30.000Z');
    expect(parseUntil('2026-06-03T08:00:00Z', now)).toBe('2026-06-03T08:00:00.000Z');
    expect(() => parseUntil('soon', now)).toThrow(/expected a time \(ISO 8601\) or a duration/);
  });
});

describe('heartbeat runs snooze / dismiss', { timeout: 120_000 }, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const heartbeat = async (args: string[]) => {
    const child = spawnHeartbeat(args, { HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey });
    const code = await child.exited;
    return { code, output: child.output() };
  };

  it('snoozes and dismisses a running run; a bound past 7 days is refused with its code', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ sleepMs: 60_000 }] } });
    const { runId } = await enqueue(server, { agentId });
    await waitFor('the run to start', async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.status === 'running');
    const id = runGid(runId!);

    const snoozed = await heartbeat(['runs', 'snooze', id, '--until', '2h']);
    expect(snoozed.code).toBe(0);
    expect(snoozed.output).toMatch(new RegExp(`^run ${id}: output silence SNOOZED until \\d{4}-\\d\\d-\\d\\dT`));
    const shown = await heartbeat(['runs', 'show', id]);
    expect(shown.output).toMatch(/^silence\s+SNOOZED: no output for \d+m \d+s \(snoozed until /m);

    const dismissed = await heartbeat(['runs', 'dismiss', id, '--json']);
    expect(dismissed.code).toBe(0);
    expect(JSON.parse(dismissed.output).outputSilence).toMatchObject({ level: 'OK', snoozedUntil: null, dismissedAt: expect.any(String) });

    const tooFar = await heartbeat(['runs', 'snooze', id, '--until', '8d']);
    expect(tooFar).toEqual({ code: 1, output: 'heartbeat: until must be at most 7 days ahead (BAD_USER_INPUT)\n' });
    const garbled = await heartbeat(['runs', 'snooze', id, '--until', 'soon']);
    expect(garbled.code).not.toBe(0);
    expect(garbled.output).toMatch(/expected a time \(ISO 8601\) or a duration/);
    await gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id });
  });
});
