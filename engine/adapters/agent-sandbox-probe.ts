// What the host lets the agent sandbox (agent-sandbox.ts) do, found once at start: the commands it needs,
// looked up in the system directories only (never on a PATH someone else chose), and a real sandboxed
// spawn that must hide a secret, keep a directory and, under a root server, run as the agents' uid.
// Namespaces fail for many ordinary reasons (a container without CAP_SYS_ADMIN, user namespaces turned
// off by sysctl or AppArmor, an old util-linux): the probe says which, and the server warns once.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentSpawnPlan,
  type AgentSpawnRequest,
  planAgentSpawn,
  type SandboxSettings,
  sandboxSettingsFrom,
  type SandboxSupport,
} from './agent-sandbox.ts';
import type { SandboxTools } from './agent-sandbox-scripts.ts';

const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
/** Generous: the probe runs once, at start, on a host that may be busy. */
const PROBE_TIMEOUT_MS = 20_000;

async function findTool(name: string): Promise<string | null> {
  for (const dir of SYSTEM_DIRS) {
    const path = join(dir, name);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return null;
}

/** The sandbox's commands, or the names of those missing. */
export async function findSandboxTools(): Promise<{ tools: SandboxTools | null; missing: string[] }> {
  const names = ['sh', 'env', 'unshare', 'setpriv', 'mount', 'mkdir', 'chown'] as const;
  const found = await Promise.all(names.map(findTool));
  const missing = names.filter((_, index) => found[index] === null);
  if (missing.length > 0) return { tools: null, missing };
  const tools = Object.fromEntries(names.map((name, index) => [name, found[index]!])) as unknown as SandboxTools;
  return { tools, missing };
}

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs a planned (or any) spawn to its end; a spawn that cannot start, or outlives the timeout, is code null. */
function runToEnd(plan: Pick<AgentSpawnPlan, 'command' | 'args' | 'env' | 'cwd'>, timeoutMs = PROBE_TIMEOUT_MS): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(plan.command, plan.args, { cwd: plan.cwd, env: plan.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      stderr += `timed out after ${timeoutMs} ms`;
      if (child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + error.message });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** What the probe's agent checks: it reaches its directory ($1), cannot read the secret ($2), runs as uid $3. */
const CHECK = 'test -d "$1" && ! cat "$2" 2>/dev/null && test "$(id -u)" = "$3" && echo sandboxed';

const firstLine = (text: string) => text.trim().split('\n').find((line) => line.trim() !== '')?.trim() ?? '';

/**
 * One sandboxed spawn in a scratch directory: `data/` is hidden, `data/agents/probe` kept (and entered);
 * it must reach the kept directory, not read the secret beside it, and have the expected uid.
 */
async function trySandbox(settings: SandboxSettings, host: SandboxSupport): Promise<string | null> {
  const scratch = await realpath(await mkdtemp(join(tmpdir(), 'heartbeat-sandbox-probe-')));
  try {
    // Traversable, as a real data directory's parents are; the data directory itself is the server's.
    await chmod(scratch, 0o711);
    const data = join(scratch, 'data');
    const kept = join(data, 'agents', 'probe');
    await mkdir(kept, { recursive: true, mode: 0o700 });
    await writeFile(join(data, 'secret'), 'secret\n', { mode: 0o600 });
    // Without namespaces nothing covers the data directory: its agents reach their directories through
    // it, as a root server without namespaces needs (README), and must still not read the secret beside them.
    if (!host.namespaces) for (const dir of [data, join(data, 'agents')]) await chmod(dir, 0o711);
    const uid = host.serverUid === 0 ? settings.uidBase : host.serverUid;
    const plan = planAgentSpawn(
      {
        command: host.tools!.sh,
        args: ['-c', CHECK, 'probe', kept, join(data, 'secret'), String(uid)],
        cwd: kept,
        env: { PATH: '/usr/bin:/bin' },
        companySlot: 0,
        hide: [data],
        keep: [kept],
      },
      settings,
      host,
    );
    const outcome = await runToEnd(plan);
    if (outcome.code === 0 && outcome.stdout.includes('sandboxed')) return null;
    return firstLine(outcome.stderr) || `the check exited with ${outcome.signal ?? outcome.code}`;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Whether `env --default-signal` works (coreutils 8.31+). */
async function canResetSignals(tools: SandboxTools): Promise<boolean> {
  const args = ['--default-signal=INT,QUIT', tools.sh, '-c', 'exit 0'];
  const outcome = await runToEnd({ command: tools.env, args, env: {}, cwd: '/' });
  return outcome.code === 0;
}

/**
 * What the host supports for `settings`. Under a root server it also checks that agents can take the
 * uids `settings.uidBase` gives (a container may map far fewer). Never throws.
 */
export async function probeSandbox(settings: SandboxSettings): Promise<SandboxSupport> {
  const serverUid = process.getuid?.() ?? -1;
  const serverGid = process.getgid?.() ?? -1;
  const base = { serverUid, serverGid, namespaces: false, resetSignals: false };
  if (process.platform !== 'linux' || serverUid < 0) return { ...base, tools: null, problem: 'not Linux' };
  const { tools, missing } = await findSandboxTools();
  if (!tools) return { ...base, tools: null, problem: `${missing.join(', ')} not found in ${SYSTEM_DIRS.join(', ')}` };
  const resetSignals = await canResetSignals(tools);
  const candidate: SandboxSupport = { ...base, tools, resetSignals, namespaces: true };
  if (settings.mode === 'auto') {
    const problem = await trySandbox(settings, candidate);
    if (problem === null) return candidate;
    if (serverUid !== 0) return { ...candidate, namespaces: false, problem: `namespaces: ${problem}` };
    const withoutNamespaces = { ...candidate, namespaces: false };
    const uidProblem = await trySandbox(settings, withoutNamespaces);
    const problems = [`namespaces: ${problem}`, ...(uidProblem ? [`uid ${settings.uidBase}: ${uidProblem}`] : [])];
    return { ...withoutNamespaces, problem: problems.join('; ') };
  }
  const off = { ...candidate, namespaces: false };
  if (serverUid !== 0) return off;
  const uidProblem = await trySandbox(settings, off);
  return uidProblem ? { ...off, problem: `uid ${settings.uidBase}: ${uidProblem}` } : off;
}

/**
 * The one warning the server logs at start when agents are less isolated than the sandbox can make
 * them; null when they are fully sandboxed.
 */
export function sandboxWarning(settings: SandboxSettings, host: SandboxSupport): string | null {
  const root = host.serverUid === 0;
  const why = host.problem ? ` (${host.problem})` : '';
  if (root && host.problem?.includes(`uid ${settings.uidBase}:`)) {
    return (
      `Agents cannot run as their company's user${why}: process-type agents will fail to start. ` +
      'Set HEARTBEAT_AGENT_UID_BASE to uids this host can use, or run the server as an ordinary user.'
    );
  }
  if (settings.mode === 'auto' && host.namespaces) return null;
  const cause = settings.mode === 'off' ? 'HEARTBEAT_AGENT_SANDBOX=off' : `the agent sandbox is unavailable${why}`;
  if (root) {
    return (
      `${cause}: agents run as their company's user, but see every process on the host ` +
      'and reach the data directory where its permissions let them.'
    );
  }
  return (
    `${cause}: agents run as the server's user and can read its data directory (the embedded database's password) ` +
    "and every process of that user, the server's environment included."
  );
}

/** The sandbox as the server uses it: settings and support found once, then a plan per spawn. */
export interface AgentSandbox {
  settings: SandboxSettings;
  support: SandboxSupport;
  /** What to log once at start (warn), or null. */
  warning: string | null;
  plan(request: AgentSpawnRequest): AgentSpawnPlan;
}

/**
 * Reads HEARTBEAT_AGENT_SANDBOX and HEARTBEAT_AGENT_UID_BASE (a bad value throws SandboxSettingsError,
 * naming it) and probes the host. Call once at start.
 */
export async function prepareAgentSandbox(from: Record<string, string | undefined> | SandboxSettings): Promise<AgentSandbox> {
  const settings = typeof from.uidBase === 'number' ? (from as SandboxSettings) : sandboxSettingsFrom(from as Record<string, string | undefined>);
  const support = await probeSandbox(settings);
  const warning = sandboxWarning(settings, support);
  return { settings, support, warning, plan: (request) => planAgentSpawn(request, settings, support) };
}
