// Redirects are not followed: a 301/302 would turn the POST into a GET without the run context, and a
// 307/308 to another origin would carry the run token and the configured secret headers there.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpAdapter } from '../engine/adapters/http.ts';
import { recordingExecution } from './fixtures/agents/recording-execution.ts';

describe('http adapter redirects', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ path: string; headers: IncomingMessage['headers'] }> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
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
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${port()}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const port = () => (server.address() as AddressInfo).port;

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
