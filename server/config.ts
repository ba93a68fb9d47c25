// Every setting, read from the environment and validated once at start with a readable message.
import { type SandboxSettings, sandboxSettingsFrom } from '../engine/index.ts';
import { DEFAULT_OUTBOUND_NETWORKS, type OutboundNetworks, parseNetworkList } from '../engine/index.ts';
import { type HostAdapterPolicy, parseHostAdapterPolicy } from '../engine/index.ts';
import { z } from 'zod';
import { MIN_API_KEY_LENGTH, tracingSettingsFrom, type TracingSettings } from '../engine/index.ts';

const port = z.coerce.number().int().min(0).max(65535);
const flag = z.enum(['true', 'false', '1', '0']).transform((value) => value === 'true' || value === '1');

const envSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(4000),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .optional(),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  HEARTBEAT_DATA_DIR: z.string().min(1).default('.heartbeat'),
  HEARTBEAT_EMBEDDED_PG_PORT: port.default(54329),
  HEARTBEAT_BOOTSTRAP_KEY: z
    .string()
    .min(MIN_API_KEY_LENGTH, `must be at least ${MIN_API_KEY_LENGTH} characters`)
    .regex(/^\S+$/, 'must not contain spaces')
    .optional(),
  HEARTBEAT_COMPANY_NAME: z.string().min(1).default('Heartbeat'),
  HEARTBEAT_PRODUCTION: flag.optional(),
  NODE_ENV: z.string().optional(),
  HEARTBEAT_GRAPHIQL: flag.optional(),
  HEARTBEAT_INTROSPECTION: flag.optional(),
  HEARTBEAT_MAX_BODY_BYTES: z.coerce.number().int().min(1_024).max(100 * 1024 * 1024).default(1024 * 1024),
  HEARTBEAT_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  // Sized for automation: 50 wakeups/s from one key use a quarter of the rate, leaving room for what goes
  // with them (assigning, commenting), and a batch of 1,000 (5 s of the rate) goes through at once. Still
  // about a tenth of the single enqueues one instance serves (README, Performance): one key cannot
  // take an instance for itself.
  HEARTBEAT_MUTATION_RATE: z.coerce.number().min(0.1).max(100_000).default(200),
  HEARTBEAT_MUTATION_BURST: z.coerce.number().int().min(1).max(100_000).default(1_000),
  HEARTBEAT_MAX_CONCURRENT_RUNS_LIMIT: z.coerce.number().int().min(1).max(1000).default(10),
  HEARTBEAT_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(10_000),
  HEARTBEAT_DATABASE_OUTAGE_MS: z.coerce.number().int().min(0).max(86_400_000).default(300_000),
  HEARTBEAT_HOST_NAME: z.string().min(1).max(200).optional(),
  HEARTBEAT_RESPONSE_CACHE_MB: z.coerce.number().min(0).max(65_536).default(64),
  HEARTBEAT_TICK_MS: z.coerce.number().int().min(0).max(3_600_000).default(1_000),
  /** Days a settled run's log is kept; 0 (the default): kept for good. */
  HEARTBEAT_LOG_RETENTION_DAYS: z.coerce.number().min(0).max(36_500).default(0),
  // Silent runs (docs/engine.md §17): a running run silent this long is suspicious, then critical.
  HEARTBEAT_SILENCE_SUSPICIOUS_SEC: z.coerce.number().int().min(1).max(2_592_000).default(3_600),
  HEARTBEAT_SILENCE_CRITICAL_SEC: z.coerce.number().int().min(1).max(2_592_000).default(14_400),
  // Who may run what on the host (SECURITY.md): the least role that may create host agents, or off;
  // and, optionally, the only commands they may run.
  HEARTBEAT_HOST_ADAPTERS: z.string().optional(),
  HEARTBEAT_HOST_COMMANDS: z.string().optional(),
  // Where HTTP agents may be called: networks refused (default: link-local and cloud metadata), and allowed inside them.
  HEARTBEAT_AGENT_DENY_NETWORKS: z.string().optional(),
  HEARTBEAT_AGENT_ALLOW_NETWORKS: z.string().optional(),
  // The agent sandbox (SECURITY.md): auto, off (a root server still runs agents as their company's
  // user), or none (agents run as the server's user, with its privileges: test suites only).
  HEARTBEAT_AGENT_SANDBOX: z.string().optional(),
  HEARTBEAT_AGENT_UID_BASE: z.string().optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
});

export type HeartbeatConfig = {
  host: string;
  port: number;
  databaseUrl: string | undefined;
  /** Live events between instances go through Redis instead of Postgres NOTIFY when set. */
  redisUrl: string | undefined;
  dataDir: string;
  /** HEARTBEAT_LOG_RETENTION_DAYS: days a settled run's log is kept (0: for good). */
  logRetentionDays: number;
  embeddedPostgresPort: number;
  bootstrapKey: string | undefined;
  companyName: string;
  /** Production mode: GraphiQL, introspection and field suggestions off unless enabled. */
  production: boolean;
  graphiql: boolean;
  introspection: boolean;
  /** Largest request body accepted, bytes. */
  maxBodyBytes: number;
  /** Time a request has to be answered once its database work begins; after it: 503, and nothing of it commits any more. */
  requestTimeoutMs: number;
  /** Mutations per second per API key or run token, and the burst allowed. */
  mutationRate: number;
  mutationBurst: number;
  /** Upper bound of any agent's maxConcurrentRuns. */
  maxConcurrentRunsLimit: number;
  /** How long a graceful shutdown lets in-flight runs finish. */
  shutdownGraceMs: number;
  /** How long a run's writes wait out an unreachable database before the run is left to recovery. */
  databaseOutageMs: number;
  /**
   * The name this instance's host goes by in its lease (default: the OS hostname). Instances with
   * the same name must share one process table: a live process there is never taken for dead.
   */
  hostName: string | undefined;
  /** Memory for query answers served again while the database is unchanged; 0 turns the cache off. */
  responseCacheMb: number;
  /** Period of the engine loop (timers, resuming queued runs); 0 turns the loop off. */
  tickMs: number;
  /** Seconds of silence that make a running run suspicious, and critical (never below suspicious). */
  silenceSuspiciousSec: number;
  silenceCriticalSec: number;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  /** HEARTBEAT_HOST_ADAPTERS and HEARTBEAT_HOST_COMMANDS: who may create host agents, and what they may run. */
  hostAdapters: HostAdapterPolicy;
  /** HEARTBEAT_AGENT_DENY_NETWORKS and HEARTBEAT_AGENT_ALLOW_NETWORKS: where HTTP agents may be called. */
  outboundNetworks: OutboundNetworks;
  /** HEARTBEAT_AGENT_SANDBOX and HEARTBEAT_AGENT_UID_BASE; null (`none`): agents run as the server's user. */
  agentSandbox: SandboxSettings | null;
  /** OpenTelemetry traces, from the standard OTEL_* variables (README, Tracing); null or absent: off. */
  tracing?: TracingSettings | null;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HeartbeatConfig {
  // Empty strings count as unset, the way shells and .env files usually mean them.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.HEARTBEAT_SILENCE_CRITICAL_SEC < e.HEARTBEAT_SILENCE_SUSPICIOUS_SEC) {
    throw new ConfigError(
      `Invalid configuration:\n  HEARTBEAT_SILENCE_CRITICAL_SEC: must be at least HEARTBEAT_SILENCE_SUSPICIOUS_SEC (${e.HEARTBEAT_SILENCE_SUSPICIOUS_SEC})`,
    );
  }
  let tracing: TracingSettings | null;
  try {
    tracing = tracingSettingsFrom(present);
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ${(error as Error).message}`);
  }
  let hostAdapters: HostAdapterPolicy;
  let outboundNetworks: OutboundNetworks;
  let agentSandbox: SandboxSettings | null;
  try {
    agentSandbox = e.HEARTBEAT_AGENT_SANDBOX?.trim().toLowerCase() === 'none' ? null : sandboxSettingsFrom(present);
    hostAdapters = parseHostAdapterPolicy(e.HEARTBEAT_HOST_ADAPTERS, e.HEARTBEAT_HOST_COMMANDS);
    outboundNetworks = {
      deny: e.HEARTBEAT_AGENT_DENY_NETWORKS === undefined ? DEFAULT_OUTBOUND_NETWORKS.deny : parseNetworkList(e.HEARTBEAT_AGENT_DENY_NETWORKS),
      allow: e.HEARTBEAT_AGENT_ALLOW_NETWORKS === undefined ? [] : parseNetworkList(e.HEARTBEAT_AGENT_ALLOW_NETWORKS),
    };
  } catch (error) {
    throw new ConfigError(`Invalid configuration:\n  ${(error as Error).message}`);
  }
  const production = e.HEARTBEAT_PRODUCTION ?? e.NODE_ENV === 'production';
  return {
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    dataDir: e.HEARTBEAT_DATA_DIR,
    logRetentionDays: e.HEARTBEAT_LOG_RETENTION_DAYS,
    embeddedPostgresPort: e.HEARTBEAT_EMBEDDED_PG_PORT,
    bootstrapKey: e.HEARTBEAT_BOOTSTRAP_KEY,
    companyName: e.HEARTBEAT_COMPANY_NAME,
    production,
    graphiql: e.HEARTBEAT_GRAPHIQL ?? !production,
    introspection: e.HEARTBEAT_INTROSPECTION ?? !production,
    maxBodyBytes: e.HEARTBEAT_MAX_BODY_BYTES,
    requestTimeoutMs: e.HEARTBEAT_REQUEST_TIMEOUT_MS,
    mutationRate: e.HEARTBEAT_MUTATION_RATE,
    mutationBurst: e.HEARTBEAT_MUTATION_BURST,
    maxConcurrentRunsLimit: e.HEARTBEAT_MAX_CONCURRENT_RUNS_LIMIT,
    shutdownGraceMs: e.HEARTBEAT_SHUTDOWN_GRACE_MS,
    databaseOutageMs: e.HEARTBEAT_DATABASE_OUTAGE_MS,
    hostName: e.HEARTBEAT_HOST_NAME,
    responseCacheMb: e.HEARTBEAT_RESPONSE_CACHE_MB,
    tickMs: e.HEARTBEAT_TICK_MS,
    silenceSuspiciousSec: e.HEARTBEAT_SILENCE_SUSPICIOUS_SEC,
    silenceCriticalSec: e.HEARTBEAT_SILENCE_CRITICAL_SEC,
    logLevel: e.LOG_LEVEL,
    tracing,
    hostAdapters,
    outboundNetworks,
    agentSandbox,
  };
}
