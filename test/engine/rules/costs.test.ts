// Usage and cost rules (docs/engine.md §13): reading a result's usage, billed cents, session deltas.
import { describe, expect, it } from 'vitest';
import { billingTypeValues } from '../../../db/enums.ts';
import {
  BILLING_TYPES,
  billedCents,
  billingTypeOf,
  normalizeUsage,
  readUsageStatement,
  type RunUsage,
  sessionDelta,
  usageIsCumulative,
  usedAnything,
} from '../../../engine/rules/costs.ts';

const usage = (fields: Partial<RunUsage> = {}): RunUsage => ({
  inputTokens: 0,
  cachedInputTokens: 0,
  outputTokens: 0,
  costUsd: null,
  billingType: 'unknown',
  provider: null,
  biller: 'unknown',
  model: null,
  ...fields,
});

describe('normalizeUsage', () => {
  it("reads Heartbeat's spelling, with defaults for what the result leaves out", () => {
    expect(normalizeUsage({ usage: { inputTokens: 10, cachedInputTokens: 4, outputTokens: 3 } })).toEqual(
      usage({ inputTokens: 10, cachedInputTokens: 4, outputTokens: 3 }),
    );
    expect(
      normalizeUsage({ usage: { inputTokens: 1 }, costUsd: 0.5, billingType: 'metered_api', provider: 'openai', biller: 'azure', model: 'gpt-5' }),
    ).toEqual(usage({ inputTokens: 1, costUsd: 0.5, billingType: 'metered_api', provider: 'openai', biller: 'azure', model: 'gpt-5' }));
  });

  it("reads snake_case and Claude Code's spelling: cache_read_input_tokens is cached input", () => {
    const claude = { input_tokens: 19, cache_creation_input_tokens: 2168, cache_read_input_tokens: 15000, output_tokens: 311 };
    expect(normalizeUsage({ usage: claude, total_cost_usd: 0.1234 })).toMatchObject({
      inputTokens: 19,
      cachedInputTokens: 15000,
      outputTokens: 311,
      costUsd: 0.1234,
    });
    expect(normalizeUsage({ usage: { input_tokens: 5, cached_input_tokens: 2, output_tokens: 1 }, cost_usd: 0.01 })).toMatchObject({
      inputTokens: 5,
      cachedInputTokens: 2,
      outputTokens: 1,
      costUsd: 0.01,
    });
    // camelCase wins over snake_case when both are there.
    expect(normalizeUsage({ usage: { inputTokens: 7, input_tokens: 9 } })?.inputTokens).toBe(7);
  });

  it('reads the cost and the labels inside `usage` too; top-level fields win', () => {
    expect(normalizeUsage({ usage: { costUsd: 0.2, billing_type: 'credits', provider: 'anthropic', model: 'm' } })).toEqual(
      usage({ costUsd: 0.2, billingType: 'credits', provider: 'anthropic', biller: 'anthropic', model: 'm' }),
    );
    expect(normalizeUsage({ usage: { total_cost_usd: 0.2 }, costUsd: 0.3 })?.costUsd).toBe(0.3);
    expect(normalizeUsage({ usage: { outputTokens: 1, model: 'inner' }, model: 'outer' })?.model).toBe('outer');
  });

  it('takes the legacy usage.costCents as cents; a USD cost wins over it', () => {
    expect(normalizeUsage({ usage: { costCents: 250 } })?.costUsd).toBe(2.5);
    expect(normalizeUsage({ usage: { cost_cents: 3 } })?.costUsd).toBe(0.03);
    expect(normalizeUsage({ usage: { costCents: 250, costUsd: 1 } })?.costUsd).toBe(1);
  });

  it('counts are whole and never negative: floor; negative, NaN, infinite or not a number is 0', () => {
    expect(normalizeUsage({ usage: { inputTokens: 12.9, cachedInputTokens: -4, outputTokens: Number.NaN } })).toMatchObject({
      inputTokens: 12,
      cachedInputTokens: 0,
      outputTokens: 0,
    });
    expect(normalizeUsage({ usage: { inputTokens: Infinity, outputTokens: 'many', cachedInputTokens: '42' } })).toMatchObject({
      inputTokens: 0,
      cachedInputTokens: 42,
      outputTokens: 0,
    });
    // A counter too big to be exact in a double is held at the largest exact one.
    expect(normalizeUsage({ usage: { inputTokens: 1e300 } })?.inputTokens).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('a negative cost is 0; a cost that is not a finite number is not a cost', () => {
    expect(normalizeUsage({ costUsd: -3 })?.costUsd).toBe(0);
    expect(normalizeUsage({ usage: { outputTokens: 1 }, costUsd: Number.NaN })?.costUsd).toBeNull();
    expect(normalizeUsage({ costUsd: 'free' })).toBeNull();
    expect(normalizeUsage({ costUsd: Infinity })).toBeNull();
  });

  it('billing types: the six values, `api` and `subscription` as aliases, anything else unknown', () => {
    expect(BILLING_TYPES).toEqual(billingTypeValues);
    for (const type of BILLING_TYPES) expect(normalizeUsage({ costUsd: 1, billingType: type })?.billingType).toBe(type);
    expect(normalizeUsage({ costUsd: 1, billingType: 'api' })?.billingType).toBe('metered_api');
    expect(normalizeUsage({ costUsd: 1, billing_type: ' Subscription ' })?.billingType).toBe('subscription_included');
    expect(normalizeUsage({ costUsd: 1, billingType: 'pay-as-you-go' })?.billingType).toBe('unknown');
    expect(normalizeUsage({ costUsd: 1, billingType: 3 })?.billingType).toBe('unknown');
    expect(billingTypeOf(undefined)).toBeUndefined();
  });

  it('biller: the biller, else the provider, else unknown; blank labels say nothing', () => {
    expect(normalizeUsage({ costUsd: 1, provider: 'anthropic', biller: 'aws' })).toMatchObject({ provider: 'anthropic', biller: 'aws' });
    expect(normalizeUsage({ costUsd: 1, provider: 'anthropic' })).toMatchObject({ provider: 'anthropic', biller: 'anthropic' });
    expect(normalizeUsage({ costUsd: 1, provider: '  ', biller: 7, model: '' })).toMatchObject({ provider: null, biller: 'unknown', model: null });
  });

  it('null when the result says nothing about tokens or cost', () => {
    expect(normalizeUsage({})).toBeNull();
    expect(normalizeUsage({ usage: null })).toBeNull();
    expect(normalizeUsage({ usage: { sessionRotated: true } })).toBeNull();
    expect(normalizeUsage({ usage: {}, billingType: 'api', provider: 'openai', model: 'gpt-5' })).toBeNull();
    // Saying 0 is saying something.
    expect(normalizeUsage({ usage: { outputTokens: 0 } })).toEqual(usage());
    expect(normalizeUsage({ costUsd: 0 })).toEqual(usage({ costUsd: 0 }));
  });

  it('counters go together: one said means the others are 0', () => {
    expect(readUsageStatement({ usage: { output_tokens: 5 } })).toEqual({ tokens: { inputTokens: 0, cachedInputTokens: 0, outputTokens: 5 } });
  });
});

describe('usageIsCumulative', () => {
  it('usage.cumulative or usageIsCumulative, only when true', () => {
    expect(usageIsCumulative({ usage: { inputTokens: 1, cumulative: true } })).toBe(true);
    expect(usageIsCumulative({ usage: { inputTokens: 1 }, usageIsCumulative: true })).toBe(true);
    expect(usageIsCumulative({ usage: { inputTokens: 1 }, usage_is_cumulative: true })).toBe(true);
    expect(usageIsCumulative({ usage: { inputTokens: 1, cumulative: 'yes' } })).toBe(false);
    expect(usageIsCumulative({ usage: { cumulative: true }, usageIsCumulative: false })).toBe(false);
    expect(usageIsCumulative({})).toBe(false);
  });
});

describe('billedCents', () => {
  it('the cost in whole cents, rounded', () => {
    expect(billedCents(usage({ costUsd: 0.1234 }))).toBe(12);
    expect(billedCents(usage({ costUsd: 0.125 }))).toBe(13);
    // 0.145 * 100 is 14.499999999999998 in binary: still half a cent up.
    expect(billedCents(usage({ costUsd: 0.145 }))).toBe(15);
    expect(billedCents(usage({ costUsd: 0.004 }))).toBe(0);
    expect(billedCents(usage({ costUsd: 12.3456, billingType: 'metered_api' }))).toBe(1235);
  });

  it('0 for a subscription that includes it, no cost, or a negative cost', () => {
    expect(billedCents(usage({ costUsd: 5, billingType: 'subscription_included' }))).toBe(0);
    expect(billedCents(usage({ costUsd: 5, billingType: 'subscription_overage' }))).toBe(500);
    expect(billedCents(usage({ costUsd: null }))).toBe(0);
    expect(billedCents(usage({ costUsd: -1 }))).toBe(0);
    expect(billedCents(usage({ costUsd: Number.NaN }))).toBe(0);
  });
});

describe('sessionDelta', () => {
  const totals = usage({ inputTokens: 85_681, cachedInputTokens: 70_000, outputTokens: 40, provider: 'openai', biller: 'openai' });

  it('not cumulative: the usage as it is', () => {
    expect(sessionDelta(totals, { inputTokens: 16_504, cachedInputTokens: 0, outputTokens: 20 }, false)).toBe(totals);
  });

  it('cumulative: the rise since the previous run of the session, the totals kept under raw', () => {
    expect(sessionDelta(totals, { inputTokens: 16_504, cachedInputTokens: 10_000, outputTokens: 20 }, true)).toEqual({
      ...totals,
      inputTokens: 69_177,
      cachedInputTokens: 60_000,
      outputTokens: 20,
      raw: { inputTokens: 85_681, cachedInputTokens: 70_000, outputTokens: 40, costUsd: null },
      usageSource: 'session_delta',
    });
  });

  it('cumulative with no previous run: all of it is this run’s', () => {
    expect(sessionDelta(totals, null, true)).toEqual({
      ...totals,
      raw: { inputTokens: 85_681, cachedInputTokens: 70_000, outputTokens: 40, costUsd: null },
      usageSource: 'session_delta',
    });
  });

  it('a counter that went down was reset: taken as it is, never negative', () => {
    const delta = sessionDelta(totals, { inputTokens: 100_000, cachedInputTokens: 10_000, outputTokens: 40 }, true);
    expect(delta).toMatchObject({ inputTokens: 85_681, cachedInputTokens: 60_000, outputTokens: 0 });
    // A previous figure that is not a count is no figure.
    expect(sessionDelta(totals, { inputTokens: Number.NaN, cachedInputTokens: -5, outputTokens: 10 }, true)).toMatchObject({
      inputTokens: 85_681,
      cachedInputTokens: 70_000,
      outputTokens: 30,
    });
  });

  it('a cumulative cost is a running total too: its rise, without float dust', () => {
    const withCost = usage({ inputTokens: 10, costUsd: 0.3 });
    expect(sessionDelta(withCost, { inputTokens: 4, cachedInputTokens: 0, outputTokens: 0, costUsd: 0.1 }, true)).toMatchObject({
      inputTokens: 6,
      costUsd: 0.2,
      raw: { inputTokens: 10, costUsd: 0.3 },
    });
    expect(sessionDelta(withCost, { inputTokens: 4, cachedInputTokens: 0, outputTokens: 0, costUsd: 0.5 }, true).costUsd).toBe(0.3);
    expect(sessionDelta(withCost, { inputTokens: 4, cachedInputTokens: 0, outputTokens: 0 }, true).costUsd).toBe(0.3);
  });
});

describe('usedAnything', () => {
  it('tokens or money: a cost event is written', () => {
    expect(usedAnything(null)).toBe(false);
    expect(usedAnything(usage())).toBe(false);
    expect(usedAnything(usage({ costUsd: 0 }))).toBe(false);
    expect(usedAnything(usage({ cachedInputTokens: 1 }))).toBe(true);
    expect(usedAnything(usage({ outputTokens: 1, billingType: 'subscription_included' }))).toBe(true);
    expect(usedAnything(usage({ costUsd: 0.001 }))).toBe(true);
  });
});
