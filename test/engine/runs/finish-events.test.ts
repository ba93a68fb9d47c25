// A run's last events, when their write has not started by the time the run finishes, are written
// by its finish (runs/finish.ts finishRuns, the one finish for every run) in the finish's own
// transaction, before its terminal event: these tests pin the rows, seqs, live events and liveness
// that leaves. The events of a run still going are written and published while it runs.
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import type { LiveEvent } from '../../../engine/live/live-events.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { waitFor } from '../../support/wait.ts';

const fixtures: EngineFixture[] = [];
afterEach(async () => {
  for (const f of fixtures.splice(0)) {
    await f.engine.stop();
    await f.close();
  }
});

async function startedEngine(options: { batchRunWrites?: boolean } = {}): Promise<EngineFixture> {
  const f = await engineFixture(options);
  fixtures.push(f);
  await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
  return f;
}

/** Runs a script agent with `steps` to its settle; returns what it left behind. */
async function runScript(f: EngineFixture, steps: unknown[]) {
  const agent = await f.agent({ adapterConfig: { steps } });
  const queued = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'test' });
  const runId = queued.run!.id;
  const run = await waitFor('the run to settle', async () => {
    const row = await f.db.query.heartbeatRuns.findFirst({ where: { id: runId } });
    return row?.settledAt ? row : null;
  });
  const events = await f.db.execute<{ seq: number; event_type: string; message: string | null; stream: string | null; level: string | null; payload: unknown; tx: string }>(
    sql`select seq, event_type, message, stream, level, payload, xmin::text as tx from heartbeat_run_events where run_id = ${runId} order by seq`,
  );
  // Every writer copies the run's company and agent onto its events (they have no foreign keys of their own).
  const [{ mismatched }] = await f.db.execute<{ mismatched: number }>(
    sql`select count(*)::int as mismatched from heartbeat_run_events e join heartbeat_runs r on r.id = e.run_id
        where e.company_id <> r.company_id or e.agent_id <> r.agent_id`,
  );
  expect(mismatched).toBe(0);
  const published = f.published.filter((e): e is Extract<LiveEvent, { type: 'heartbeat.run.event' }> => e.type === 'heartbeat.run.event' && e.runId === runId);
  const liveness = { state: run.livenessState, reason: run.livenessReason, nextAction: run.nextAction, usefulAt: run.lastUsefulActionAt !== null };
  const retry = () => f.db.query.heartbeatRuns.findFirst({ where: { retryOfRunId: runId } });
  return { run, events: [...events], published, liveness, retry };
}

const STEPS = [
  { event: { type: 'tool.call', message: 'ls', payload: { path: '.' } } },
  { event: { type: 'note', message: 'done', level: 'warn' } },
  { result: { ok: true }, summary: 'ok' },
];

describe('a run finishing with events not yet written', () => {
  it('gets them written by its finish, in its transaction: the rows, seqs, live events and liveness', async () => {
    const done = await runScript(await startedEngine(), STEPS);
    const rows = done.events.map(({ tx: _tx, ...rest }) => rest);
    expect(rows).toEqual([
      { seq: 1, event_type: 'lifecycle', message: 'run started', stream: null, level: 'info', payload: { wakeReason: 'test', adapterType: 'script', invocationSource: 'on_demand' } },
      { seq: 2, event_type: 'adapter.invoke', message: 'adapter invoked', stream: null, level: 'info', payload: { steps: 3, adapter: 'script' } },
      { seq: 3, event_type: 'tool.call', message: 'ls', stream: null, level: null, payload: { path: '.' } },
      { seq: 4, event_type: 'note', message: 'done', stream: null, level: 'warn', payload: null },
      { seq: 5, event_type: 'lifecycle', message: 'run succeeded', stream: null, level: 'info', payload: { status: 'succeeded', exitCode: 0 } },
    ]);
    expect(done.run.lastEventSeq).toBe(5);
    // The tool event is evidence of work, though the finish wrote it.
    expect(done.liveness).toEqual({ state: 'advanced', reason: 'Run produced concrete action evidence: 2 tool events', nextAction: null, usefulAt: true });
    // Live, in seq order, each once, each as its row.
    expect(done.published.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(done.published.map((e) => ({ seq: e.seq, event_type: e.eventType, message: e.message, stream: e.stream, level: e.level, payload: e.payload }))).toEqual(rows);
    // The adapter's events went out in the finish's transaction, with the terminal event.
    const txOf = (seq: number) => done.events.find((e) => e.seq === seq)!.tx;
    expect([txOf(2), txOf(3), txOf(4)]).toEqual([txOf(5), txOf(5), txOf(5)]);
  });

  it('without batching, the same finish called with the one run leaves the same rows, seqs, live events and liveness', async () => {
    const done = await runScript(await startedEngine({ batchRunWrites: false }), STEPS);
    const rows = done.events.map(({ tx: _tx, ...rest }) => rest);
    expect(rows.map((row) => [row.seq, row.event_type, row.message])).toEqual([
      [1, 'lifecycle', 'run started'],
      [2, 'adapter.invoke', 'adapter invoked'],
      [3, 'tool.call', 'ls'],
      [4, 'note', 'done'],
      [5, 'lifecycle', 'run succeeded'],
    ]);
    expect(done.run).toMatchObject({ status: 'succeeded', lastEventSeq: 5, issueCommentStatus: 'not_applicable' });
    // Written one by one, before the finish, its tool events are the same evidence.
    expect(done.liveness).toEqual({ state: 'advanced', reason: 'Run produced concrete action evidence: 2 tool events', nextAction: null, usefulAt: true });
    expect(done.published.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('gets them written before its failure when it fails transiently, and the bounded retry scheduled after', async () => {
    const steps = [{ event: { type: 'tool.call', message: 'ls' } }, { fail: { message: 'upstream busy', errorFamily: 'transient_upstream' } }];
    const failed = await runScript(await startedEngine(), steps);
    // The retry's due time is jittered: its event is compared by its start only.
    const rows = failed.events.map((e) => [e.seq, e.event_type, e.message?.replace(/ for .*/, '')]);
    expect(rows).toEqual([
      [1, 'lifecycle', 'run started'],
      [2, 'adapter.invoke', 'adapter invoked'],
      [3, 'tool.call', 'ls'],
      [4, 'lifecycle', 'run failed'],
      [5, 'lifecycle', 'Scheduled bounded retry 1/4'],
    ]);
    expect(await failed.retry()).toMatchObject({ status: 'scheduled_retry' });
    expect(failed.published.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    // The last events go with the failure, in the finish's transaction; the retry follows it.
    const txOf = (seq: number) => failed.events.find((e) => e.seq === seq)!.tx;
    expect([txOf(2), txOf(3)]).toEqual([txOf(4), txOf(4)]);
    expect(txOf(5)).not.toBe(txOf(4));
  });

  it('still writes and publishes the events of a run that is still going while it runs', async () => {
    const f = await startedEngine();
    const agent = await f.agent({ adapterConfig: { steps: [{ event: { type: 'tool.call', message: 'early' } }, { sleepMs: 60_000 }] } });
    const queued = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'test' });
    const runId = queued.run!.id;
    const early = await waitFor('the early event to be written', () =>
      f.db.query.runEvents.findFirst({ where: { runId, eventType: 'tool.call' } }),
    );
    expect(early.seq).toBe(3);
    expect(f.published.some((e) => e.type === 'heartbeat.run.event' && e.runId === runId && e.seq === 3)).toBe(true);
    expect((await f.db.query.heartbeatRuns.findFirst({ where: { id: runId } }))!.status).toBe('running');
    await f.engine.cancelRun({ runId });
  });
});

describe('run events', () => {
  it('go with their run when its agent is deleted (their company and agent are held by the run)', async () => {
    const f = await startedEngine();
    const { run } = await runScript(f, STEPS);
    await f.db.execute(sql`delete from agents where id = ${run.agentId}`);
    const [{ left }] = await f.db.execute<{ left: number }>(sql`select count(*)::int as left from heartbeat_run_events where agent_id = ${run.agentId}`);
    expect(left).toBe(0);
  });
});
