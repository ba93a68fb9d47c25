// What a run used and what it cost (docs/engine.md §13): a result's usage read into one shape
// (§13.1), cumulative session totals turned into the run's own share (§13.2), and what is billed
// (§13.3). Pure functions; the finish writes what they return.
import type { BillingType as StoredBillingType } from '../../db/enums.ts';

/** How a run's cost is billed; the values of the `billing_type` column (§13.3). */
export const BILLING_TYPES = [
  'metered_api',
  'subscription_included',
  'subscription_overage',
  'credits',
  'fixed',
  'unknown',
] as const satisfies readonly StoredBillingType[];
export type BillingType = (typeof BILLING_TYPES)[number];

/** Spellings agents use for a billing type; anything else not in BILLING_TYPES is `unknown`. */
const BILLING_ALIASES: Record<string, BillingType> = { api: 'metered_api', subscription: 'subscription_included' };

/** Token counters, as whole numbers never below 0. */
export interface TokenCounts {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** A run's usage in one shape (§13.1). */
export interface RunUsage extends TokenCounts {
  /** What the agent said the run cost; null: it did not say. */
  costUsd: number | null;
  billingType: BillingType;
  /** Who made the model (`anthropic`, `openai`), when known. */
  provider: string | null;
  /** Who is paid: the biller named, else the provider, else `unknown`. */
  biller: string;
  model: string | null;
  /** The session totals the agent reported, when the figures above are a share of them (§13.2). */
  raw?: TokenCounts & { costUsd: number | null };
  usageSource?: 'session_delta';
}

/**
 * Where a result says what it used: Heartbeat's own fields (an AdapterResult, a result line) with
 * their snake_case and Claude Code spellings. Any of them may also sit inside `usage`.
 */
export interface UsageFields {
  usage?: Record<string, unknown> | null;
  costUsd?: unknown;
  cost_usd?: unknown;
  total_cost_usd?: unknown;
  billingType?: unknown;
  billing_type?: unknown;
  provider?: unknown;
  biller?: unknown;
  model?: unknown;
  usageIsCumulative?: unknown;
  usage_is_cumulative?: unknown;
}

/** What a result says about usage, and only what it says: the parts the adapter merges (§13.1). */
export interface UsageStatement {
  /** All three counters or none: a counter left out of a report that has others is 0. */
  tokens?: TokenCounts;
  costUsd?: number;
  billingType?: BillingType;
  provider?: string;
  biller?: string;
  model?: string;
  /** The figures are the session's running totals, not this run's (§13.2). */
  cumulative?: boolean;
}

const COUNTER_KEYS: Record<keyof TokenCounts, readonly string[]> = {
  inputTokens: ['inputTokens', 'input_tokens'],
  // Claude Code counts cache reads as `cache_read_input_tokens`: the same thing under its name.
  cachedInputTokens: ['cachedInputTokens', 'cached_input_tokens', 'cache_read_input_tokens'],
  outputTokens: ['outputTokens', 'output_tokens'],
};
const COST_USD_KEYS = ['costUsd', 'cost_usd', 'total_cost_usd'];
/** The cost in cents an older usage object carries (the runtime totals read it). */
const COST_CENTS_KEYS = ['costCents', 'cost_cents'];
/** Longest provider, biller or model name kept. */
const LABEL_MAX = 200;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const numberOf = (value: unknown): number | undefined => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : undefined;
  return n === undefined || Number.isNaN(n) ? undefined : n;
};
/** Whole, never negative, and exact in a double (the columns are bigint); not a count (NaN, Infinity) is 0. */
const wholeCount = (value: unknown): number => {
  const n = numberOf(value);
  return n === undefined || !Number.isFinite(n) || n <= 0 ? 0 : Math.min(Math.floor(n), Number.MAX_SAFE_INTEGER);
};
const cost = (value: unknown): number | undefined => {
  const n = numberOf(value);
  return n === undefined || !Number.isFinite(n) ? undefined : Math.max(0, n);
};
const label = (value: unknown): string | undefined => {
  const trimmed = typeof value === 'string' ? value.trim() : '';
  return trimmed === '' ? undefined : trimmed.slice(0, LABEL_MAX);
};

/** The first of `keys` present (not null) in any of `sources`, in order. */
function firstOf(sources: readonly Record<string, unknown>[], keys: readonly string[]): unknown {
  for (const source of sources) {
    for (const key of keys) if (source[key] !== undefined && source[key] !== null) return source[key];
  }
  return undefined;
}

/** A billing type from its name or an alias; undefined when none is given. */
export function billingTypeOf(value: unknown): BillingType | undefined {
  const name = label(value)?.toLowerCase();
  if (name === undefined) return undefined;
  if ((BILLING_TYPES as readonly string[]).includes(name)) return name as BillingType;
  return BILLING_ALIASES[name] ?? 'unknown';
}

/**
 * What a result says about usage: top-level fields first, then the same keys inside `usage`.
 * The cost is USD (`costUsd`, `cost_usd`, `total_cost_usd`), else the legacy `costCents`.
 */
export function readUsageStatement(result: UsageFields): UsageStatement {
  const usage = isObject(result.usage) ? result.usage : {};
  const top = result as Record<string, unknown>;
  const sources = [top, usage];
  const statement: UsageStatement = {};
  const counters = Object.values(COUNTER_KEYS).some((keys) => firstOf([usage], keys) !== undefined);
  if (counters) {
    statement.tokens = {
      inputTokens: wholeCount(firstOf([usage], COUNTER_KEYS.inputTokens)),
      cachedInputTokens: wholeCount(firstOf([usage], COUNTER_KEYS.cachedInputTokens)),
      outputTokens: wholeCount(firstOf([usage], COUNTER_KEYS.outputTokens)),
    };
  }
  const usd = cost(firstOf(sources, COST_USD_KEYS));
  const cents = cost(firstOf(sources, COST_CENTS_KEYS));
  if (usd !== undefined) statement.costUsd = usd;
  else if (cents !== undefined) statement.costUsd = cents / 100;
  const billingType = billingTypeOf(firstOf(sources, ['billingType', 'billing_type']));
  if (billingType !== undefined) statement.billingType = billingType;
  for (const key of ['provider', 'biller', 'model'] as const) {
    const value = label(firstOf(sources, [key]));
    if (value !== undefined) statement[key] = value;
  }
  const flag = firstOf([top], ['usageIsCumulative', 'usage_is_cumulative']) ?? usage.cumulative;
  if (typeof flag === 'boolean') statement.cumulative = flag;
  return statement;
}

/** A statement as a RunUsage: defaults for what it left out; null when it says nothing of tokens or cost. */
export function completeUsage(statement: UsageStatement): RunUsage | null {
  if (statement.tokens === undefined && statement.costUsd === undefined) return null;
  const provider = statement.provider ?? null;
  return {
    inputTokens: statement.tokens?.inputTokens ?? 0,
    cachedInputTokens: statement.tokens?.cachedInputTokens ?? 0,
    outputTokens: statement.tokens?.outputTokens ?? 0,
    costUsd: statement.costUsd ?? null,
    billingType: statement.billingType ?? 'unknown',
    provider,
    biller: statement.biller ?? provider ?? 'unknown',
    model: statement.model ?? null,
  };
}

/** A result's usage (§13.1); null when the result says nothing about usage or cost. */
export function normalizeUsage(result: UsageFields): RunUsage | null {
  return completeUsage(readUsageStatement(result));
}

/** Whether the result reports its session's running totals (`usage.cumulative`, `usageIsCumulative`). */
export function usageIsCumulative(result: UsageFields): boolean {
  return readUsageStatement(result).cumulative === true;
}

/** Cents billed for a run (§13.3): its cost rounded, none when the subscription includes it. */
export function billedCents(usage: RunUsage): number {
  if (usage.billingType === 'subscription_included' || usage.costUsd === null || !(usage.costUsd > 0)) return 0;
  // toPrecision first: 0.145 * 100 is 14.499999999999998 in binary, and is billed as 15 cents.
  const cents = Math.round(Number((usage.costUsd * 100).toPrecision(12)));
  return Math.min(cents, Number.MAX_SAFE_INTEGER);
}

/** A share of a running total: the rise since last time; a counter that fell was reset, so all of it is new. */
const rise = (current: number, previous: number) => (current >= previous ? current - previous : current);
/** Cost differences without float dust (0.3 - 0.1 is 0.19999999999999998). */
const tidyUsd = (usd: number) => Math.round(usd * 1e10) / 1e10;

/**
 * The run's own usage when the agent reports its session's running totals (§13.2): the rise since
 * the previous run of the same session, whose raw totals are `previous` (its `raw`, or its figures
 * when it had none); the totals themselves are kept under `raw`. Not cumulative: `current` as it is.
 */
export function sessionDelta(
  current: RunUsage,
  previous: (TokenCounts & { costUsd?: number | null }) | null,
  cumulative: boolean,
): RunUsage {
  if (!cumulative) return current;
  const raw = { inputTokens: current.inputTokens, cachedInputTokens: current.cachedInputTokens, outputTokens: current.outputTokens, costUsd: current.costUsd };
  const before = previous ?? { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: null };
  const previousCost = typeof before.costUsd === 'number' ? before.costUsd : 0;
  return {
    ...current,
    inputTokens: rise(current.inputTokens, wholeCount(before.inputTokens)),
    cachedInputTokens: rise(current.cachedInputTokens, wholeCount(before.cachedInputTokens)),
    outputTokens: rise(current.outputTokens, wholeCount(before.outputTokens)),
    costUsd: current.costUsd === null ? null : tidyUsd(rise(current.costUsd, previousCost)),
    raw,
    usageSource: 'session_delta',
  };
}

/** Whether the run used tokens or cost money: only then is a cost event written (§13.4). */
export function usedAnything(usage: RunUsage | null): boolean {
  if (usage === null) return false;
  return usage.inputTokens > 0 || usage.cachedInputTokens > 0 || usage.outputTokens > 0 || (usage.costUsd ?? 0) > 0;
}
