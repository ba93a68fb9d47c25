// An agent's heartbeat policy (`runtime_config.heartbeat`, spec §5) and who may be invoked at all.
// Reading is lenient because it reads stored data; validating API input is strict.
import type { AgentStatus } from '../../db/enums.ts';
import { badInput } from '../model/errors.ts';
import { MAX_SILENCE_TIMEOUT_SEC, MIN_SILENCE_TIMEOUT_SEC } from './silence.ts';

export interface HeartbeatPolicy {
  enabled: boolean;
  intervalSec: number;
  wakeOnDemand: boolean;
  maxConcurrentRuns: number;
  /**
   * A running run silent this long is cancelled (docs/engine.md §17); 0 = off. Read leniently: a
   * number of at least 1 is floored and clamped to [60, 2,592,000]; anything else is 0.
   */
  silenceTimeoutSec: number;
}

export interface PolicyLimits {
  /** Server setting (default 10): the upper bound of any agent's maxConcurrentRuns. */
  maxConcurrentRunsLimit: number;
}

/** Decisions 1: one run at a time unless the agent asks for more. */
export const DEFAULT_MAX_CONCURRENT_RUNS = 1;

/** Longest timer interval the API accepts: one year. */
const MAX_INTERVAL_SEC = 31_536_000;

// Older configs spell "wake me when asked" with these names; the first boolean found wins.
const WAKE_ON_DEMAND_KEYS = ['wakeOnDemand', 'wakeOnAssignment', 'wakeOnOnDemand', 'wakeOnAutomation'] as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const isFiniteNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The server limit itself, made usable: a misconfigured limit still allows one run. */
function upperLimit(limits: PolicyLimits): number {
  const limit = limits?.maxConcurrentRunsLimit;
  return isFiniteNumber(limit) ? Math.max(1, Math.floor(limit)) : 1;
}

/** Never throws: stored configs may predate validation or come from other tools. */
export function readHeartbeatPolicy(runtimeConfig: unknown, limits: PolicyLimits): HeartbeatPolicy {
  const heartbeat = isRecord(runtimeConfig) && isRecord(runtimeConfig.heartbeat) ? runtimeConfig.heartbeat : {};

  const interval = heartbeat.intervalSec;
  const maxRuns = heartbeat.maxConcurrentRuns;
  const silence = heartbeat.silenceTimeoutSec;
  const wakeFlag = WAKE_ON_DEMAND_KEYS.map((key) => heartbeat[key]).find((v) => typeof v === 'boolean');

  return {
    enabled: typeof heartbeat.enabled === 'boolean' ? heartbeat.enabled : false,
    intervalSec: isFiniteNumber(interval) && interval >= 0 ? Math.floor(interval) : 0,
    wakeOnDemand: typeof wakeFlag === 'boolean' ? wakeFlag : true,
    maxConcurrentRuns: Math.min(
      upperLimit(limits),
      Math.max(1, isFiniteNumber(maxRuns) ? Math.floor(maxRuns) : DEFAULT_MAX_CONCURRENT_RUNS),
    ),
    silenceTimeoutSec: readSilenceTimeoutSec(silence),
  };
}

/** An agent's stored `silenceTimeoutSec`, read leniently (see HeartbeatPolicy). */
export function readSilenceTimeoutSec(value: unknown): number {
  if (!isFiniteNumber(value) || value < 1) return 0;
  return Math.min(MAX_SILENCE_TIMEOUT_SEC, Math.max(MIN_SILENCE_TIMEOUT_SEC, Math.floor(value)));
}

type FieldCheck = (value: unknown, limit: number) => string | null;

const booleanField: FieldCheck = (value) => (typeof value === 'boolean' ? null : 'must be a boolean');

const integerField =
  (min: number, max: (limit: number) => number): FieldCheck =>
  (value, limit) =>
    Number.isInteger(value) && (value as number) >= min && (value as number) <= max(limit)
      ? null
      : `must be an integer >= ${min} and <= ${max(limit)}`;

const silenceTimeoutField: FieldCheck = (value) =>
  value === 0 || (Number.isInteger(value) && (value as number) >= MIN_SILENCE_TIMEOUT_SEC && (value as number) <= MAX_SILENCE_TIMEOUT_SEC)
    ? null
    : `must be 0 (off) or an integer from ${MIN_SILENCE_TIMEOUT_SEC} to ${MAX_SILENCE_TIMEOUT_SEC}`;

const FIELDS: Record<string, FieldCheck> = {
  enabled: booleanField,
  intervalSec: integerField(0, () => MAX_INTERVAL_SEC),
  wakeOnDemand: booleanField,
  wakeOnAssignment: booleanField,
  wakeOnOnDemand: booleanField,
  wakeOnAutomation: booleanField,
  maxConcurrentRuns: integerField(1, (limit) => limit),
  silenceTimeoutSec: silenceTimeoutField,
};

/**
 * Strict check of a `heartbeat` policy sent through the API (createAgent / updateAgent). Throws
 * BAD_USER_INPUT naming the first bad field; returns a copy holding only the known keys.
 */
export function validateHeartbeatPolicyInput(input: unknown, limits: PolicyLimits): Record<string, unknown> {
  if (input === null || input === undefined) return {};
  if (!isRecord(input)) throw badInput('heartbeat must be an object', { field: 'heartbeat' });
  const limit = upperLimit(limits);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const field = `heartbeat.${key}`;
    const check = Object.hasOwn(FIELDS, key) ? FIELDS[key] : undefined;
    if (!check) {
      throw badInput(`${field} is not a known setting (allowed: ${Object.keys(FIELDS).join(', ')})`, { field });
    }
    const problem = check(value, limit);
    if (problem) throw badInput(`${field} ${problem}`, { field });
    out[key] = value;
  }
  return out;
}

export const NON_INVOKABLE_AGENT_STATUSES: readonly AgentStatus[] = ['paused', 'terminated', 'pending_approval'];

/** Whether runs may be started for an agent in this status (spec terms: *invokable*). */
export function isInvokable(status: AgentStatus): boolean {
  return !NON_INVOKABLE_AGENT_STATUSES.includes(status);
}
