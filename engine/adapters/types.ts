// The adapter port: how the engine hands one run to something that executes it and hears back.
import type { RunSandbox } from './run-sandbox.ts';
import type { OutboundRules } from './outbound-address.ts';
import type { AdapterType } from '../../db/enums.ts';
import type { RunSession, SessionReport } from '../rules/sessions.ts';

export type LogStream = 'stdout' | 'stderr';

/**
 * Event types the engine writes itself (run started and ended, adapter invoked, process lost): an
 * agent's line with one of them is log output, so an agent cannot forge the engine's account of a
 * run (its timeline, a retry's exhausted reason), and these are never evidence of work (§6.7).
 */
export const ENGINE_EVENT_TYPES: readonly string[] = ['lifecycle', 'adapter.invoke', 'error'];

/** A structured event reported by the agent (a JSON stdout line with a `type`, an NDJSON line, a script step). */
export interface AdapterEvent {
  /** Event type, e.g. `tool.call`, `assistant.message`. Never one of the engine's own types. */
  type: string;
  message?: string | null;
  level?: 'info' | 'warn' | 'error' | null;
  stream?: string | null;
  color?: string | null;
  payload?: unknown;
}

export interface AdapterSpawnInfo {
  pid: number;
  /** Process group id; equals pid for a child started as a group leader. */
  processGroupId: number | null;
}

/** What the adapter says about its invocation (command, url, ...). Secrets already redacted. */
export type AdapterInvocationMeta = Record<string, unknown>;

/** The final word of an adapter on a run. Every field is optional; the engine maps it (spec §6.4 step 5). */
export interface AdapterResult {
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  errorMessage?: string | null;
  errorCode?: string | null;
  /** e.g. `transient_upstream`: makes the failure eligible for a bounded retry. */
  errorFamily?: string | null;
  /** ISO timestamp before which no retry should run. */
  retryNotBefore?: string | null;
  usage?: Record<string, unknown> | null;
  resultJson?: Record<string, unknown> | null;
  summary?: string | null;
  /** What the agent said about its session (docs/engine.md §12.4); absent: it said nothing. */
  session?: SessionReport;
}

/** Actions an in-process adapter may take on the run's issue (the `script` adapter uses them). */
export interface IssueActions {
  addComment(body: string): Promise<void>;
  putDocument(key: string, body: string): Promise<void>;
}

export interface AdapterExecution<Config> {
  runId: string;
  companyId: string;
  agentId: string;
  agentName: string;
  issueId: string | null;
  /** The run's context snapshot (wake reason, issue, comment ids, ...). */
  context: Record<string, unknown>;
  /** The agent session this run resumes (docs/engine.md §12.3); null: it starts a fresh one. */
  session: RunSession | null;
  /** Already validated by `parseConfig` (read by `readStoredConfig`). */
  config: Config;
  /**
   * The agent's own directory, `<data dir>/agents/<company id>/<agent id>` (agent-directory.ts): the
   * working directory of a process-type agent whose config sets no `cwd`. Absent only when an adapter
   * is called outside the engine (adapter tests): such a child runs in the server's directory.
   */
  agentDir?: string;
  /** Where requests of the run may go (HTTP agents; the engine passes its settings'); absent: the default rules. */
  outbound?: OutboundRules;
  /** Where a process-type agent is spawned (agent-sandbox.ts), bound to the run's company; absent: as the server's user, unsandboxed. */
  sandbox?: RunSandbox;
  /** Bearer token the agent uses to act on its issue through the API, valid while the run runs. */
  runToken: string;
  /** Base URL of the GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql */
  apiUrl: string;
  /**
   * The run's ids as the GraphQL API spells them (global ids), for agents that call it back.
   * `companyId` (the Company node's id) is optional only until every caller passes it; without it
   * HEARTBEAT_COMPANY_ID falls back to the raw `companyId`.
   */
  apiIds: { runId: string; agentId: string; issueId: string | null; companyId: string };
  /** Aborted when the run is cancelled: stop promptly and resolve (the engine records the cancel). */
  signal: AbortSignal;
  onLog(stream: LogStream, chunk: string): void;
  onEvent(event: AdapterEvent): void;
  /**
   * Backpressure: null while the run's event writes keep up; otherwise a promise that resolves once
   * they have caught up. An adapter reading an agent's output stops reading until then, so the agent
   * waits on its own pipe or socket instead of the server holding what it cannot store yet.
   */
  backlog?(): Promise<void> | null;
  onSpawn(info: AdapterSpawnInfo): void;
  onMeta(meta: AdapterInvocationMeta): void;
  issue: IssueActions;
  /**
   * The W3C traceparent of the run's execution span, while tracing is on (README, Tracing): a
   * process agent gets it as TRACEPARENT, an http agent as the `traceparent` header, so that its
   * own spans are children of the run's. Absent while tracing is off.
   */
  traceparent?: string;
}

export interface Adapter<Config = unknown> {
  type: AdapterType;
  /** Runs as a child process on this host: its pid can be checked after a server restart. */
  localChild: boolean;
  /** Validates adapter_config; throws HeartbeatError BAD_USER_INPUT naming the bad field, an unknown key too. */
  parseConfig(config: unknown): Config;
  /**
   * Reads a stored adapter_config for a run: parseConfig's rules, except that keys the adapter does
   * not know are ignored, so that an agent stored before unknown keys were refused keeps running.
   */
  readStoredConfig(config: unknown): Config;
  /** Timeout the run gets from its config (seconds, 0 = none); feeds stop metadata. */
  timeoutSec(config: Config): number;
  /** Resolves with the result; rejects only on a setup failure (the engine records adapter_failed). */
  execute(execution: AdapterExecution<Config>): Promise<AdapterResult>;
}
