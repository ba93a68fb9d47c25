// OpenTelemetry traces (README, Tracing): with an OTLP endpoint configured, a server exports one
// span per GraphQL operation and, for each run, the spans of its wakeup, claim, execution and
// finish, all in the trace of the operation that woke it; the agent gets the execution span's
// traceparent (TRACEPARENT, or the http agent's `traceparent` header). Without one nothing starts.
// The collector is a local OTLP/HTTP receiver (JSON), the agents real child processes and a real
// HTTP endpoint.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tracerProvider, tracingSettingsFrom } from '../../engine/index.ts';
import { mergeWakeContext } from '../../engine/rules/wake-context.ts';
import { ConfigError, loadConfig } from '../../server/config.ts';
import { agentGid, createAgent, createIssue, gql, rawId, runFinished } from '../support/api.ts';
import { startHttpEndpoint, type HttpEndpoint } from '../support/http-endpoint.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { waitFor } from '../support/wait.ts';

const ECHO = fileURLToPath(new URL('../fixtures/agents/echo-agent.mjs', import.meta.url));
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes: Record<string, unknown>;
  status?: { code?: number; message?: string };
  resource: Record<string, unknown>;
}

type OtlpAttribute = { key: string; value: Record<string, unknown> };
const attributesOf = (list: OtlpAttribute[] | undefined) =>
  Object.fromEntries((list ?? []).map(({ key, value }) => [key, value.stringValue ?? value.intValue ?? value.boolValue ?? value.doubleValue]));

/** A local OTLP/HTTP trace receiver (JSON bodies), keeping every span it was sent. */
async function startReceiver() {
  const spans: ReceivedSpan[] = [];
  const requests: Array<{ path: string; contentType: string | undefined; bytes: number }> = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const bytes = Buffer.concat(chunks);
      requests.push({ path: request.url ?? '', contentType: request.headers['content-type'], bytes: bytes.length });
      if (request.method !== 'POST' || request.url !== '/v1/traces') {
        response.writeHead(404).end();
        return;
      }
      // Protobuf bodies are counted, not decoded (the spans are checked over JSON).
      if (request.headers['content-type'] !== 'application/json') {
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        return;
      }
      const body = JSON.parse(bytes.toString('utf8'));
      for (const resourceSpans of body.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            spans.push({ ...span, attributes: attributesOf(span.attributes), resource });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const runSpanNames = ['heartbeat.wakeup.enqueue', 'heartbeat.run.claim', 'heartbeat.run.execute', 'heartbeat.run.finish'] as const;

/** Waits until the receiver has the wakeup, claim, execution and finish spans of the run. */
function runSpans(receiver: Receiver, runId: string) {
  return waitFor(`the spans of run ${runId}`, () => {
    const found = Object.fromEntries(
      runSpanNames.map((name) => [name, receiver.spans.find((span) => span.name === name && span.attributes['heartbeat.run.id'] === runId)]),
    );
    return runSpanNames.every((name) => found[name]) ? (found as Record<(typeof runSpanNames)[number], ReceivedSpan>) : null;
  });
}

function otelEnv(receiver: Receiver, extra: Record<string, string> = {}) {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'heartbeat-under-test',
    // Exported within a moment, so that the test polls briefly; the close flushes anyway.
    OTEL_BSP_SCHEDULE_DELAY: '50',
    ...extra,
  };
}

describe('tracing on (OTEL_EXPORTER_OTLP_ENDPOINT set)', () => {
  let receiver: Receiver;
  let server: TestServer;
  let agentEndpoint: HttpEndpoint;
  const agentRequests: IncomingHttpHeaders[] = [];
  beforeAll(async () => {
    receiver = await startReceiver();
    server = await startTestServer({ env: otelEnv(receiver) });
    agentEndpoint = await startHttpEndpoint((request, response) => {
      agentRequests.push(request.headers);
      request.resume();
      request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{"result":{"ok":true}}'));
    });
  });
  afterAll(async () => {
    await server?.close();
    await agentEndpoint?.close();
    await receiver?.close();
  });

  it('a wakeup through the API is one trace: the operation, then the run wakeup, claim, execution and finish, with the run ids', async () => {
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [ECHO] } });
    const data = await gql<{ enqueueWakeup: { wakeupRequest: { id: string }; run: { id: string } } }>(
      server,
      `mutation WakeTraced($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { wakeupRequest { id } run { id } } }`,
      { input: { agentId: agentGid(agentId), reason: 'traced' } },
    );
    const runId = rawId(data.enqueueWakeup.run.id);
    const run = await runFinished(server, runId);
    expect(run.status).toBe('succeeded');

    const spans = await runSpans(receiver, runId);
    const operation = await waitFor('the GraphQL operation span', () => receiver.spans.find((span) => span.name === 'mutation.WakeTraced'));
    const enqueue = spans['heartbeat.wakeup.enqueue'];
    // One trace, from the operation down: the wakeup is the operation's child, the rest the wakeup's.
    for (const span of [enqueue, ...Object.values(spans)]) expect(span.traceId).toBe(operation.traceId);
    expect(enqueue.parentSpanId).toBe(operation.spanId);
    for (const name of ['heartbeat.run.claim', 'heartbeat.run.execute', 'heartbeat.run.finish'] as const) {
      expect(spans[name].parentSpanId).toBe(enqueue.spanId);
    }
    expect(operation.attributes).toMatchObject({ 'graphql.execute.operationName': 'WakeTraced', 'graphql.execute.operationType': 'mutation' });
    // The run's ids on each of its spans.
    const ids = {
      'heartbeat.run.id': runId,
      'heartbeat.agent.id': agentId,
      'heartbeat.company.id': server.companyId,
      'heartbeat.wakeup.id': run.wakeupRequestId,
    };
    for (const span of Object.values(spans)) expect(span.attributes).toMatchObject(ids);
    expect(enqueue.attributes).toMatchObject({ 'heartbeat.wakeup.outcome': 'queued', 'heartbeat.wakeup.reason': 'traced', 'heartbeat.wakeup.source': 'on_demand' });
    expect(spans['heartbeat.run.execute'].attributes).toMatchObject({ 'heartbeat.adapter.type': 'process', 'heartbeat.adapter.exit_code': 0 });
    expect(spans['heartbeat.run.finish'].attributes).toMatchObject({ 'heartbeat.run.status': 'succeeded' });
    expect(enqueue.resource).toMatchObject({ 'service.name': 'heartbeat-under-test' });
    expect(receiver.requests.every((request) => request.path === '/v1/traces' && request.contentType === 'application/json')).toBe(true);

    // The run carries its wakeup's span in its context; the agent got the execution span.
    expect(run.contextSnapshot.traceparent).toBe(`00-${operation.traceId}-${enqueue.spanId}-01`);
    const env = (run.resultJson as { env: Record<string, string> }).env;
    expect(env.TRACEPARENT).toMatch(TRACEPARENT);
    expect(env.TRACEPARENT).toBe(`00-${operation.traceId}-${spans['heartbeat.run.execute'].spanId}-01`);
  });

  it('a run of an issue (createIssue with an assignee, claimed by the claim round) is traced with its issue id', async () => {
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [ECHO] } });
    const { issueId, wakeup } = await createIssue(server, { title: 'Traced issue', assigneeAgentId: agentId });
    const runId = rawId(wakeup!.run!.id);
    await runFinished(server, runId);
    const spans = await runSpans(receiver, runId);
    const operation = receiver.spans.find((span) => span.traceId === spans['heartbeat.wakeup.enqueue'].traceId && span.name.startsWith('mutation.'));
    expect(operation?.spanId).toBe(spans['heartbeat.wakeup.enqueue'].parentSpanId);
    for (const span of Object.values(spans)) {
      expect(span.traceId).toBe(operation!.traceId);
      expect(span.attributes).toMatchObject({ 'heartbeat.run.id': runId, 'heartbeat.issue.id': issueId, 'heartbeat.agent.id': agentId });
    }
  });

  it('an http agent gets the execution span as its traceparent header', async () => {
    const agentId = await createAgent(server, { adapterType: 'http', adapterConfig: { url: `${agentEndpoint.base}/agent` } });
    const data = await gql<{ enqueueWakeup: { run: { id: string } } }>(
      server,
      `mutation WakeHttp($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { run { id } } }`,
      { input: { agentId: agentGid(agentId) } },
    );
    const runId = rawId(data.enqueueWakeup.run.id);
    expect((await runFinished(server, runId)).status).toBe('succeeded');
    const spans = await runSpans(receiver, runId);
    const execute = spans['heartbeat.run.execute'];
    const headers = await waitFor('the agent request', () => agentRequests.find((h) => h.traceparent?.toString().includes(execute.spanId)));
    expect(headers.traceparent).toMatch(TRACEPARENT);
    expect(headers.traceparent).toBe(`00-${execute.traceId}-${execute.spanId}-01`);
    expect(execute.attributes).toMatchObject({ 'heartbeat.adapter.type': 'http' });
  });
});

describe('closing the server exports the spans it holds', () => {
  it('a batch not due yet is exported by the close', async () => {
    const receiver = await startReceiver();
    // No scheduled export within the test: only the close sends the spans.
    const server = await startTestServer({ env: otelEnv(receiver, { OTEL_BSP_SCHEDULE_DELAY: '600000' }) });
    let closed = false;
    try {
      const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [ECHO] } });
      const data = await gql<{ enqueueWakeup: { run: { id: string } } }>(
        server,
        `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { run { id } } }`,
        { input: { agentId: agentGid(agentId) } },
      );
      const runId = rawId(data.enqueueWakeup.run.id);
      await runFinished(server, runId);
      expect(receiver.spans.filter((span) => span.attributes['heartbeat.run.id'] === runId)).toEqual([]);
      closed = true;
      await server.close();
      expect(tracerProvider()).toBeNull();
      const names = receiver.spans.filter((span) => span.attributes['heartbeat.run.id'] === runId).map((span) => span.name);
      expect(names.sort()).toEqual([...runSpanNames].sort());
    } finally {
      if (!closed) await server.close();
      await receiver.close();
    }
  });
});

describe('the default protocol', () => {
  it('is http/protobuf', async () => {
    const receiver = await startReceiver();
    const { OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: _json, ...env } = otelEnv(receiver);
    const server = await startTestServer({ env });
    try {
      await createAgent(server, {});
    } finally {
      await server.close();
      await receiver.close();
    }
    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const request of receiver.requests) expect(request).toMatchObject({ path: '/v1/traces', contentType: 'application/x-protobuf' });
    expect(receiver.requests.every((request) => request.bytes > 0)).toBe(true);
  });
});

describe('tracing off (no OTEL endpoint)', () => {
  let server: TestServer;
  beforeAll(async () => {
    // The process's own TRACEPARENT (a traced CI, ...) is not an agent's.
    process.env.TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    server = await startTestServer();
  });
  afterAll(async () => {
    delete process.env.TRACEPARENT;
    await server?.close();
  });

  it('starts no SDK: no provider, no traceparent stored, no TRACEPARENT for the agent', async () => {
    expect(tracerProvider()).toBeNull();
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [ECHO] } });
    const data = await gql<{ enqueueWakeup: { run: { id: string } } }>(
      server,
      `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { run { id } } }`,
      { input: { agentId: agentGid(agentId) } },
    );
    const run = await runFinished(server, rawId(data.enqueueWakeup.run.id));
    expect(run.status).toBe('succeeded');
    expect(run.contextSnapshot).not.toHaveProperty('traceparent');
    const { env, stdin } = run.resultJson as { env: Record<string, string>; stdin: { context: Record<string, unknown> } };
    expect(env).not.toHaveProperty('TRACEPARENT');
    expect(stdin.context).not.toHaveProperty('traceparent');
  });

  it('OTEL_SDK_DISABLED=true keeps it off with an endpoint set: the collector hears nothing, even at the close', async () => {
    const receiver = await startReceiver();
    const disabled = await startTestServer({ env: otelEnv(receiver, { OTEL_SDK_DISABLED: 'true' }) });
    let closed = false;
    try {
      expect(tracerProvider()).toBeNull();
      const agentId = await createAgent(disabled, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [ECHO] } });
      const data = await gql<{ enqueueWakeup: { run: { id: string } } }>(
        disabled,
        `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { run { id } } }`,
        { input: { agentId: agentGid(agentId) } },
      );
      const run = await runFinished(disabled, rawId(data.enqueueWakeup.run.id));
      expect((run.resultJson as { env: Record<string, string> }).env).not.toHaveProperty('TRACEPARENT');
      closed = true;
      await disabled.close();
      expect(receiver.requests).toEqual([]);
    } finally {
      if (!closed) await disabled.close();
      await receiver.close();
    }
  });
});

describe('tracing settings (OTEL_* variables)', () => {
  it('are off without an endpoint, with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none', () => {
    expect(tracingSettingsFrom({})).toBeNull();
    expect(tracingSettingsFrom({ OTEL_SERVICE_NAME: 'x', OTEL_TRACES_EXPORTER: 'otlp' })).toBeNull();
    expect(tracingSettingsFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' })).toBeNull();
    expect(tracingSettingsFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
    expect(loadConfig({ HEARTBEAT_DATA_DIR: '/tmp/x' }).tracing).toBeNull();
  });

  it('read the standard variables', () => {
    expect(tracingSettingsFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' })).toMatchObject({
      url: 'http://collector:4318/v1/traces',
      protocol: 'http/protobuf',
      exporters: ['otlp'],
      resource: { 'service.name': 'heartbeat' },
      sampler: { name: 'parentbased_always_on' },
    });
    const settings = tracingSettingsFrom({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp/v1/traces',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-a=1',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
      OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
      OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'gzip',
      OTEL_SERVICE_NAME: 'hb',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=staging,service.name=ignored',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_TRACES_EXPORTER: 'otlp,console',
      OTEL_BSP_SCHEDULE_DELAY: '1000',
      OTEL_SDK_DISABLED: 'false',
    });
    expect(settings).toEqual({
      url: 'https://traces.example/otlp/v1/traces',
      protocol: 'http/json',
      exporters: ['otlp', 'console'],
      headers: { authorization: 'Bearer abc', 'x-a': '2' },
      timeoutMillis: 2000,
      compression: 'gzip',
      resource: { 'deployment.environment': 'staging', 'service.name': 'hb' },
      sampler: { name: 'parentbased_traceidratio', ratio: 0.25 },
      batch: { scheduledDelayMillis: 1000, exportTimeoutMillis: undefined, maxQueueSize: undefined, maxExportBatchSize: undefined },
    });
  });

  it('a wakeup that joins a queued run leaves the run in the trace of the wakeup that queued it', () => {
    const first = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const later = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    expect(mergeWakeContext({ traceparent: first, wakeReason: 'a' }, { traceparent: later, wakeReason: 'b' })).toMatchObject({ traceparent: first, wakeReason: 'b' });
    expect(mergeWakeContext({ wakeReason: 'a' }, { traceparent: later })).toMatchObject({ traceparent: later });
  });

  it('refuse what they cannot honour at start, as a ConfigError', () => {
    const endpoint = { HEARTBEAT_DATA_DIR: '/tmp/x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    for (const bad of [
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      { OTEL_TRACES_EXPORTER: 'zipkin' },
      { OTEL_TRACES_SAMPLER: 'sometimes' },
      { OTEL_TRACES_SAMPLER_ARG: '2' },
      { OTEL_BSP_SCHEDULE_DELAY: 'soon' },
      { OTEL_EXPORTER_OTLP_HEADERS: 'novalue' },
    ]) {
      expect(() => loadConfig({ ...endpoint, ...bad }), JSON.stringify(bad)).toThrow(ConfigError);
    }
  });
});
