import { createHash } from 'node:crypto';
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
    // The log is in the database, in pieces of one stream; its size and digest (of its text) are on the run.
    const pieces = await server.database.db.query.runLogChunks.findMany({ where: { runId: run.id }, orderBy: { logOffset: 'asc' } });
    expect(pieces.map((p) => [p.stream, p.logOffset, p.streamOffset, p.text, p.bytes])).toEqual([['stdout', 0, 0, 'hello\n', 6]]);
    expect(run).toMatchObject({ logStore: 'postgres', logBytes: 6, logSha256: createHash('sha256').update('hello\n').digest('hex') });
  });
});
