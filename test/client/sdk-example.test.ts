// The README's SDK example is the file client/examples/quickstart.ts (type-checked in CI); here it
// runs against a live server.
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const example = new URL('../../client/examples/quickstart.ts', import.meta.url);

describe('README SDK example', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('is in the README word for word', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    expect(readme).toContain(readFileSync(example, 'utf8').trim());
  });

  it('runs against a live server: wakes, streams the events, prints the outcome', async () => {
    await createAgent(server, { adapterConfig: { steps: [{ event: { type: 'tool.call', message: 'hello from the example' } }, { result: { ok: true } }] } });
    const child = spawn(process.execPath, ['--import', 'tsx', example.pathname], {
      env: { ...process.env, HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code, output).toBe(0);
    expect(output).toMatch(/^QUEUED: run \S+/m);
    expect(output).toMatch(/^3 tool\.call hello from the example$/m);
    expect(output).toMatch(/^outcome: SUCCEEDED, liveness: ADVANCED$/m);
  });
});
