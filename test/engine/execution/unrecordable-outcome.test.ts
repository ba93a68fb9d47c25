// A run whose outcome PostgreSQL refuses to store (here: NUL characters, which text and jsonb
// cannot hold, from an adapter that does not clean its output) still ends: failed, without the
// output that could not be stored, and with an error that names the reason but not the statement.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { scriptAdapter } from '../../../engine/adapters/script.ts';
import type { Adapter } from '../../../engine/adapters/types.ts';
import { createAgent, enqueue, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const nulWriter: Adapter<unknown> = {
  ...scriptAdapter,
  async execute(execution) {
    execution.onLog('stdout', 'before \u0000 after\n');
    return { exitCode: 0, signal: null, resultJson: { text: 'a\u0000b' }, summary: 'done \u0000' };
  },
};

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ engine: { adapters: { script: nulWriter } } });
});
afterAll(() => server?.close());

it('a run whose outcome cannot be stored ends failed, settled, without leaking the failed statement', async () => {
  const agentId = await createAgent(server, {});
  const { runId } = await enqueue(server, { agentId });
  const run = await runFinished(server, runId!);
  expect(run).toMatchObject({ status: 'failed', errorCode: 'outcome_not_recorded', resultJson: { stopReason: 'adapter_failed' } });
  expect(run.resultJson).not.toHaveProperty('text'); // what could not be stored is not
  expect(run.error).toMatch(/^The run ended \(exit code 0\) but its outcome could not be recorded: /);
  expect(run.error).not.toMatch(/update|insert|select|params|token/i);
  await waitFor('the run to be settled', async () => (await server.database.db.query.heartbeatRuns.findFirst({ where: { id: runId! } }))?.settledAt);
  const agent = await server.database.db.query.agents.findFirst({ where: { id: agentId } });
  expect(agent?.status).not.toBe('running');
});
