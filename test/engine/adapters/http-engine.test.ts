// How an http endpoint's failures land on the run through the engine: a 503 with Retry-After is a
// transient failure retried no earlier than asked; an error page with control characters still fails
// the run with its HTTP status (its write used to fail, leaving the run to the reaper as process_lost).
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpEndpoint, startHttpEndpoint } from '../../support/http-endpoint.ts';
import { heartbeatRuns } from '../../../db/schema.ts';
import { createAgent, enqueue, runFinished } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

// Past every jittered delay of the first retry, so the endpoint's time decides.
const RETRY_AFTER = new Date('2031-05-06T07:08:09.000Z');

describe('http runs through the engine', () => {
  let server: TestServer;
  let endpoint: HttpEndpoint;
  let base = '';

  beforeAll(async () => {
    server = await startTestServer();
    endpoint = await startHttpEndpoint((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/busy') res.writeHead(503, { 'retry-after': RETRY_AFTER.toUTCString() }).end('busy');
        else res.writeHead(500, { 'content-type': 'text/plain' }).end('bad\u0000thing');
      });
    });
    base = endpoint.base;
  });
  afterAll(async () => {
    await server?.close();
    await endpoint?.close();
  });

  it('503 with Retry-After: failed as transient, retry scheduled for the time the endpoint gave', async () => {
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url: `${base}/busy` } });
    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    expect(run).toMatchObject({ status: 'failed', error: 'HTTP 503 Service Unavailable: busy', errorCode: 'adapter_failed' });
    expect(run.resultJson).toMatchObject({ errorFamily: 'transient_upstream', retryNotBefore: RETRY_AFTER.toISOString() });
    const retry = await waitFor('the scheduled retry', () =>
      server.database.db.query.heartbeatRuns.findFirst({ where: { retryOfRunId: runId! } }),
    );
    expect(retry).toMatchObject({ status: 'scheduled_retry', scheduledRetryAt: RETRY_AFTER });
  });

  it('an error page with a NUL byte fails the run with its status', async () => {
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url: `${base}/nul` } });
    const { runId } = await enqueue(server, { agentId });
    const run = await runFinished(server, runId!);
    expect(run).toMatchObject({ status: 'failed', error: 'HTTP 500 Internal Server Error: badthing', errorCode: 'adapter_failed' });
    const [row] = await server.database.db.select({ id: heartbeatRuns.id }).from(heartbeatRuns).where(eq(heartbeatRuns.retryOfRunId, runId!));
    expect(row).toBeUndefined();
  });
});
