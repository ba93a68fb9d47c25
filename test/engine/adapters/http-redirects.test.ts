// Redirects are not followed: a 301/302 would turn the POST into a GET without the run context, and a
// 307/308 to another origin would carry the run token and the configured secret headers there.
import type { IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpEndpoint, startHttpEndpoint } from '../../support/http-endpoint.ts';
import { httpAdapter } from '../../../engine/adapters/http.ts';
import { recordingExecution } from '../../fixtures/agents/recording-execution.ts';

describe('http adapter redirects', () => {
  let endpoint: HttpEndpoint;
  let base: string;
  const seen: Array<{ path: string; headers: IncomingMessage['headers'] }> = [];

  beforeAll(async () => {
    endpoint = await startHttpEndpoint((req, res) => {
      const path = req.url ?? '/';
      seen.push({ path, headers: req.headers });
      req.resume();
      req.on('end', () => {
        const status = /^\/redirect-(\d+)$/.exec(path)?.[1];
        // Another origin: the same server under another host name.
        if (status) res.writeHead(Number(status), { location: `http://localhost:${port()}/target` }).end('moved');
        else res.writeHead(200, { 'content-type': 'application/x-ndjson' }).end('{"result":{"reached":true}}\n');
      });
    });
    base = endpoint.base;
  });
  afterAll(async () => {
    await endpoint?.close();
  });
  const port = () => endpoint.port;

  it('a 3xx fails the run naming where it pointed; nothing is sent there', async () => {
    for (const status of [301, 302, 303, 307, 308]) {
      const config = httpAdapter.parseConfig({ url: `${base}/redirect-${status}`, headers: { 'x-api-key': 'k3y' } });
      const result = await httpAdapter.execute(recordingExecution(config).execution);
      expect(result).toMatchObject({ exitCode: null, errorCode: 'adapter_failed' });
      expect(result.errorMessage).toMatch(new RegExp(`^HTTP ${status} .*: redirects are not followed \\(to http://localhost:${port()}/target\\)$`));
    }
    expect(seen.filter((s) => s.path === '/target')).toEqual([]);
  });
});
