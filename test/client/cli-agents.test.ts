// `heartbeat agents create` and `agents show` as real processes against a live server: an agent made
// from the command line runs, and shows what it is, how it is woken, what it runs and did.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawId, runFinished } from '../support/api.ts';
import { spawnHeartbeat } from '../support/process.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

async function heartbeat(args: string[]) {
  const child = spawnHeartbeat(args, { HEARTBEAT_URL: server.graphqlUrl, HEARTBEAT_API_KEY: server.adminKey });
  let stdout = '';
  let stderr = '';
  child.child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const code = await child.exited;
  return { code, stdout, stderr };
}

describe('heartbeat agents create / show', { timeout: 180_000 }, () => {
  it('creates an agent that runs when woken, and shows it: adapter, wakes, latest runs, cost', async () => {
    const created = await heartbeat(['agents', 'create', 'cli-made', '--adapter', 'script', '--config', '{"steps":[{"log":"made here"},{"result":{"ok":true},"summary":"done"}]}', '--role', 'tester', '--max-concurrent-runs', '2']);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(/^created agent cli-made \([0-9a-f]{8}\): SCRIPT, no timer, wakes on demand, at most 2 runs at once\n$/);

    const woken = JSON.parse((await heartbeat(['wake', 'cli-made', '--json'])).stdout);
    expect((await runFinished(server, rawId(woken.run.id))).status).toBe('succeeded');

    const shown = await heartbeat(['agents', 'show', 'cli-made']);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    const lines = shown.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^agent\s+cli-made \([0-9a-f]{8}\)$/);
    expect(shown.stdout).toMatch(/^status\s+(IDLE|ACTIVE)$/m);
    expect(shown.stdout).toMatch(/^adapter\s+SCRIPT, role tester$/m);
    expect(shown.stdout).toMatch(/^wakes\s+no timer, wakes on demand, at most 2 runs at once$/m);
    expect(shown.stdout).toMatch(/^cost\s+\$0\.00 over 0 runs$/m);
    expect(shown.stdout).toMatch(new RegExp(`^runs\\s+1 in all; the latest:\\n  ${rawId(woken.run.id).slice(0, 8)}  SUCCEEDED\\s+\\S+$`, 'm'));
    expect(shown.stdout).toMatch(/^config\s+\{"steps":\[\{"log":"made here"\}/m);

    const json = JSON.parse((await heartbeat(['agents', 'show', 'cli-made', '--json'])).stdout);
    expect(json).toMatchObject({ name: 'cli-made', role: 'tester', adapterType: 'SCRIPT', heartbeat: { maxConcurrentRuns: 2, enabled: false }, runs: { totalCount: 1 } });
  });

  it('creates an agent woken by its timer only', async () => {
    const result = await heartbeat(['agents', 'create', 'cli-timed', '--adapter', 'script', '--config', '{"steps":[]}', '--interval', '3600', '--no-wake-on-demand', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const created = JSON.parse(result.stdout);
    expect(created).toMatchObject({ name: 'cli-timed', heartbeat: { enabled: true, intervalSec: 3600, wakeOnDemand: false } });
    expect((await heartbeat(['agents', 'show', 'cli-timed'])).stdout).toMatch(/^wakes\s+timer every 3600s, no wakes on demand, at most 1 run at once$/m);
  });

  it('refuses a bad adapter or config before asking the server, and says what the server refused', async () => {
    const adapter = await heartbeat(['agents', 'create', 'cli-bad', '--adapter', 'telepathy']);
    expect(adapter.code).toBe(1);
    expect(adapter.stderr).toMatch(/^error: option '--adapter <type>' argument 'telepathy' is invalid\. expected one of script, process, http, claude-code, codex/);
    const config = await heartbeat(['agents', 'create', 'cli-bad', '--adapter', 'script', '--config', '[1]']);
    expect(config.code).toBe(1);
    expect(config.stderr).toMatch(/^error: option '--config <json>' argument '\[1\]' is invalid\. expected a JSON object/);
    // The server checks the settings for the adapter: a process agent needs a command.
    const refused = await heartbeat(['agents', 'create', 'cli-bad', '--adapter', 'process', '--config', '{}']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^heartbeat: .+ \(BAD_USER_INPUT\)\n$/);
    expect((await heartbeat(['agents', 'show', 'cli-bad'])).stderr).toBe('heartbeat: no agent "cli-bad" (NOT_FOUND)\n');
  });
});
