// The agent sandbox (Linux): turns the spawn a process-type adapter would do into one whose agent cannot
// use the server's privileges. What an agent must never reach is the server's: its environment
// (DATABASE_URL with its password, HEARTBEAT_BOOTSTRAP_KEY) through /proc/<pid>/environ, its data
// directory (the embedded cluster and its password file, run logs, other companies' agent directories),
// other runs' processes (whose environment holds their run tokens), and, when the server is root,
// everything else.
//
// - Server running as root: the agent runs as its company's own uid and gid (HEARTBEAT_AGENT_UID_BASE +
//   the company's slot), no supplementary groups, no capabilities, no_new_privs (setuid programs do not
//   raise it), HOME in its working directory. Two companies are two users: neither can read the other's
//   directories (0700) or processes.
// - Wherever the host allows it (HEARTBEAT_AGENT_SANDBOX=auto): new PID, mount and IPC namespaces. Its
//   own /proc (the agent sees only its own processes); each `hide` path covered (a directory by an
//   empty tmpfs, a file by /dev/null), each `fresh` directory (/dev/shm) replaced by an empty one of its
//   own, and each `keep` directory inside them bound back at its own path. A server that is not root
//   gets these through an unprivileged user namespace, and a second one maps its own uid back so the
//   agent is not root inside (Claude Code refuses some flags as root); mounts made by the outer
//   namespace are locked together for the agent (the kernel will not let a less privileged namespace
//   uncover them).
// - Otherwise (off, or no namespaces on a non-root server): the spawn as it was.
//
// The process group is the adapter's: every process of the sandbox (the wrapper, unshare, the
// namespace's init, the agent) stays in the group it creates with `detached: true` and carries the
// run's tree marker, so cancel, timeout and the reaper stop it exactly as before. Signals go to the
// group (and the tree), never to its leader alone: the leader is now a wrapper that waits for the agent.
// The scripts the chain runs are in agent-sandbox-scripts.ts; what the host supports is found at start
// (agent-sandbox-probe.ts).
import { isAbsolute, relative, resolve } from 'node:path';
import {
  EXEC_SCRIPT,
  initScript,
  OUTER_SCRIPT,
  SANDBOX_ENV_PREFIX,
  SANDBOX_VAR_PREFIX,
  type SandboxTools,
} from './agent-sandbox-scripts.ts';
import { TREE_MARKER_VAR } from './process-tree.ts';

/** The uid and gid an agent runs as. */
export interface AgentIdentity {
  uid: number;
  gid: number;
}

export interface SandboxSettings {
  /** auto: namespaces where the host supports them; off: none (a root server still drops to the company's uid). */
  mode: 'auto' | 'off';
  /** A root server runs company N's agents as uid = gid = uidBase + N. */
  uidBase: number;
}

/** What the host supports, found once at start (probeSandbox). */
export interface SandboxSupport {
  /** The server's own uid and gid: 0 makes agents run as their company's user. */
  serverUid: number;
  serverGid: number;
  /** Host commands the sandbox runs; null when one is missing (then nothing below is possible). */
  tools: SandboxTools | null;
  /** PID and mount namespaces work (through a user namespace when the server is not root). */
  namespaces: boolean;
  /** `env --default-signal` works (coreutils 8.31+): the agent gets SIGINT and SIGQUIT back from the init. */
  resetSignals: boolean;
  /** Why `namespaces` is false, or why agents cannot take their company's uid; for the start-up warning. */
  problem?: string;
}

export interface AgentSpawnRequest {
  command: string;
  args: readonly string[];
  cwd: string;
  /** The agent's whole environment, as the adapter built it (it reaches the agent unchanged, but HOME as root). */
  env: Readonly<Record<string, string | undefined>>;
  /** The company's number: a root server runs its agents as uidBase + companySlot. */
  companySlot: number;
  /** Paths the agent must not see: the data directory, ... */
  hide: readonly string[];
  /**
   * Directories the agent gets an empty, writable one of its own instead (a tmpfs, 1777, gone with the
   * run): what other users of the host leave there is not the agent's to read. Absent: /dev/shm (where
   * PostgreSQL keeps its shared memory). /tmp is a good one too (then keep the run's task directory).
   */
  fresh?: readonly string[];
  /** Directories inside a hidden or fresh one the agent keeps, at the same path: its company's directory. */
  keep: readonly string[];
  /**
   * As root, paths given to the agent's uid besides the `keep` directories (chown, not recursive): its
   * own directory, its task file and the directory holding it. Only paths whose parent directories the
   * agent cannot change: a symlink the agent put in a parent would be followed.
   */
  own?: readonly string[];
}

export interface AgentSpawnPlan {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  /** Who the agent runs as; null: the server's own user. */
  identity: AgentIdentity | null;
  /** What protects it: namespaces (and a uid of its own under a root server), a uid alone, or nothing. */
  isolation: 'namespaces' | 'uid' | 'none';
}

/** The highest uid Linux gives out (2^32 - 1 means "none"). */
const MAX_UID = 4_294_967_294;
export const DEFAULT_UID_BASE = 2_000_000_000;
/** What the helpers run with: a PATH of system directories only, never the agent's. */
const HELPER_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DEFAULT_FRESH = ['/dev/shm'];
/** No capabilities to inherit or regain, and setuid programs cannot raise it (no_new_privs). */
const NO_PRIVILEGES = ['--inh-caps=-all', '--bounding-set=-all', '--no-new-privs'];

export class SandboxSettingsError extends Error {}

/** A spawn the sandbox cannot make as asked; the adapter fails the run with it (adapter_failed). */
export class AgentSandboxError extends Error {}

/** HEARTBEAT_AGENT_SANDBOX and HEARTBEAT_AGENT_UID_BASE; a bad value throws, naming the variable. */
export function sandboxSettingsFrom(env: Record<string, string | undefined>): SandboxSettings {
  const modeText = (env.HEARTBEAT_AGENT_SANDBOX ?? '').trim().toLowerCase() || 'auto';
  if (modeText !== 'auto' && modeText !== 'off') throw new SandboxSettingsError('HEARTBEAT_AGENT_SANDBOX: must be auto or off');
  const baseText = (env.HEARTBEAT_AGENT_UID_BASE ?? '').trim();
  const uidBase = baseText === '' ? DEFAULT_UID_BASE : Number(baseText);
  // Below 1000 are the system's own accounts; an agent must never become one of them.
  if (!/^\d+$/.test(baseText || '0') || !Number.isSafeInteger(uidBase) || uidBase < 1000 || uidBase > MAX_UID) {
    throw new SandboxSettingsError(`HEARTBEAT_AGENT_UID_BASE: must be an integer from 1000 to ${MAX_UID}`);
  }
  return { mode: modeText, uidBase };
}

/** The uid and gid of a company's agents under a root server. */
export function companyIdentity(settings: SandboxSettings, companySlot: number): AgentIdentity {
  const uid = settings.uidBase + companySlot;
  if (!Number.isSafeInteger(companySlot) || companySlot < 0 || uid > MAX_UID) {
    throw new AgentSandboxError(`Company slot ${companySlot} gives no valid uid above HEARTBEAT_AGENT_UID_BASE (${settings.uidBase})`);
  }
  return { uid, gid: uid };
}

const inside = (path: string, dir: string) => {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
};

/**
 * The spawn that runs `request` sandboxed: pass the result's command, args, env and cwd to spawn() with
 * the adapter's own options (detached: true, stdio). Pure: no I/O (relative paths are taken from the
 * server's working directory, as spawn takes them); throws AgentSandboxError for a spawn it cannot make
 * safely.
 */
export function planAgentSpawn(request: AgentSpawnRequest, settings: SandboxSettings, host: SandboxSupport): AgentSpawnPlan {
  const asRoot = host.serverUid === 0;
  const namespaces = settings.mode === 'auto' && host.namespaces && host.tools !== null;
  if (!asRoot && !namespaces) {
    return { ...unchanged(request), identity: null, isolation: 'none' };
  }
  const tools = host.tools;
  if (!tools) {
    const why = host.problem ?? 'sh, env, unshare, setpriv, mount, mkdir or chown is missing';
    throw new AgentSandboxError(`Cannot run agents as their company's user: ${why}`);
  }

  const identity = asRoot ? companyIdentity(settings, request.companySlot) : null;
  const cwd = resolve(request.cwd);
  const hide = [...new Set(request.hide.map((path) => resolve(path)))];
  const fresh = [...new Set((request.fresh ?? DEFAULT_FRESH).map((path) => resolve(path)))];
  const keep = [...new Set(request.keep.map((path) => resolve(path)))];
  if (hide.includes('/') || fresh.includes('/')) throw new AgentSandboxError('The sandbox cannot hide the whole file system');

  const agentEnv: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.env)) if (value !== undefined) agentEnv[name] = value;
  // Its own home: the server's (/root) is not the agent's user's.
  if (identity) agentEnv.HOME = cwd;

  const ops: string[] = [];
  if (identity) {
    const owner = `${identity.uid}:${identity.gid}`;
    for (const path of [...keep, ...(request.own ?? []).map((path) => resolve(path))]) ops.push('own', owner, path);
  }
  if (namespaces) {
    const covers = [...hide.map((path) => ({ path, op: 'hide' as const })), ...fresh.map((path) => ({ path, op: 'fresh' as const }))];
    ops.push(...coverOperations(covers, keep));
  }
  const { env, count } = helperEnvironment(agentEnv);
  // The agent enters its working directory as itself, never as the server: below its company's
  // directory every name is the agent's to replace by a symlink, which the server would follow.
  const execStage = [tools.sh, '-c', EXEC_SCRIPT, 'sh', cwd, String(count), request.command, ...request.args];
  const launcher = identity
    ? [tools.setpriv, `--reuid=${identity.uid}`, `--regid=${identity.gid}`, '--clear-groups', ...NO_PRIVILEGES, '--', ...execStage]
    : [tools.unshare, '--user', `--map-user=${host.serverUid}`, `--map-group=${host.serverGid}`, '--', ...execStage];

  if (!namespaces) {
    // A uid alone (root server, no namespaces): no init needed; one process, exec after exec.
    const args = ['-c', initScript(tools, false), 'sh', 'exec', ...ops, '--', ...launcher];
    return { command: tools.sh, args, env, cwd: request.cwd, identity, isolation: 'uid' };
  }
  const unshare = [
    tools.unshare,
    ...(asRoot ? [] : ['--user', '--map-root-user']),
    // --ipc: SysV shared memory and semaphores of their own too.
    '--pid', '--fork', '--kill-child', '--mount-proc', '--mount', '--propagation', 'private', '--ipc', '--',
    tools.sh, '-c', initScript(tools, host.resetSignals), 'sh', 'fork', ...ops, '--', ...launcher,
  ];
  return { command: tools.sh, args: ['-c', OUTER_SCRIPT, 'sh', ...unshare], env, cwd: request.cwd, identity, isolation: 'namespaces' };
}

function unchanged(request: AgentSpawnRequest): Pick<AgentSpawnPlan, 'command' | 'args' | 'env' | 'cwd'> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.env)) if (value !== undefined) env[name] = value;
  return { command: request.command, args: [...request.args], env, cwd: request.cwd };
}

/**
 * hide/fresh/keep operations for the init. A covered path inside another is left out (it is covered
 * already), unless a kept directory between them shows it again. Each kept directory is bound back
 * right after the deepest covered path holding it, from the tree that path has just covered: so hide
 * [/root, /root/app/.heartbeat] with keep [/root/app/.heartbeat/agents/c] shows nothing of /root but that.
 */
function coverOperations(covers: readonly { path: string; op: 'hide' | 'fresh' }[], keep: readonly string[]): string[] {
  const paths = covers.map((cover) => cover.path);
  const covered = (path: string) =>
    paths.some((outer) => outer !== path && inside(path, outer) && !keep.some((kept) => inside(path, kept) && inside(kept, outer)));
  const depth = (path: string) => path.split('/').length;
  const effective = covers
    .filter((cover, index) => !covered(cover.path) && paths.indexOf(cover.path) === index)
    .sort((a, b) => depth(a.path) - depth(b.path) || a.path.localeCompare(b.path));
  const ops: string[] = [];
  for (const cover of effective) {
    ops.push(cover.op, cover.path);
    for (const kept of keep) {
      const anchor = effective.filter((candidate) => inside(kept, candidate.path)).at(-1);
      if (anchor === cover) ops.push('keep', relative(cover.path, kept) || '.', kept);
    }
  }
  return ops;
}

/**
 * What the sandbox's own processes run with: a fixed PATH, the tree marker (cancel finds them by it),
 * and the agent's variables encoded (`<prefix><i>=NAME=value`), which no program reads until the last
 * step turns them back into the agent's environment.
 */
function helperEnvironment(agentEnv: Record<string, string>): { env: Record<string, string>; count: number } {
  const env: Record<string, string> = { PATH: HELPER_PATH };
  const marker = agentEnv[TREE_MARKER_VAR];
  if (marker !== undefined) env[TREE_MARKER_VAR] = marker;
  let count = 0;
  for (const [name, value] of Object.entries(agentEnv)) {
    // The last step sets them with the shell's `export`, which takes shell names only.
    if (!SHELL_NAME.test(name)) {
      throw new AgentSandboxError(`Environment variable "${name}" cannot reach a sandboxed agent: names are letters, digits and _, not starting with a digit`);
    }
    if (name.startsWith(SANDBOX_VAR_PREFIX)) {
      throw new AgentSandboxError(`Environment variable "${name}": names starting with ${SANDBOX_VAR_PREFIX} are the sandbox's own`);
    }
    env[`${SANDBOX_ENV_PREFIX}${count++}`] = `${name}=${value}`;
  }
  return { env, count };
}
