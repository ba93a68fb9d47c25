// Who may run what on the host. PROCESS, CLAUDE_CODE and CODEX agents run commands on the
// server's machine, so creating one is running commands there: a server setting says which role
// may create or change them (or that nobody may), and optionally which commands they may run.
// Pure: the settings, the agent's type and config, and the caller's role in; a refusal or null out.
import type { AdapterType, ApiKeyRole } from '../../db/enums.ts';

/** `HEARTBEAT_HOST_ADAPTERS`: the least role that may create or change host agents, or `off`. */
export type HostAdapterAccess = 'admin' | 'operator' | 'off';

export interface HostAdapterPolicy {
  access: HostAdapterAccess;
  /** `HEARTBEAT_HOST_COMMANDS`: the commands host agents may run; null: any. */
  commands: readonly string[] | null;
}

/** The setting names, for messages: a refusal names what would allow it. */
export const HOST_ADAPTERS_SETTING = 'HEARTBEAT_HOST_ADAPTERS';
export const HOST_COMMANDS_SETTING = 'HEARTBEAT_HOST_COMMANDS';
/** The reason of a wakeup skipped because the settings no longer let its agent run. */
export const HOST_ADAPTERS_REFUSED = 'host_adapters.refused';

/** Admins only (the key printed on the first start is an admin key, so a local server is as convenient as before). */
export const DEFAULT_HOST_ADAPTER_POLICY: HostAdapterPolicy = { access: 'admin', commands: null };

/** The adapters whose runs execute commands on the host, and the command each runs by default. */
const HOST_ADAPTER_DEFAULT_COMMAND: Partial<Record<AdapterType, string | null>> = { process: null, claude_code: 'claude', codex: 'codex' };

export const isHostAdapter = (type: AdapterType) => type in HOST_ADAPTER_DEFAULT_COMMAND;

/** The command a host agent's config runs (its `command`, or the adapter's default); null for other adapters. */
export function hostCommandOf(type: AdapterType, config: unknown): string | null {
  if (!isHostAdapter(type)) return null;
  const command = (config as { command?: unknown } | null)?.command;
  return typeof command === 'string' && command !== '' ? command : (HOST_ADAPTER_DEFAULT_COMMAND[type] ?? null);
}

/**
 * Whether a command is on the list: an entry matches the command exactly. A bare name (`claude`)
 * matches only the bare name, found on the PATH, not any file of that name elsewhere
 * (`/tmp/x/claude`); a path matches only that path.
 */
export const commandAllowed = (commands: readonly string[], command: string) => commands.includes(command);

/** May a caller of `role` create or change an agent of `type` with `config`? The refusal's message, or null. */
export function hostAdapterRefusalFor(policy: HostAdapterPolicy, type: AdapterType, config: unknown, role: ApiKeyRole): string | null {
  if (!isHostAdapter(type)) return null;
  const label = type.toUpperCase();
  if (policy.access === 'off') return `${label} agents are turned off on this server (${HOST_ADAPTERS_SETTING}=off)`;
  if (policy.access === 'admin' && role !== 'admin') return `Only admin keys may create or change ${label} agents on this server (${HOST_ADAPTERS_SETTING}=admin)`;
  return hostCommandRefusal(policy, type, config);
}

/**
 * May an existing agent run now? The role that created it is not recorded (and was checked then):
 * what can change since is the setting itself: `off`, or a command no longer on the list.
 */
export function hostAdapterRefusalToRun(policy: HostAdapterPolicy, type: AdapterType, config: unknown): string | null {
  if (!isHostAdapter(type)) return null;
  if (policy.access === 'off') return `${type.toUpperCase()} agents are turned off on this server (${HOST_ADAPTERS_SETTING}=off)`;
  return hostCommandRefusal(policy, type, config);
}

function hostCommandRefusal(policy: HostAdapterPolicy, type: AdapterType, config: unknown): string | null {
  if (policy.commands === null) return null;
  const command = hostCommandOf(type, config) ?? '';
  if (commandAllowed(policy.commands, command)) return null;
  return `The command ${JSON.stringify(command)} is not on this server's list of commands agents may run (${HOST_COMMANDS_SETTING})`;
}

/** Reads the settings' text (as the environment gives it); throws a message naming the bad value. */
export function parseHostAdapterPolicy(access: string | undefined, commands: string | undefined): HostAdapterPolicy {
  const level = (access ?? DEFAULT_HOST_ADAPTER_POLICY.access).trim().toLowerCase();
  if (level !== 'admin' && level !== 'operator' && level !== 'off') {
    throw new Error(`${HOST_ADAPTERS_SETTING} must be admin, operator or off (got ${JSON.stringify(access)})`);
  }
  const list = commands === undefined || commands.trim() === '' ? null : commands.split(',').map((entry) => entry.trim()).filter(Boolean);
  return { access: level, commands: list };
}
