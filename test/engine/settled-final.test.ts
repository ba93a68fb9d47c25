// A settled run is final: an executor that finishes late (its run was cancelled, or reaped by an
// instance that thought it dead) records nothing more on it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type FinalizeSteps, writeTerminalStatus } from '../../engine/finalize.ts';
import { createAgent, enqueue, runFinished } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

it('the late output of a settled run is not written onto it', async () => {
  const agentId = await createAgent(server, { adapterConfig: { steps: [{ log: 'hi' }] } });
  const { runId } = await enqueue(server, { agentId });
  await runFinished(server, runId!);
  const row = () => server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } });
  const settled = await waitFor('the run to settle', async () => ((await row())?.settledAt ? row() : null));

  const late = {
    logStore: 'file', logRef: 'elsewhere.ndjson', logBytes: 999, logSha256: 'f'.repeat(64), stdoutExcerpt: 'late', stderrExcerpt: null,
    lastOutputAt: new Date(), lastOutputSeq: 9, lastOutputStream: 'stdout', lastOutputBytes: 999,
  };
  const agent = { id: agentId, adapterType: 'script' as const, adapterConfig: {} };
  const written = await writeTerminalStatus(
    server.app.engine.deps,
    { runId: runId!, agent, result: { exitCode: 1, signal: 'SIGKILL', errorMessage: 'late' }, output: late },
    {} as FinalizeSteps, // not reached: the run is terminal already
  );
  expect(written.finalized).toBe(false);
  expect(await row()).toEqual(settled);
});
