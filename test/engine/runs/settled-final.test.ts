// A settled run is final: an executor that finishes late (its run was reaped as lost by an instance
// that thought its own instance dead) records nothing more on it: no output, no events.
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { engineInstances, heartbeatRuns } from '../../../db/schema.ts';
import { finishRuns } from '../../../engine/runs/finish.ts';
import { createAgent, enqueue, runFinished } from '../../support/api.ts';
import { useInstancePair } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const AGENT = fileURLToPath(new URL('../../fixtures/agents/agent.mjs', import.meta.url));

describe('a settled run', () => {
  const pair = useInstancePair();
  const row = (runId: string) => pair.a.database.db.query.heartbeatRuns.findFirst({ where: { id: runId } });
  const settledRow = (runId: string) => waitFor('the run to settle', async () => ((await row(runId))?.settledAt ? row(runId) : null));

  it('takes no late output', async () => {
    const { a } = pair;
    const agentId = await createAgent(a, { adapterConfig: { steps: [{ log: 'hi' }] } });
    const { runId } = await enqueue(a, { agentId });
    await runFinished(a, runId!);
    const settled = await settledRow(runId!);
    const late = {
      logStore: 'file', logRef: 'elsewhere.ndjson', logBytes: 999, logSha256: 'f'.repeat(64), stdoutExcerpt: 'late', stderrExcerpt: null,
      lastOutputAt: new Date(), lastOutputSeq: 9, lastOutputStream: 'stdout', lastOutputBytes: 999,
    };
    const agent = { id: agentId, adapterType: 'script' as const, adapterConfig: {} };
    const [written] = await finishRuns(
      a.app.engine.deps,
      [{ runId: runId!, agent, result: { exitCode: 1, signal: 'SIGKILL', errorMessage: 'late' }, output: late, crashed: false, events: [] }],
      { wait: true },
    );
    expect(written).toEqual({ kind: 'ended', run: settled });
    expect(await row(runId!)).toEqual(settled);
  });

  it('takes no events from an executor that outlived its lease: its run was reaped as lost elsewhere', async () => {
    const { a, b } = pair;
    const agentId = await createAgent(a, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [AGENT, 'term-event'], graceSec: 1 } });
    const { runId } = await enqueue(a, { agentId });
    const events = () => a.database.db.query.runEvents.findMany({ where: { runId: runId! }, orderBy: { seq: 'asc' } });
    await waitFor('the ready event', async () => (await events()).some((e) => e.eventType === 'ready'));
    const running = (await row(runId!))!;
    const [owner, other] = running.ownerInstanceId === a.app.engine.instanceId ? [a, b] : [b, a];

    // The owner is declared dead (its lease ended, as when it was cut off from the database while
    // its peer was not), and the other instance reaps the run; its process is on a host the
    // other cannot reach, so it is left to the owner, which still executes the run. (Its one retry
    // after a process loss is used up, so the reap queues none.)
    const ownerInstanceId = owner.app.engine.instanceId;
    await a.database.db.update(engineInstances).set({ stoppedAt: new Date() }).where(eq(engineInstances.id, ownerInstanceId));
    await a.database.db.update(heartbeatRuns).set({ ownerHost: 'elsewhere', processLossRetryCount: 1 }).where(eq(heartbeatRuns.id, runId!));
    // The other's periodic loop may reap it first; then this pass finds nothing left to reap.
    expect([[runId], []]).toContainEqual((await other.app.engine.reapOrphanedRuns()).runIds);
    const settled = await settledRow(runId!);
    expect(settled).toMatchObject({ status: 'failed', errorCode: 'process_lost' });
    const eventsAtSettle = await events();

    // The owner finds its lease taken over (fencing) and stops its process, which answers SIGTERM with
    // an event; the owner then lets go of the run. Neither the event nor the outcome is recorded.
    await waitFor('the owner to let go of the run', () => !owner.app.engine.activeRunIds().includes(runId!), { timeoutMs: 10_000 });
    expect(await events()).toEqual(eventsAtSettle);
    expect(await row(runId!)).toEqual(settled);
    // And it goes on as a new instance, with a lease of its own.
    await waitFor('the owner to register anew', () => owner.app.engine.instanceId !== ownerInstanceId, { timeoutMs: 10_000 });
    expect(await a.database.db.query.engineInstances.findFirst({ where: { id: owner.app.engine.instanceId } })).toMatchObject({ stoppedAt: null });
  });
});
