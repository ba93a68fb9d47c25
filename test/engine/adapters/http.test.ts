// The http adapter against a real local server: streamed NDJSON, plain JSON, non-2xx, network
// errors, timeout, cancel mid-stream and config validation.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpEndpoint, startHttpEndpoint } from '../../support/http-endpoint.ts';
import { httpAdapter } from '../../../engine/adapters/http.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import { RECORDED_INVOCATION, recordingExecution, waitFor } from '../../fixtures/agents/recording-execution.ts';

interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

const pace = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Server-side pacing below is how a slow agent answers, not test synchronisation.
const routes: Record<string, (res: ServerResponse) => Promise<void> | void> = {
  async '/stream'(res) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"type":"tool.call","message":"step 1","payload":{"n":1}}\n');
    await pace(30);
    res.write('thinking out loud\n{"type":"assistant.mes');
    await pace(30);
    res.write('sage","message":"héllo"}\n');
    await pace(30);
    res.write(Buffer.from('✓ done\n').subarray(0, 2));
    await pace(30);
    res.write(Buffer.from('✓ done\n').subarray(2));
    res.end('{"result":{"ok":true},"summary":"all good","usage":{"outputTokens":5}}');
  },
  '/json'(res) {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify({ result: { answer: 42 }, summary: 'plain' }, null, 2));
  },
  '/no-result'(res) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end('just a log line\n[1,2]\n');
  },
  '/fail'(res) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('x'.repeat(2000));
  },
  '/hang'() {
    // Never answers.
  },
  '/slow'(res) {
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.write('{"type":"started"}\n');
    // ...and never finishes.
  },
};

describe('http adapter', () => {
  let endpoint: HttpEndpoint;
  let base: string;
  const seen: Seen[] = [];
  const closed = new Set<string>();

  beforeAll(async () => {
    endpoint = await startHttpEndpoint(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const path = req.url ?? '/';
      seen.push({ path, headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString()) });
      res.on('close', () => closed.add(path));
      await (routes[path] ?? ((r: ServerResponse) => r.writeHead(404).end()))(res);
    });
    base = endpoint.base;
  });
  afterAll(async () => {
    await endpoint?.close();
  });

  const run = (path: string, extra: Record<string, unknown> = {}) =>
    recordingExecution(httpAdapter.parseConfig({ url: base + path, ...extra }));

  it('streams NDJSON: events and logs as they arrive, the result line at the end', async () => {
    const rec = run('/stream', { headers: { authorization: 'Bearer agent-secret', 'x-extra': '1' } });
    const result = await httpAdapter.execute(rec.execution);
    expect(result).toEqual({
      exitCode: 0,
      resultJson: { ok: true },
      summary: 'all good',
      usage: { inputTokens: 0, cachedInputTokens: 0, outputTokens: 5, costUsd: null, billingType: 'unknown', provider: null, biller: 'unknown', model: null },
    });
    expect(rec.events).toEqual([
      { type: 'tool.call', message: 'step 1', level: null, stream: null, color: null, payload: { n: 1 } },
      { type: 'assistant.message', message: 'héllo', level: null, stream: null, color: null, payload: undefined },
    ]);
    expect(rec.logs).toEqual([
      { stream: 'stdout', chunk: 'thinking out loud\n' },
      { stream: 'stdout', chunk: '✓ done\n' },
    ]);

    const request = seen.find((s) => s.path === '/stream')!;
    expect(request.body).toEqual(RECORDED_INVOCATION);
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/x-ndjson, application/json',
      authorization: 'Bearer agent-secret',
      'x-extra': '1',
    });
    expect(rec.metas).toEqual([
      {
        adapter: 'http',
        url: `${base}/stream`,
        headers: { authorization: '***REDACTED***', 'x-extra': '***REDACTED***' },
      },
    ]);
  });

  it('a plain application/json body is one message, even pretty-printed', async () => {
    const rec = run('/json');
    expect(await httpAdapter.execute(rec.execution)).toEqual({
      exitCode: 0,
      resultJson: { answer: 42 },
      summary: 'plain',
    });
    expect(rec.logs).toEqual([]);
  });

  it('a stream without a result line succeeds with exit code 0 and logs the rest', async () => {
    const rec = run('/no-result');
    expect(await httpAdapter.execute(rec.execution)).toEqual({ exitCode: 0 });
    expect(rec.output('stdout')).toBe('just a log line\n[1,2]\n');
  });

  it('non-2xx -> adapter_failed with status and the start of the body', async () => {
    const result = await httpAdapter.execute(run('/fail').execution);
    expect(result).toEqual({
      exitCode: null,
      errorMessage: `HTTP 500 Internal Server Error: ${'x'.repeat(500)}`,
      errorCode: 'adapter_failed',
    });
  });

  it('network errors -> adapter_failed', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const rec = recordingExecution(httpAdapter.parseConfig({ url: `http://127.0.0.1:${port}/` }));
    const result = await httpAdapter.execute(rec.execution);
    expect(result).toMatchObject({ exitCode: null, errorCode: 'adapter_failed' });
    expect(result.errorMessage).toMatch(/^HTTP request failed: .*ECONNREFUSED/);
  });

  it('times out before the response and while streaming', async () => {
    for (const path of ['/hang', '/slow']) {
      const rec = run(path, { timeoutSec: 0.3 });
      const started = Date.now();
      expect(await httpAdapter.execute(rec.execution)).toEqual({
        exitCode: null,
        timedOut: true,
        errorMessage: 'Timed out after 0.3s',
        errorCode: 'timeout',
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      await waitFor(() => closed.has(path), `${path} connection closed`);
      closed.delete(path);
    }
  });

  it('cancel mid-stream aborts the request and resolves cancelled', async () => {
    const rec = run('/slow');
    const running = httpAdapter.execute(rec.execution);
    await waitFor(() => rec.events.some((e) => e.type === 'started'), 'first event');
    rec.controller.abort();
    expect(await running).toEqual({ exitCode: null, errorMessage: 'Cancelled', errorCode: 'cancelled' });
    await waitFor(() => closed.has('/slow'), 'server saw the connection close');
  });

  it('already cancelled: sends nothing', async () => {
    const rec = run('/json');
    rec.controller.abort();
    const before = seen.length;
    expect(await httpAdapter.execute(rec.execution)).toMatchObject({ errorCode: 'cancelled' });
    expect(seen.length).toBe(before);
  });

  it('rejects invalid configs with BAD_USER_INPUT naming the field', () => {
    const cases: Array<[unknown, RegExp]> = [
      [{}, /adapterConfig\.url: Required/],
      [{ url: 'not a url' }, /adapterConfig\.url/],
      [{ url: 'ftp://example.com/x' }, /adapterConfig\.url/],
      [{ url: 'http://x', timeoutSec: -5 }, /adapterConfig\.timeoutSec/],
      [{ url: 'http://x', headers: { a: 1 } }, /adapterConfig\.headers\.a/],
      // fetch refuses credentials in a URL, and its error would quote them; headers carry secrets.
      [{ url: 'http://user:pa55@x.test/' }, /^adapterConfig\.url: Credentials in the URL are not sent; put them in headers$/],
      // An invalid header fails every request with an error that quotes the (secret) value.
      [{ url: 'http://x', headers: { 'x key': 's3cret' } }, /^adapterConfig\.headers\.x key: Expected a header name/],
      [{ url: 'http://x', headers: { 'x-key': 's3c\nret' } }, /^adapterConfig\.headers\.x-key: Expected a header value without control characters$/],
      [{ url: 'http://x', headers: { 'x-key': 'caf\u20ac' } }, /^adapterConfig\.headers\.x-key: Expected a header value/],
    ];
    for (const [config, message] of cases) {
      const error = (() => {
        try {
          httpAdapter.parseConfig(config);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(HeartbeatError);
      expect((error as HeartbeatError).code).toBe('BAD_USER_INPUT');
      expect((error as HeartbeatError).message).toMatch(message);
    }
    expect(httpAdapter.timeoutSec(httpAdapter.parseConfig({ url: 'https://x.test/a', timeoutSec: 9 }))).toBe(9);
  });
});
