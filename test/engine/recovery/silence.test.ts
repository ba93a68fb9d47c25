// Silent runs (docs/engine.md §17): the loop's evaluation with a fake clock, each change of level
// published once (live event and run event); snooze and dismissal; an agent's silence limit
// cancelling a real process through the engine's cancel.
import { eq } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../../db/schema.ts';
import { pidAlive } from '../../../engine/adapters/process-groups.ts';
import type { LiveEvent } from '../../../engine/live/live-events.ts';
import { ManualClock } from '../../../engine/model/clock.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { createAgent, createIssue, enqueue, gql, rawId, runGid } from '../../support/api.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

type SilenceEvent = Extract<LiveEvent, { type: 'heartbeat.run.silence' }>;

describe('the evaluation of running runs (engine, fake clock)', () => {
  let f: EngineFixture;
  beforeEach(async () => {
    f = await engineFixture();
  });
  afterEach(() => f?.close());

  /** A running run started now (no process, no output yet). */
  const runningRun = async (agentId?: string) => {
    const agent = agentId ?? (await f.agent()).id;
    const run = await f.run({ agentId: agent, status: 'running' });
    await f.db.update(heartbeatRuns).set({ startedAt: f.clock.now() }).where(eq(heartbeatRuns.id, run.id));
    return run.id;
  };
  const silenceEvents = (runId: string) => f.published.filter((e): e is SilenceEvent => e.type === 'heartbeat.run.silence' && e.runId === runId);
  const warnings = (runId: string) =>
    f.db.query.runEvents.findMany({ where: { runId, eventType: 'lifecycle', message: { like: 'Output silence %' } }, orderBy: { seq: 'asc' } });
  const stored = async (runId: string) => (await f.db.query.heartbeatRuns.findFirst({ where: { id: runId } }))!;
  /** What the loop would do on a tick, for this run. */
  const evaluate = () => f.engine.evaluateRunSilence();

  it('61 minutes of silence make a run SUSPICIOUS, 4 hours CRITICAL, new output OK: each change published once', async () => {
    const runId = await runningRun();
    expect(await evaluate()).toMatchObject({ candidates: 0, changes: [], cancelled: [] });

    f.clock.advance(59 * MINUTE);
    expect((await evaluate()).changes).toEqual([]);

    f.clock.advance(2 * MINUTE);
    const first = await evaluate();
    expect(first.changes.map((c) => [c.run.id, c.previous, c.silence.level, c.silence.seconds])).toEqual([[runId, 'ok', 'suspicious', 61 * 60]]);
    expect((await stored(runId)).outputSilenceLevel).toBe('suspicious');
    // Evaluated again at once, and a minute later: nothing new, and nothing read.
    expect(await evaluate()).toMatchObject({ candidates: 0, changes: [] });
    f.clock.advance(MINUTE);
    expect(await evaluate()).toMatchObject({ candidates: 0, changes: [] });

    f.clock.advance(4 * HOUR - 62 * MINUTE);
    expect((await evaluate()).changes.map((c) => c.silence.level)).toEqual(['critical']);
    expect((await evaluate()).changes).toEqual([]);
    f.clock.advance(10 * HOUR);
    expect((await evaluate()).changes).toEqual([]);

    // Output comes (the progress write of runs/output.ts): back to OK on the next pass.
    f.clock.advance(1_000);
    await f.db.update(heartbeatRuns).set({ lastOutputAt: f.clock.now(), lastOutputSeq: 1 }).where(eq(heartbeatRuns.id, runId));
    expect((await evaluate()).changes.map((c) => [c.previous, c.silence.level, c.silence.seconds])).toEqual([['critical', 'ok', 0]]);
    expect((await stored(runId)).outputSilenceLevel).toBeNull();
    expect((await evaluate()).changes).toEqual([]);

    const live = silenceEvents(runId);
    expect(live.map((e) => [e.previousLevel, e.level])).toEqual([
      ['ok', 'suspicious'],
      ['suspicious', 'critical'],
      ['critical', 'ok'],
    ]);
    expect(live[0]).toMatchObject({ companyId: f.companyId, seconds: 3_660, state: { status: 'running' } });
    // Each carries the run's state with the change, so runStatus subscribers re-read the run.
    expect(new Set(live.map((e) => e.state.updatedAt)).size).toBe(3);
    const events = await warnings(runId);
    expect(events.map((e) => [e.level, e.message])).toEqual([
      ['warn', 'Output silence SUSPICIOUS (was OK): no output for 1h 1m'],
      ['warn', 'Output silence CRITICAL (was SUSPICIOUS): no output for 4h'],
      ['warn', 'Output silence OK (was CRITICAL): no output for 0s'],
    ]);
    expect(events[0].payload).toMatchObject({ outputSilence: 'suspicious', previous: 'ok', seconds: 3_660 });
    // And each run event was published live once.
    expect(f.published.filter((e) => e.type === 'heartbeat.run.event' && e.runId === runId && e.message?.startsWith('Output silence'))).toHaveLength(3);
  });

  it('silence starts at the last output, else the process start, else the start, else the creation', async () => {
    const agent = await f.agent();
    const created = (await f.run({ agentId: agent.id, status: 'running' })).id;
    f.clock.advance(10 * MINUTE);
    const started = await runningRun(agent.id);
    const withProcess = await runningRun(agent.id);
    f.clock.advance(10 * MINUTE);
    await f.db.update(heartbeatRuns).set({ processStartedAt: f.clock.now() }).where(eq(heartbeatRuns.id, withProcess));
    const withOutput = await runningRun(agent.id);
    f.clock.advance(10 * MINUTE);
    await f.db.update(heartbeatRuns).set({ lastOutputAt: f.clock.now() }).where(eq(heartbeatRuns.id, withOutput));
    // created: silent 60 min; started: 50; process: 40; output: 30.
    f.clock.advance(30 * MINUTE);
    expect((await evaluate()).changes.map((c) => c.run.id)).toEqual([created]);
    f.clock.advance(10 * MINUTE);
    expect((await evaluate()).changes.map((c) => c.run.id)).toEqual([started]);
    f.clock.advance(10 * MINUTE);
    expect((await evaluate()).changes.map((c) => c.run.id)).toEqual([withProcess]);
    f.clock.advance(10 * MINUTE);
    expect((await evaluate()).changes.map((c) => c.run.id)).toEqual([withOutput]);
  });

  it('only running runs are evaluated; a finished run keeps its last level but is read no more', async () => {
    const agent = await f.agent();
    const queued = await f.run({ agentId: agent.id, status: 'queued' });
    const done = await f.run({ agentId: agent.id, status: 'succeeded' });
    const runId = await runningRun(agent.id);
    f.clock.advance(2 * HOUR);
    expect((await evaluate()).changes.map((c) => c.run.id)).toEqual([runId]);
    await f.db.update(heartbeatRuns).set({ status: 'failed', finishedAt: f.clock.now() }).where(eq(heartbeatRuns.id, runId));
    f.clock.advance(5 * HOUR);
    expect(await evaluate()).toMatchObject({ candidates: 0, changes: [] });
    expect((await stored(runId)).outputSilenceLevel).toBe('suspicious');
    expect((await stored(queued.id)).outputSilenceLevel).toBeNull();
    expect((await stored(done.id)).outputSilenceLevel).toBeNull();
  });

  it('two passes at once publish a change once', async () => {
    const runIds = [await runningRun(), await runningRun(), await runningRun()];
    f.clock.advance(HOUR);
    const [a, b] = await Promise.all([evaluate(), evaluate()]);
    expect([...a.changes, ...b.changes].map((c) => c.run.id).sort()).toEqual([...runIds].sort());
    for (const runId of runIds) {
      expect(silenceEvents(runId)).toHaveLength(1);
      expect(await warnings(runId)).toHaveLength(1);
    }
  });

  it('snooze: SNOOZED until then (at most 7 days ahead), then evaluated again; bad input changes nothing', async () => {
    const runId = await runningRun();
    f.clock.advance(61 * MINUTE);
    await evaluate();
    const before = await stored(runId);
    for (const [until, message] of [
      [new Date(f.clock.now().getTime() + 7 * 24 * HOUR + 1), 'until must be at most 7 days ahead'],
      [f.clock.now(), 'until must be in the future'],
      [new Date(f.clock.now().getTime() - MINUTE), 'until must be in the future'],
    ] as const) {
      const error = await f.engine.snoozeRunSilence({ companyId: f.companyId, runId, until }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HeartbeatError);
      expect(error).toMatchObject({ code: 'BAD_USER_INPUT', message, details: { argument: 'until' } });
    }
    expect(await stored(runId)).toEqual(before);

    const until = new Date(f.clock.now().getTime() + 2 * HOUR);
    const snoozed = await f.engine.snoozeRunSilence({ companyId: f.companyId, runId, until });
    expect(snoozed).toMatchObject({ outputSilenceLevel: 'snoozed', outputSilenceSnoozedUntil: until });
    expect(silenceEvents(runId).map((e) => e.level)).toEqual(['suspicious', 'snoozed']);
    // Snoozed again: the level does not change, so nothing is published.
    await f.engine.snoozeRunSilence({ companyId: f.companyId, runId, until: new Date(until.getTime() + HOUR) });
    expect(silenceEvents(runId)).toHaveLength(2);
    f.clock.advance(2 * HOUR);
    expect((await evaluate()).changes).toEqual([]);
    // The snooze ends: silent 4h 1m by now.
    f.clock.advance(HOUR);
    expect((await evaluate()).changes.map((c) => [c.previous, c.silence.level])).toEqual([['snoozed', 'critical']]);
    // 7 days exactly is allowed.
    await f.engine.snoozeRunSilence({ companyId: f.companyId, runId, until: new Date(f.clock.now().getTime() + 7 * 24 * HOUR) });
    expect((await warnings(runId)).map((e) => e.message)).toEqual([
      'Output silence SUSPICIOUS (was OK): no output for 1h 1m',
      `Output silence SNOOZED (was SUSPICIOUS): no output for 1h 1m (snoozed until ${until.toISOString()})`,
      'Output silence CRITICAL (was SNOOZED): no output for 4h 1m',
      expect.stringMatching(/^Output silence SNOOZED \(was CRITICAL\): no output for 4h 1m \(snoozed until /),
    ]);
  });

  it('dismiss: not flagged again while this silence lasts; new output re-arms it', async () => {
    const runId = await runningRun();
    f.clock.advance(5 * HOUR);
    await evaluate();
    const dismissed = await f.engine.dismissRunSilence({ companyId: f.companyId, runId });
    expect(dismissed).toMatchObject({ outputSilenceLevel: null, outputSilenceDismissedAt: f.clock.now(), outputSilenceSnoozedUntil: null });
    expect(silenceEvents(runId).map((e) => [e.previousLevel, e.level])).toEqual([
      ['ok', 'critical'],
      ['critical', 'ok'],
    ]);
    f.clock.advance(3 * 24 * HOUR);
    expect(await evaluate()).toMatchObject({ candidates: 0, changes: [] });

    // Output after the dismissal: a new silence, flagged from its first hour.
    f.clock.advance(1_000);
    await f.db.update(heartbeatRuns).set({ lastOutputAt: f.clock.now() }).where(eq(heartbeatRuns.id, runId));
    expect((await evaluate()).changes).toEqual([]);
    f.clock.advance(HOUR);
    expect((await evaluate()).changes.map((c) => c.silence.level)).toEqual(['suspicious']);
    expect((await warnings(runId)).map((e) => e.message)).toEqual([
      'Output silence CRITICAL (was OK): no output for 5h',
      'Output silence OK (was CRITICAL): no output for 5h (dismissed)',
      'Output silence SUSPICIOUS (was OK): no output for 1h',
    ]);
    // A dismissal ends a snooze, and a snooze ends a dismissal.
    await f.engine.snoozeRunSilence({ companyId: f.companyId, runId, until: new Date(f.clock.now().getTime() + HOUR) });
    expect(await f.engine.dismissRunSilence({ companyId: f.companyId, runId })).toMatchObject({ outputSilenceLevel: null, outputSilenceSnoozedUntil: null });
  });

  it('snooze and dismiss: NOT_FOUND for an unknown run or one of another company, CONFLICT for a run not running', async () => {
    const agent = await f.agent();
    const finished = await f.run({ agentId: agent.id, status: 'succeeded' });
    const queued = await f.run({ agentId: agent.id, status: 'queued' });
    const runId = await runningRun(agent.id);
    const until = new Date(f.clock.now().getTime() + HOUR);
    const failures = [
      [() => f.engine.snoozeRunSilence({ companyId: f.companyId, runId: finished.id, until }), 'CONFLICT'],
      [() => f.engine.dismissRunSilence({ companyId: f.companyId, runId: queued.id }), 'CONFLICT'],
      [() => f.engine.snoozeRunSilence({ companyId: f.companyId, runId: '00000000-0000-4000-8000-000000000000', until }), 'NOT_FOUND'],
      [() => f.engine.dismissRunSilence({ companyId: '00000000-0000-4000-8000-000000000000', runId }), 'NOT_FOUND'],
    ] as const;
    for (const [call, code] of failures) {
      const error = await call().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HeartbeatError);
      expect((error as HeartbeatError).code).toBe(code);
    }
    const conflict = await f.engine.snoozeRunSilence({ companyId: f.companyId, runId: finished.id, until }).catch((e: HeartbeatError) => e);
    expect(conflict).toMatchObject({ message: "Only a running run's output silence can be snoozed; this run is succeeded", details: { status: 'succeeded' } });
    expect(f.published.filter((e) => e.type === 'heartbeat.run.silence')).toEqual([]);
  });
});

describe('thresholds are settings', () => {
  let f: EngineFixture;
  beforeAll(async () => {
    f = await engineFixture({ silenceSuspiciousSec: 60, silenceCriticalSec: 120 });
  });
  afterAll(() => f?.close());

  it('HEARTBEAT_SILENCE_SUSPICIOUS_SEC / _CRITICAL_SEC reach the engine as its settings', async () => {
    expect(f.engine.deps.settings).toMatchObject({ silenceSuspiciousSec: 60, silenceCriticalSec: 120 });
    const agent = await f.agent();
    const run = await f.run({ agentId: agent.id, status: 'running' });
    f.clock.advance(MINUTE);
    expect((await f.engine.evaluateRunSilence()).changes.map((c) => c.silence.level)).toEqual(['suspicious']);
    f.clock.advance(MINUTE);
    expect((await f.engine.evaluateRunSilence()).changes.map((c) => [c.run.id, c.silence.level])).toEqual([[run.id, 'critical']]);
  });
});

describe('real processes (a server, fake clock, no loop)', () => {
  let server: TestServer;
  const clock = new ManualClock(new Date('2026-04-01T08:00:00.000Z'));
  const published: LiveEvent[] = [];
  const pids: number[] = [];
  beforeAll(async () => {
    server = await startTestServer({ engine: { clock, tickIntervalMs: 0 } });
    server.app.engine.deps.bus.subscribe((event) => published.push(event));
  });
  afterAll(async () => {
    for (const pid of pids) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await server?.close();
  });
  const row = async (runId: string) => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId } }))!;
  const withProcess = (runId: string) =>
    waitFor(`run ${runId} to have its process`, async () => {
      const run = await row(runId);
      if (run.processPid) pids.push(run.processPid);
      return run.processPid ? run : null;
    });

  it('silenceTimeoutSec cancels a silent run through the cancel path: its process is gone, its issue released, and it says why', async () => {
    const agentId = await createAgent(server, {
      adapterType: 'process',
      adapterConfig: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], graceSec: 1 },
      heartbeat: { silenceTimeoutSec: 7_200 },
    });
    const { issueId, wakeup } = await createIssue(server, { title: 'A prompt nobody answers', assigneeAgentId: agentId });
    const runId = rawId(wakeup!.run!.id);
    const started = await withProcess(runId);
    expect(pidAlive(started.processPid)).toBe(true);
    expect((await server.database.db.query.issues.findFirst({ where: { id: issueId } }))!.executionRunId).toBe(runId);

    // Not yet: silent 1h 59m (flagged, but under its limit).
    clock.advance(119 * MINUTE);
    expect(await server.app.engine.evaluateRunSilence()).toMatchObject({ cancelled: [] });
    expect(pidAlive(started.processPid)).toBe(true);

    clock.advance(6 * MINUTE);
    expect((await server.app.engine.evaluateRunSilence()).cancelled).toEqual([runId]);
    await waitFor('the process to be gone', () => !pidAlive(started.processPid), { timeoutMs: 10_000 });
    const settled = await waitFor('the run to settle', async () => ((await row(runId)).settledAt ? row(runId) : null));
    expect(settled).toMatchObject({ status: 'cancelled', errorCode: 'cancelled', error: 'Cancelled: no output for 2h 5m (silenceTimeoutSec 7200)' });
    expect(settled.resultJson).toMatchObject({ stopReason: 'output_silence' });
    const cancelEvent = await server.database.db.query.runEvents.findFirst({ where: { runId, message: 'run cancelled' } });
    expect(cancelEvent).toMatchObject({ eventType: 'lifecycle', level: 'warn', payload: { reason: 'Cancelled: no output for 2h 5m (silenceTimeoutSec 7200)' } });
    // Released as a cancel does: the lock is gone and no recovery run was queued.
    const issue = (await server.database.db.query.issues.findFirst({ where: { id: issueId } }))!;
    expect(issue.executionRunId).toBeNull();
    expect(await server.database.db.query.heartbeatRuns.findMany({ where: { issueId } })).toHaveLength(1);
    // Cancelled once; nothing more on the next pass.
    expect(await server.app.engine.evaluateRunSilence()).toMatchObject({ candidates: 0, cancelled: [], changes: [] });
    const { run } = await gql(server, 'query($id: ID!) { run(id: $id) { status error outputSilence { level } } }', { id: runGid(runId) });
    expect(run).toEqual({ status: 'CANCELLED', error: 'Cancelled: no output for 2h 5m (silenceTimeoutSec 7200)', outputSilence: null });
  });

  it("a run that prints again goes back to OK through the real output path; an agent without a limit's run is never cancelled", async () => {
    // Prints a line at start, then one whenever its trigger file appears.
    const trigger = `/tmp/heartbeat-silence-${process.pid}-${Date.now()}`;
    const script = `
      const fs = require('node:fs');
      console.log('started');
      setInterval(() => { if (fs.existsSync(${JSON.stringify(trigger)})) { fs.unlinkSync(${JSON.stringify(trigger)}); console.log('more'); } }, 20);`;
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: ['-e', script], graceSec: 1 } });
    const { runId } = await enqueue(server, { agentId });
    await withProcess(runId!);
    const firstOutput = await waitFor('the first output to be recorded', async () => (await row(runId!)).lastOutputAt);
    const level = async () => (await gql(server, 'query($id: ID!) { run(id: $id) { outputSilence { level seconds silentSince } } }', { id: runGid(runId!) })).run.outputSilence;
    expect(await level()).toEqual({ level: 'OK', seconds: 0, silentSince: firstOutput.toISOString() });

    clock.advance(61 * MINUTE);
    expect(await level()).toEqual({ level: 'SUSPICIOUS', seconds: 3_660, silentSince: firstOutput.toISOString() });
    expect((await server.app.engine.evaluateRunSilence()).changes.map((c) => [c.run.id, c.silence.level])).toEqual([[runId, 'suspicious']]);
    clock.advance(3 * HOUR);
    expect((await server.app.engine.evaluateRunSilence()).changes.map((c) => c.silence.level)).toEqual(['critical']);
    expect(await level()).toMatchObject({ level: 'CRITICAL', seconds: 4 * 3_600 + 60 });

    const { writeFileSync } = await import('node:fs');
    writeFileSync(trigger, '');
    await waitFor('the new output to be recorded', async () => (await row(runId!)).lastOutputAt!.getTime() > firstOutput.getTime());
    expect(await level()).toMatchObject({ level: 'OK', seconds: 0 });
    expect((await server.app.engine.evaluateRunSilence()).changes.map((c) => [c.previous, c.silence.level])).toEqual([['critical', 'ok']]);
    expect((await server.app.engine.evaluateRunSilence()).changes).toEqual([]);

    const live = published.filter((e): e is SilenceEvent => e.type === 'heartbeat.run.silence' && e.runId === runId);
    expect(live.map((e) => e.level)).toEqual(['suspicious', 'critical', 'ok']);
    const warnings = await server.database.db.query.runEvents.findMany({ where: { runId: runId!, message: { like: 'Output silence %' } } });
    expect(warnings).toHaveLength(3);
    expect((await row(runId!)).status).toBe('running');
    await gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { id } }', { id: runGid(runId!) });
  });
});
