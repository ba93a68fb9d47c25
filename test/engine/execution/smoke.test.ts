import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, enqueue } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

describe('engine smoke', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('runs a script agent to success', async () => {
    const agentId = await createAgent(server, { adapterConfig: { steps: [{ log: 'hello' }, { event: { type: 'tool.call', message: 'ls' } }, { result: { ok: true }, summary: 'done' }] } });
    const queued = await enqueue(server, { agentId, reason: 'manual' });
    expect(queued.outcome).toBe('QUEUED');
    const run = await waitFor('run to succeed', async () => {
      const row = await server.database.db.query.heartbeatRuns.findFirst({ where: { id: queued.runId! } });
      return row?.status === 'succeeded' ? row : null;
    });
    expect(run.resultJson).toMatchObject({ ok: true, summary: 'done', stopReason: 'completed' });
    const events = await server.database.db.query.runEvents.findMany({ where: { runId: run.id }, orderBy: { seq: 'asc' } });
    expect(events.map((e) => [e.seq, e.eventType, e.message])).toEqual([
      [1, 'lifecycle', 'run started'],
      [2, 'adapter.invoke', 'adapter invoked'],
      [3, 'tool.call', 'ls'],
      [4, 'lifecycle', 'run succeeded'],
    ]);
    expect(run.stdoutExcerpt).toBe('hello\n');
    // The log file holds every chunk as NDJSON; its size and digest are on the run.
    const file = readFileSync(join(server.dataDir, 'logs', run.logRef!));
    expect(run).toMatchObject({ logStore: 'file', logBytes: file.length, logSha256: createHash('sha256').update(file).digest('hex') });
    expect(file.toString('utf8').trim().split('\n').map((line) => JSON.parse(line))).toMatchObject([{ stream: 'stdout', chunk: 'hello\n' }]);
  });
});
