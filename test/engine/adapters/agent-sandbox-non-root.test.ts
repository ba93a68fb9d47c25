// The agent sandbox under a server that is not root (uid 65534, through setpriv, with a data directory
// it owns): the probe finds user namespaces, and the agent runs as the server's uid in user, PID and
// mount namespaces, with its own directory usable and nothing else of the server's readable.
import { randomBytes, randomUUID } from 'node:crypto';
import { chown, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { planAgentSpawn, sandboxSettingsFrom, type SandboxSupport } from '../../../engine/adapters/agent-sandbox.ts';
import { TREE_MARKER_VAR } from '../../../engine/adapters/process-tree.ts';
import {
  AS_NOBODY,
  NOBODY,
  processesMarked,
  REPO,
  request,
  runPlan,
  SANDBOX_FIXTURES,
  sh,
  SIGNAL_AGENT,
  SNOOP,
  startPlan,
  trackLayouts,
  underServer,
  unsandboxed,
} from '../../fixtures/agents/sandbox-host.ts';
import { waitFor } from '../../support/wait.ts';

const ROOT = process.getuid?.() === 0;
const SLOW = 120_000;
const settings = sandboxSettingsFrom({});
const layoutOf = trackLayouts();

describe.runIf(ROOT)('a server that is not root (uid 65534 through setpriv)', () => {
  let nonRoot: SandboxSupport;
  let warning: string | null;
  beforeAll(async () => {
    // The probe as such a server runs it: its own process, as uid 65534.
    const probe = await runPlan(
      {
        command: process.execPath,
        args: ['--import', 'tsx', join(SANDBOX_FIXTURES, 'sandbox-probe.ts')],
        env: { PATH: '/usr/bin:/bin', HOME: '/tmp' },
        cwd: REPO,
      },
      { via: AS_NOBODY },
    );
    const found = JSON.parse(probe.stdout) as { support: SandboxSupport; warning: string | null };
    nonRoot = found.support;
    warning = found.warning;
  }, SLOW);

  it('finds user namespaces on this host', () => {
    expect(nonRoot).toMatchObject({ serverUid: NOBODY.uid, serverGid: NOBODY.gid, namespaces: true });
    expect(warning).toBeNull();
  });

  it('runs the agent as the server’s uid in user, PID and mount namespaces: its directory usable, nothing else of the server’s', async () => {
    const layout = await layoutOf(['a', 'b'], NOBODY);
    const cwd = await layout.agentDir('a', 'agent-1');
    await writeFile(join(layout.company('b'), 'notes'), 'b only', { mode: 0o600 });
    await chown(join(layout.company('b'), 'notes'), NOBODY.uid, NOBODY.gid);
    const secret = `server-secret-${randomUUID()}`;
    const req = request(layout, 'a', cwd, SNOOP, [layout.data, layout.company('b'), '{SERVER_PID}', secret]);

    const bare = await underServer(unsandboxed(req), secret, AS_NOBODY);
    expect(bare.seen).toMatchObject({
      uid: '65534',
      password: 'embedded-cluster-password',
      'server-environ': expect.stringContaining(secret),
      'other-company': 'notes',
      'other-company-relative': 'notes',
    });

    const plan = planAgentSpawn(req, settings, nonRoot);
    expect(plan.identity).toBeNull();
    const boxed = await underServer(plan, secret, AS_NOBODY);
    expect(boxed.code).toBe(0);
    expect(boxed.seen).toMatchObject({
      uid: '65534',
      password: 'denied',
      'password-relative': 'denied',
      'server-environ': 'denied',
      'other-company': 'denied',
      'other-company-relative': 'denied',
      'secret-in-some-environ': 'no',
    });
    expect(boxed.seen.processes.split(' ')).not.toContain(String(boxed.serverPid));
    expect(boxed.seen.processes.split(' ').length).toBeLessThan(10);

    const ownReq = request(layout, 'a', cwd, ...sh('echo mine >made-here && cat made-here && ls -A ..'));
    const own = await runPlan(planAgentSpawn(ownReq, settings, nonRoot), { via: AS_NOBODY });
    expect(own).toMatchObject({ code: 0, stdout: 'mine\nagent-1\n' });
    expect((await stat(join(cwd, 'made-here'))).uid).toBe(NOBODY.uid);
  }, SLOW);

  it('stops and reports a killed agent as the root server does', async () => {
    const layout = await layoutOf(['a'], NOBODY);
    const cwd = await layout.agentDir('a', 'agent-1');
    const marker = randomBytes(16).toString('hex');
    const req = request(layout, 'a', cwd, SIGNAL_AGENT, ['record'], { [TREE_MARKER_VAR]: marker });
    const agent = startPlan(planAgentSpawn(req, settings, nonRoot), { via: AS_NOBODY });
    await waitFor('the agent to be ready', () => agent.stdout().includes('ready'), { timeoutMs: 30_000 });
    process.kill(-agent.pgid, 'SIGTERM');
    expect(await agent.ended).toEqual({ code: null, signal: 'SIGTERM' });
    expect(await readFile(join(cwd, 'got-term'), 'utf8')).toBe('term\n');
    await waitFor('no process of the run to be left', async () => (await processesMarked(marker)).length === 0, { timeoutMs: 30_000 });
  }, SLOW);
});
