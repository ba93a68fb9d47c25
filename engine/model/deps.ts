// What every engine module works with. Passed explicitly, so each module is a set of functions
// over (deps, input) and tests can build the engine with their own clock, bus and adapters.
import type { AgentSandbox } from '../adapters/agent-sandbox-probe.ts';
import type { Logger } from 'pino';
import type { OutboundRules } from '../adapters/outbound-address.ts';
import type { HostAdapterPolicy } from '../rules/host-adapters.ts';
import type { Database, Transaction } from '../../db/client.ts';
import type { AdapterType } from '../../db/enums.ts';
import type { Adapter } from '../adapters/types.ts';
import type { Clock } from './clock.ts';
import type { LiveEvent, LiveEventBus } from '../live/live-events.ts';

export interface EngineSettings {
  /** Upper bound of any agent's maxConcurrentRuns (Decisions 1). */
  maxConcurrentRunsLimit: number;
  /** Directory for run log files. */
  logDir: string;
  /** The server's data directory (HEARTBEAT_DATA_DIR): agents without a cwd run in agents/<company>/<agent> under it. */
  dataDir: string;
  /** This engine instance's id (its `engine_instances` row). */
  instanceId: string;
  host: string;
  /** The GraphQL endpoint agents call back with their run token. */
  apiUrl: string;
  /**
   * How long a run's start, event and outcome writes wait out an unreachable database, holding
   * what they carry in memory, before the run is given up to recovery (which retries it).
   */
  databaseOutageMs: number;
  /** A running run silent this long is `suspicious` (docs/engine.md §17; HEARTBEAT_SILENCE_SUSPICIOUS_SEC). */
  silenceSuspiciousSec: number;
  /** ... and this long `critical` (HEARTBEAT_SILENCE_CRITICAL_SEC; never below the suspicious threshold). */
  silenceCriticalSec: number;
  /** Who may create host agents (PROCESS, CLAUDE_CODE, CODEX) and which commands they may run (rules/host-adapters.ts). */
  hostAdapters: HostAdapterPolicy;
  /** Where HTTP agents may be called (adapters/outbound-address.ts). */
  outbound: OutboundRules;
  /** How process-type agents are kept from the server's privileges (adapters/agent-sandbox.ts); absent: they are not. */
  agentSandbox?: AgentSandbox;
}

/** The gates beyond the agent's own state (budgets, pause holds) as one port. */
export interface CanInvokePort {
  check(input: { companyId: string; agentId: string; issueId?: string | null }): Promise<{ allowed: true } | { allowed: false; reason: string; block?: Record<string, unknown> }>;
  /**
   * Whether check() might refuse work of this company: false lets the hot paths skip it (the
   * enqueue and claim of a run queued and started in one transaction). Absent: it might.
   */
  mayRefuse?(companyId: string): boolean;
}
export const allowAll: CanInvokePort = { check: async () => ({ allowed: true }), mayRefuse: () => false };

/** Whether the port must be asked about work of this company. */
export const mayRefuse = (port: CanInvokePort, companyId: string) => (port.mayRefuse ? port.mayRefuse(companyId) : true);

export interface EngineDeps {
  db: Database;
  clock: Clock;
  bus: LiveEventBus;
  logger: Logger;
  settings: EngineSettings;
  adapters: Record<AdapterType, Adapter<unknown>>;
  canInvoke: CanInvokePort;
  /** How the API spells an id (the server passes its global-id encoder); identity by default. */
  encodeApiId: (typename: 'HeartbeatRun' | 'Agent' | 'Issue' | 'Company', id: string) => string;
  /** Called once per agent the first time it records a heartbeat (spec §6.15). */
  onFirstHeartbeat?: (input: { agentId: string; agentRole: string }) => void;
}

/**
 * Runs `work` in one transaction and publishes the live events it collected only after the commit,
 * so no subscriber ever hears of a change that was rolled back.
 */
export async function transact<T>(
  deps: Pick<EngineDeps, 'db' | 'bus'>,
  work: (tx: Transaction, events: LiveEvent[]) => Promise<T>,
): Promise<T> {
  const events: LiveEvent[] = [];
  const result = await deps.db.transaction((tx) => work(tx, events));
  if (events.length > 0) deps.bus.publish(events);
  return result;
}
