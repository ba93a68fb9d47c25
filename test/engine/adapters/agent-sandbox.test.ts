// The agent sandbox under a root server: an agent started through planAgentSpawn runs as its company's
// uid, cannot read the server's secrets (its environment, the data directory), see other processes or
// another company's files, and still stops, exits and gets its environment exactly as an agent spawned
// directly. Real processes, real namespaces; the server is this (root) process, or a node child holding
// a secret in its environment. A server that is not root: agent-sandbox-non-root.test.ts.
import { randomBytes, randomUUID } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AgentSandboxError,
  type AgentSpawnRequest,
  DEFAULT_UID_BASE,
  planAgentSpawn,
  sandboxSettingsFrom,
  type SandboxSupport,
} from '../../../engine/adapters/agent-sandbox.ts';
import { probeSandbox, sandboxWarning } from '../../../engine/adapters/agent-sandbox-probe.ts';
import { terminateGroup } from '../../../engine/adapters/process-groups.ts';
import { TREE_MARKER_VAR } from '../../../engine/adapters/process-tree.ts';
import {
  companySlot,
  processesMarked,
  request,
  runPlan,
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
const offSettings = sandboxSettingsFrom({ HEARTBEAT_AGENT_SANDBOX: 'off' });

let host: SandboxSupport;
beforeAll(async () => {
  host = await probeSandbox(settings);
}, SLOW);
const layoutOf = trackLayouts();
const uidOf = (company: string) => DEFAULT_UID_BASE + companySlot(company);

describe('settings and plans', () => {
  it('reads HEARTBEAT_AGENT_SANDBOX and HEARTBEAT_AGENT_UID_BASE, refusing bad values by name', () => {
    expect(sandboxSettingsFrom({})).toEqual({ mode: 'auto', uidBase: 2_000_000_000 });
    expect(sandboxSettingsFrom({ HEARTBEAT_AGENT_SANDBOX: ' OFF ', HEARTBEAT_AGENT_UID_BASE: '100000' })).toEqual({ mode: 'off', uidBase: 100_000 });
    expect(() => sandboxSettingsFrom({ HEARTBEAT_AGENT_SANDBOX: 'on' })).toThrow(/^HEARTBEAT_AGENT_SANDBOX: must be auto or off/);
    for (const bad of ['0', '999', '1e6', '-5', 'many', '4294967295']) {
      expect(() => sandboxSettingsFrom({ HEARTBEAT_AGENT_UID_BASE: bad })).toThrow(/^HEARTBEAT_AGENT_UID_BASE: must be an integer/);
    }
  });

  it('leaves the spawn as it was for a server that is not root without namespaces, and says why once', () => {
    const plain: SandboxSupport = {
      serverUid: 1000,
      serverGid: 1000,
      tools: null,
      namespaces: false,
      resetSignals: false,
      problem: 'unshare not found',
    };
    const env = { PATH: '/bin', GONE: undefined };
    const req: AgentSpawnRequest = { command: 'agent', args: ['--x'], cwd: 'rel/dir', env, companySlot: 4, hide: ['/data'], keep: [] };
    const plan = planAgentSpawn(req, settings, plain);
    expect(plan).toEqual({ command: 'agent', args: ['--x'], cwd: 'rel/dir', env: { PATH: '/bin' }, identity: null, isolation: 'none' });
    expect(sandboxWarning(settings, plain)).toMatch(/unavailable \(unshare not found\).*server's user/);
    expect(sandboxWarning(offSettings, { ...plain, namespaces: true })).toMatch(/^HEARTBEAT_AGENT_SANDBOX=off/);
    expect(sandboxWarning(settings, { ...plain, serverUid: 0, namespaces: true, problem: undefined })).toBeNull();
  });

  it.runIf(ROOT)('hands no agent variable to the sandbox’s own programs, and refuses what it cannot pass on', () => {
    const env = { PATH: '/evil', LD_PRELOAD: '/evil.so', [TREE_MARKER_VAR]: 'm' };
    const req: AgentSpawnRequest = { command: 'agent', args: [], cwd: '/srv', env, companySlot: 7, hide: [], keep: [] };
    const plan = planAgentSpawn(req, settings, host);
    expect(plan.identity).toEqual({ uid: DEFAULT_UID_BASE + 7, gid: DEFAULT_UID_BASE + 7 });
    expect(plan.env.PATH).toBe('/usr/sbin:/usr/bin:/sbin:/bin');
    expect(plan.env[TREE_MARKER_VAR]).toBe('m');
    expect(Object.keys(plan.env).filter((name) => !name.startsWith('_HEARTBEAT_SANDBOX_ENV_')).sort()).toEqual(['PATH', TREE_MARKER_VAR]);
    for (const [env, message] of [
      [{ 'my-var': 'x' }, /"my-var" cannot reach a sandboxed agent/],
      [{ _HEARTBEAT_SANDBOX_N: 'x' }, /are the sandbox's own/],
    ] as const) {
      expect(() => planAgentSpawn({ ...req, env }, settings, host)).toThrow(AgentSandboxError);
      expect(() => planAgentSpawn({ ...req, env }, settings, host)).toThrow(message);
    }
    expect(() => planAgentSpawn({ ...req, companySlot: -1 }, settings, host)).toThrow(/no valid uid/);
    expect(() => planAgentSpawn({ ...req, companySlot: 2 ** 32 }, settings, host)).toThrow(/no valid uid/);
    expect(() => planAgentSpawn({ ...req, hide: ['/'] }, settings, host)).toThrow(/whole file system/);
  });
});

describe.runIf(ROOT)('a root server', () => {
  it('finds namespaces on this host', () => {
    expect(host.problem).toBeUndefined();
    expect(host.namespaces).toBe(true);
  });

  it('runs the agent as its company’s uid, alone in its /proc, unable to read the server’s secrets or another company’s files', async () => {
    const layout = await layoutOf(['a', 'b']);
    await chown(layout.company('b'), uidOf('b'), uidOf('b'));
    await writeFile(join(layout.company('b'), 'notes'), 'b only', { mode: 0o600 });
    await chown(join(layout.company('b'), 'notes'), uidOf('b'), uidOf('b'));
    const cwd = await layout.agentDir('a', 'agent-1');
    const secret = `server-secret-${randomUUID()}`;
    const req = request(layout, 'a', cwd, SNOOP, [layout.data, layout.company('b'), '{SERVER_PID}', secret]);

    // The same agent spawned as today reads every one of them: what follows is the sandbox's doing.
    const bare = await underServer(unsandboxed(req), secret);
    expect(bare.seen).toMatchObject({
      uid: '0',
      password: 'embedded-cluster-password',
      'server-environ': expect.stringContaining(secret),
      'other-company': 'notes',
      'other-company-relative': 'notes',
      'secret-in-some-environ': 'yes',
    });

    // A server in supplementary groups (adm here), as services often are: the agent is in none of them.
    // Its umask is strict: the agent keeps it, and still reaches its directory through what hides the rest.
    const strictServer = ['/usr/bin/setpriv', '--groups=4', '--', '/bin/sh', '-c', 'umask 077 && exec "$@"', 'sh'];
    const boxed = await underServer(planAgentSpawn(req, settings, host), secret, strictServer);
    expect(boxed.code).toBe(0);
    expect(boxed.seen).toMatchObject({
      uid: String(uidOf('a')),
      groups: String(uidOf('a')),
      umask: '0077',
      password: 'denied',
      'password-relative': 'denied',
      // What covers the data directory may be passed through, not read.
      'data-listing': 'denied',
      'server-environ': 'denied',
      'parent-environ': 'denied',
      'other-company': 'denied',
      'other-company-relative': 'denied',
      'secret-in-some-environ': 'no',
    });
    const processes = boxed.seen.processes.split(' ');
    expect(processes).toContain('1');
    expect(processes).not.toContain(String(boxed.serverPid));
    expect(processes.length).toBeLessThan(10);
  }, SLOW);

  it('keeps two companies apart, with namespaces and with a uid alone', async () => {
    for (const mode of [settings, offSettings]) {
      const layout = await layoutOf(['a', 'b']);
      // Without namespaces nothing is hidden: the agents reach their directories through the data directory.
      if (mode === offSettings) for (const dir of [layout.data, dirname(layout.company('a'))]) await chmod(dir, 0o711);
      const cwdA = await layout.agentDir('a', 'agent-a');
      const cwdB = await layout.agentDir('b', 'agent-b');
      const run = (company: string, cwd: string, script: string) => runPlan(planAgentSpawn(request(layout, company, cwd, ...sh(script)), mode, host));

      expect(await run('b', cwdB, 'echo b-private >notes && cat notes')).toMatchObject({ code: 0, stdout: 'b-private\n' });
      const fromA = await run('a', cwdA, `ls -A ..; ls -A '${layout.company('b')}' || echo no-list; cat '${join(cwdB, 'notes')}' || echo no-read`);
      expect(fromA.stdout).toBe('agent-a\nno-list\nno-read\n');
      expect(await run('b', cwdB, 'cat notes')).toMatchObject({ code: 0, stdout: 'b-private\n' });
      expect((await stat(join(cwdB, 'notes'))).uid).toBe(uidOf('b'));
    }
  }, SLOW);

  it('gives an agent that swapped its directory for a symlink nothing through it', async () => {
    const layout = await layoutOf(['a']);
    const rootOnly = join(dirname(layout.data), 'root-only');
    await mkdir(rootOnly, { mode: 0o700 });
    await writeFile(join(rootOnly, 'readable-by-name'), 'server notes\n', { mode: 0o644 });
    const cwd = await layout.agentDir('a', 'agent-1');
    const swap = `cd .. && rm -r agent-1 && ln -s '${rootOnly}' agent-1 && echo swapped`;
    expect(await runPlan(planAgentSpawn(request(layout, 'a', cwd, ...sh(swap)), settings, host))).toMatchObject({ code: 0, stdout: 'swapped\n' });
    for (const mode of [settings, offSettings]) {
      if (mode === offSettings) for (const dir of [layout.data, dirname(layout.company('a'))]) await chmod(dir, 0o711);
      // Entered as the agent's user, the symlink leads nowhere; as root it would have led into root-only.
      const next = await runPlan(planAgentSpawn(request(layout, 'a', cwd, ...sh('cat readable-by-name')), mode, host));
      expect(next).toMatchObject({ code: 126, stdout: '', stderr: expect.stringContaining(`the agent cannot enter ${cwd}`) });
    }
    expect((await stat(rootOnly)).uid).toBe(0);
  }, SLOW);

  it('gives the agent a /dev/shm and, asked, a /tmp of its own, keeping the run’s task directory', async () => {
    const layout = await layoutOf(['a']);
    const cwd = await layout.agentDir('a', 'agent-1');
    const unique = randomBytes(6).toString('hex');
    const hostShm = `/dev/shm/heartbeat-test-${unique}`;
    await writeFile(hostShm, 'server shared memory\n', { mode: 0o644 });
    const taskDir = await mkdtemp(join(tmpdir(), 'heartbeat-task-'));
    const otherTask = await mkdtemp(join(tmpdir(), 'heartbeat-task-'));
    await writeFile(join(taskDir, 'task.md'), 'the task\n', { mode: 0o600 });
    await writeFile(join(otherTask, 'task.md'), 'another run’s task\n', { mode: 0o644 });
    const script = [
      `cat '${hostShm}' || echo no-host-shm`,
      `echo own-shm >/dev/shm/${unique} && cat /dev/shm/${unique}`,
      `cat '${otherTask}/task.md' || echo no-other-task`,
      'cat "$HEARTBEAT_TASK_FILE"',
      `echo own-tmp >/tmp/${unique} && cat /tmp/${unique}`,
    ].join('; ');
    const base = request(layout, 'a', cwd, ...sh(script), { HEARTBEAT_TASK_FILE: join(taskDir, 'task.md') });
    const req = { ...base, fresh: ['/dev/shm', tmpdir()], keep: [...base.keep, taskDir], own: [cwd, taskDir, join(taskDir, 'task.md')] };
    try {
      const run = await runPlan(planAgentSpawn(req, settings, host));
      expect(run).toMatchObject({ code: 0, stdout: 'no-host-shm\nown-shm\nno-other-task\nthe task\nown-tmp\n' });
      for (const left of [`/dev/shm/${unique}`, join(tmpdir(), unique)]) await expect(stat(left)).rejects.toThrow(/ENOENT/);
    } finally {
      for (const path of [hostShm, taskDir, otherTask]) await rm(path, { recursive: true, force: true });
    }
  }, SLOW);

  it('gives the agent exactly its environment and its PATH, and none of it to the programs that set it up', async () => {
    const layout = await layoutOf(['a']);
    const cwd = await layout.agentDir('a', 'agent-1');
    // Every program the sandbox runs, planted first on the agent's PATH: none may run.
    const planted = join(dirname(layout.data), 'planted');
    await mkdir(planted, { mode: 0o755 });
    for (const name of ['sh', 'env', 'unshare', 'setpriv', 'mount', 'mkdir', 'chown', 'kill']) {
      await writeFile(join(planted, name), `#!/bin/sh\necho ${name} >>'${planted}/ran'\nexit 1\n`, { mode: 0o755 });
    }
    await writeFile(join(planted, 'hello-agent'), "#!/bin/sh\nprintf 'hello\\n'\n", { mode: 0o755 });
    const preload = `/nonexistent/heartbeat-${randomBytes(4).toString('hex')}.so`;
    const env = {
      PATH: `${planted}:/usr/bin:/bin`,
      LD_PRELOAD: preload,
      IFS: ':',
      TRICKY: `a=b\n'"$(touch ${planted}/pwned)" \\ ${'x'.repeat(2000)}`,
      EMPTY: '',
      UNICODE: 'héllo ✓',
      [TREE_MARKER_VAR]: randomBytes(16).toString('hex'),
    };
    const hello = await runPlan(planAgentSpawn(request(layout, 'a', cwd, 'hello-agent', [], env), settings, host));
    expect(hello).toMatchObject({ code: 0, stdout: 'hello\n' });
    // The dynamic linker complains once per program started with the bogus LD_PRELOAD: the agent alone.
    expect(hello.stderr.split(preload).length - 1).toBe(1);
    await expect(readFile(join(planted, 'ran'), 'utf8')).rejects.toThrow(/ENOENT/);

    const printed = await runPlan(planAgentSpawn(request(layout, 'a', cwd, '/usr/bin/env', ['-0'], env), settings, host));
    const entries = printed.stdout.split('\0').filter(Boolean);
    const seen = Object.fromEntries(entries.map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
    expect(seen).toEqual({ ...env, HOME: cwd });
    await expect(stat(join(planted, 'pwned'))).rejects.toThrow(/ENOENT/);
  }, SLOW);

  it('passes exit codes and deaths by signal on as the agent had them, and stdin through', async () => {
    const layout = await layoutOf(['a']);
    const cwd = await layout.agentDir('a', 'agent-1');
    const cases = [
      'exit 3',
      'exit 0',
      'exit 200',
      'kill -TERM $$',
      'kill -SEGV $$',
      'kill -KILL $$',
      // Signals ignored or blocked: none more than the agent started directly.
      'grep -E "^Sig(Ign|Blk)" /proc/self/status',
      'read line; echo "got $line"',
    ];
    const outcomes = await Promise.all(
      cases.map(async (script) => {
        const req = request(layout, 'a', cwd, ...sh(`ulimit -c 0; ${script}`));
        const [bare, boxed] = await Promise.all([
          runPlan(unsandboxed(req), { stdin: 'payload\n' }),
          runPlan(planAgentSpawn(req, settings, host), { stdin: 'payload\n' }),
        ]);
        const outcome = ({ code, signal, stdout }: typeof bare) => ({ code, signal, stdout });
        return { script, bare: outcome(bare), boxed: outcome(boxed) };
      }),
    );
    for (const { script, bare, boxed } of outcomes) expect({ script, ...boxed }).toEqual({ script, ...bare });
    expect(outcomes.map((outcome) => outcome.boxed.signal ?? outcome.boxed.code)).toEqual([3, 0, 200, 'SIGTERM', 'SIGSEGV', 'SIGKILL', 0, 0]);
    expect(outcomes.at(-1)!.boxed.stdout).toBe('got payload\n');

    const missing = await runPlan(planAgentSpawn(request(layout, 'a', cwd, 'no-such-agent', []), settings, host));
    expect(missing).toMatchObject({ code: 127, stderr: expect.stringContaining('no-such-agent: command not found') });
  }, SLOW);

  describe('stopping', () => {
    /** A sandboxed signal agent, started and ready, with its marker. */
    async function started(mode: 'record' | 'ignore') {
      const layout = await layoutOf(['a']);
      const cwd = await layout.agentDir('a', 'agent-1');
      const marker = randomBytes(16).toString('hex');
      const agent = startPlan(planAgentSpawn(request(layout, 'a', cwd, SIGNAL_AGENT, [mode], { [TREE_MARKER_VAR]: marker }), settings, host));
      await waitFor('the agent to be ready', () => agent.stdout().includes('ready'), { timeoutMs: 30_000 });
      // The wrapper, unshare, the init, the agent, its two sleeps: one of them outside the process group.
      const pids = await waitFor('its processes', async () => {
        const marked = await processesMarked(marker);
        return marked.length >= 6 ? marked : null;
      });
      const groupOf = async (pid: number) => Number((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')[2]);
      const outside = await Promise.all(pids.map(async (pid) => (await groupOf(pid)) !== agent.pgid));
      expect(outside.some(Boolean)).toBe(true);
      return { agent, cwd, marker };
    }
    const nothingLeft = (marker: string) =>
      waitFor('no process of the run to be left', async () => (await processesMarked(marker)).length === 0, { timeoutMs: 30_000 });

    it('SIGTERM to the process group reaches the agent, which dies of it as it would unsandboxed', async () => {
      const { agent, cwd, marker } = await started('record');
      process.kill(-agent.pgid, 'SIGTERM');
      expect(await agent.ended).toEqual({ code: null, signal: 'SIGTERM' });
      expect(await readFile(join(cwd, 'got-term'), 'utf8')).toBe('term\n');
      // The descendant that had left the group went with the namespace.
      await nothingLeft(marker);
    }, SLOW);

    it('SIGKILL to the process group leaves nothing behind, not even what left the group', async () => {
      const { agent, marker } = await started('ignore');
      process.kill(-agent.pgid, 'SIGKILL');
      expect(await agent.ended).toEqual({ code: null, signal: 'SIGKILL' });
      await nothingLeft(marker);
    }, SLOW);

    it('the adapter’s own stop (terminateGroup) takes an agent that ignores SIGTERM down with its tree', async () => {
      const { agent, marker } = await started('ignore');
      await terminateGroup(agent.pgid, 1, marker).done;
      expect(await agent.ended).toEqual({ code: null, signal: 'SIGKILL' });
      await nothingLeft(marker);
    }, SLOW);
  });

  it('hides nested paths: only the kept directory shows through both', async () => {
    const layout = await layoutOf(['a']);
    const scratch = dirname(layout.data);
    await writeFile(join(scratch, 'beside-the-data'), 'server notes\n', { mode: 0o644 });
    const cwd = await layout.agentDir('a', 'agent-1');
    const script = `cat '${scratch}/beside-the-data' || echo no-read; test -e '${layout.password}' || echo no-password; ls -A ..; pwd`;
    const req = { ...request(layout, 'a', cwd, ...sh(script)), hide: [layout.data, scratch] };
    expect(await runPlan(unsandboxed(req))).toMatchObject({ stdout: `server notes\nagent-1\n${cwd}\n` });
    expect(await runPlan(planAgentSpawn(req, settings, host))).toMatchObject({ code: 0, stdout: `no-read\nno-password\nagent-1\n${cwd}\n` });
  }, SLOW);
});
