// 429 and 503 say "try again later": the run fails as transient_upstream (eligible for the bounded
// retry), not before the endpoint's Retry-After when it gives one. Other failures stay plain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpEndpoint, startHttpEndpoint } from '../../support/http-endpoint.ts';
import { httpAdapter } from '../../../engine/adapters/http.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';

const LATER = new Date('2031-05-06T07:08:09.000Z');

describe('http adapter transient statuses', () => {
  let endpoint: HttpEndpoint;
  let base: string;

  beforeAll(async () => {
    endpoint = await startHttpEndpoint((req, res) => {
      req.resume();
      req.on('end', () => {
        const [, status, retryAfter] = /^\/(\d+)(?:\/(.*))?$/.exec(req.url ?? '') ?? [];
        const after = retryAfter === 'date' ? LATER.toUTCString() : retryAfter && decodeURIComponent(retryAfter);
        res.writeHead(Number(status ?? 404), after ? { 'retry-after': after } : {}).end('busy');
      });
    });
    base = endpoint.base;
  });
  afterAll(async () => {
    await endpoint?.close();
  });

  const execute = (path: string) => httpAdapter.execute(recordingExecution(httpAdapter.parseConfig({ url: base + path })).execution);

  it('429 with Retry-After in seconds: transient, not before then', async () => {
    const before = Date.now();
    const result = await execute('/429/120');
    const after = Date.now();
    expect(result).toMatchObject({
      exitCode: null,
      errorMessage: 'HTTP 429 Too Many Requests: busy',
      errorCode: 'adapter_failed',
      errorFamily: 'transient_upstream',
    });
    const notBefore = Date.parse(result.retryNotBefore!);
    expect(notBefore).toBeGreaterThanOrEqual(before + 120_000);
    expect(notBefore).toBeLessThanOrEqual(after + 120_000);
  });

  it('503 with Retry-After as an HTTP date: transient, not before that date', async () => {
    expect(await execute('/503/date')).toEqual({
      exitCode: null,
      errorMessage: 'HTTP 503 Service Unavailable: busy',
      errorCode: 'adapter_failed',
      errorFamily: 'transient_upstream',
      retryNotBefore: LATER.toISOString(),
    });
  });

  it('without a usable Retry-After: transient, with no time of its own', async () => {
    for (const path of ['/503', '/429/soon', `/429/${'9'.repeat(30)}`, '/503/-5']) {
      const result = await execute(path);
      expect(result).toMatchObject({ errorFamily: 'transient_upstream' });
      expect(result).not.toHaveProperty('retryNotBefore');
    }
  });

  it('other failures are not transient, Retry-After or not', async () => {
    for (const path of ['/500/60', '/404', '/401']) {
      const result = await execute(path);
      expect(result).toMatchObject({ exitCode: null, errorCode: 'adapter_failed' });
      expect(result).not.toHaveProperty('errorFamily');
      expect(result).not.toHaveProperty('retryNotBefore');
    }
  });
});
