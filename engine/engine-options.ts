// What an engine is made with (EngineOptions) and the dependencies its parts share, built from them
// (engineDeps): settings with their defaults, the adapters, the canInvoke port.
import type { AgentSandbox } from './adapters/agent-sandbox-probe.ts';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type postgres from 'postgres';
import type { Database } from '../db/client.ts';
import type { AdapterType } from '../db/enums.ts';
import { builtInAdapters } from './adapters/index.ts';
import { type OutboundNetworks, outboundRules } from './adapters/outbound-address.ts';
import type { Adapter } from './adapters/types.ts';
import { createInProcessEventBus, type LiveEventBus } from './live/live-events.ts';
import { type Clock, systemClock } from './model/clock.ts';
import type { CanInvokePort, EngineDeps } from './model/deps.ts';
import { DEFAULT_HOST_ADAPTER_POLICY, type HostAdapterPolicy } from './rules/host-adapters.ts';
import { DEFAULT_SILENCE_CRITICAL_SEC, DEFAULT_SILENCE_SUSPICIOUS_SEC } from './rules/silence.ts';

/** How many connections the server gives the run pipeline's group commits (EngineOptions.pipelineDb). */
export const PIPELINE_CONNECTIONS = 3;

export interface EngineOptions {
  db: Database;
  /** postgres.js client of `db`, for LISTEN. */
  sql: postgres.Sql;
  logger: Logger;
  logDir: string;
  /**
   * The server's data directory (HEARTBEAT_DATA_DIR): a process-type agent without a cwd runs in
   * agents/<company id>/<agent id> under it. Absent (an engine without a server): a temporary directory.
   */
  dataDir?: string;
  clock?: Clock;
  bus?: LiveEventBus;
  /** Replace built-in adapters (tests wrap them to observe executions). */
  adapters?: Partial<Record<AdapterType, Adapter<any>>>;
  canInvoke?: CanInvokePort;
  maxConcurrentRunsLimit?: number;
  /** Period of the loop (timers, resuming queued runs, cancel sweep). 0 disables the loop. */
  tickIntervalMs?: number;
  /** A connection of the lease's own (see leases.ts); the engine's pool when not given. */
  leaseDb?: Database;
  /**
   * Connections of the run pipeline's own, for its group commits: the claims, events, finishes,
   * follow-ups and logs of many runs (execution/run-write-batches.ts); the engine's pool when not
   * given. A few connections that run the same statements over and over serve them better than a
   * share of a larger pool: each statement is planned on fewer connections and settles on its
   * generic plan sooner, and PostgreSQL runs fewer of them at once on the machine's cores (README,
   * Performance: PostgreSQL's CPU per run on an issue 10-22% lower with 3 of a pool of 10).
   */
  pipelineDb?: Database;
  /** The name of this host in the lease (default: the OS hostname); see leases.ts. */
  hostName?: string;
  /** How long run writes wait out an unreachable database (EngineSettings.databaseOutageMs); default 5 minutes. */
  databaseOutageMs?: number;
  /** Days a settled run's log is kept (HEARTBEAT_LOG_RETENTION_DAYS); absent or 0: kept for good. */
  logRetentionDays?: number;
  /** How long stop() lets in-flight runs finish before aborting them. */
  shutdownGraceMs?: number;
  onFirstHeartbeat?: EngineDeps['onFirstHeartbeat'];
  encodeApiId?: EngineDeps['encodeApiId'];
  /** Silent runs (docs/engine.md §17): seconds of silence that make a running run suspicious (default 3,600) ... */
  silenceSuspiciousSec?: number;
  /** ... and critical (default 14,400; never below the suspicious threshold). */
  silenceCriticalSec?: number;
  /**
   * Write the events and finishes of many runs together (execution/run-write-batches.ts); default
   * true. Off, every run's writes are its own: the same functions, called with one run.
   */
  batchRunWrites?: boolean;
  /** Who may create host agents and which commands they may run (HEARTBEAT_HOST_ADAPTERS, HEARTBEAT_HOST_COMMANDS); default: admins, any command. */
  hostAdapters?: HostAdapterPolicy;
  /** Networks HTTP agents may not (deny) or may (allow) be called on; default: link-local and cloud metadata addresses refused. */
  outboundNetworks?: OutboundNetworks;
  /** The agent sandbox the server prepared at start (adapters/agent-sandbox-probe.ts); absent: agents run as the server's user. */
  agentSandbox?: AgentSandbox;
}

/** The engine's shared dependencies from its options; `canInvoke`: the port wakeups and claims ask. */
export function engineDeps(options: EngineOptions, canInvoke: CanInvokePort): EngineDeps {
  return {
    db: options.db,
    clock: options.clock ?? systemClock,
    bus: options.bus ?? createInProcessEventBus(),
    logger: options.logger,
    settings: {
      maxConcurrentRunsLimit: options.maxConcurrentRunsLimit ?? 10,
      logDir: options.logDir,
      dataDir: options.dataDir ?? join(tmpdir(), `heartbeat-data-${randomUUID()}`),
      instanceId: '',
      host: '',
      apiUrl: '',
      databaseOutageMs: options.databaseOutageMs ?? 5 * 60_000,
      silenceSuspiciousSec: options.silenceSuspiciousSec ?? DEFAULT_SILENCE_SUSPICIOUS_SEC,
      silenceCriticalSec: Math.max(options.silenceCriticalSec ?? DEFAULT_SILENCE_CRITICAL_SEC, options.silenceSuspiciousSec ?? DEFAULT_SILENCE_SUSPICIOUS_SEC),
      hostAdapters: options.hostAdapters ?? DEFAULT_HOST_ADAPTER_POLICY,
      outbound: outboundRules(options.outboundNetworks),
      agentSandbox: options.agentSandbox,
    },
    adapters: { ...builtInAdapters, ...options.adapters } as EngineDeps['adapters'],
    canInvoke,
    onFirstHeartbeat: options.onFirstHeartbeat,
    encodeApiId: options.encodeApiId ?? ((_typename, id) => id),
  };
}
