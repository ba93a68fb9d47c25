import { describe, expect, it } from 'vitest';
import {
  BOUNDED_RETRY_DELAYS_MS,
  BOUNDED_RETRY_MAX_ATTEMPTS,
  boundedRetrySchedule,
  codexFallbackMode,
  dueAtWithNotBefore,
  transientContract,
  TRANSIENT_ERROR_CODES,
  type CodexFallbackMode,
  type TransientContract,
} from '../../../engine/rules/retry-schedule.ts';

const NOW = new Date('2026-03-01T00:00:00.000Z');
const plus = (ms: number) => new Date(NOW.getTime() + ms);

describe('boundedRetrySchedule', () => {
  it('has four attempts of 2 min, 10 min, 30 min, 2 h', () => {
    expect(BOUNDED_RETRY_DELAYS_MS).toEqual([120_000, 600_000, 1_800_000, 7_200_000]);
    expect(BOUNDED_RETRY_MAX_ATTEMPTS).toBe(4);
  });

  it.each<[string, number, number, number, number]>([
    ['attempt 1 midpoint is exactly 2 min', 1, 0.5, 120_000, 120_000],
    ['attempt 1 random 0 is -25%', 1, 0, 120_000, 90_000],
    ['attempt 1 random 1 is +25%', 1, 1, 120_000, 150_000],
    ['attempt 2 midpoint', 2, 0.5, 600_000, 600_000],
    ['attempt 3 random 0.75 is +12.5%', 3, 0.75, 1_800_000, 2_025_000],
    ['attempt 4 random 0.25 is -12.5%', 4, 0.25, 7_200_000, 6_300_000],
    ['random below 0 is clamped', 2, -5, 600_000, 450_000],
    ['random above 1 is clamped', 2, 7, 600_000, 750_000],
    ['NaN random means no jitter', 3, Number.NaN, 1_800_000, 1_800_000],
    ['delay is rounded', 1, 0.123456789, 120_000, Math.round(120_000 * (1 + (2 * 0.123456789 - 1) * 0.25))],
  ])('%s', (_name, attempt, random, baseDelayMs, delayMs) => {
    expect(boundedRetrySchedule(attempt, NOW, random)).toEqual({ attempt, baseDelayMs, delayMs, dueAt: plus(delayMs) });
  });

  it.each([[0], [5], [-1], [1.5], [Number.NaN], [Number.POSITIVE_INFINITY]])('attempt %s -> null', (attempt) => {
    expect(boundedRetrySchedule(attempt, NOW, 0.5)).toBeNull();
  });

  it('does not touch now', () => {
    const now = new Date(NOW);
    boundedRetrySchedule(1, now, 0.5);
    expect(now).toEqual(NOW);
  });
});

describe('transientContract', () => {
  it('maps both transient upstream codes', () => {
    expect(TRANSIENT_ERROR_CODES).toEqual({
      codex_transient_upstream: 'transient_upstream',
      claude_transient_upstream: 'transient_upstream',
    });
  });

  const when = '2026-03-01T00:30:00.000Z';
  it.each<[string, string | null, Record<string, unknown> | null, TransientContract | null]>([
    ['no code, no result', null, null, null],
    ['non-transient code', 'adapter_failed', { summary: 'x' }, null],
    ['prototype key is not a code', 'constructor', null, null],
    ['codex code', 'codex_transient_upstream', null, { errorFamily: 'transient_upstream', retryNotBefore: null }],
    ['claude code', 'claude_transient_upstream', {}, { errorFamily: 'transient_upstream', retryNotBefore: null }],
    ['errorFamily from result', 'adapter_failed', { errorFamily: 'rate_limited' }, { errorFamily: 'rate_limited', retryNotBefore: null }],
    ['errorFamily wins over code', 'codex_transient_upstream', { errorFamily: 'overloaded' }, { errorFamily: 'overloaded', retryNotBefore: null }],
    ['empty errorFamily is ignored', null, { errorFamily: '  ' }, null],
    ['non-string errorFamily is ignored', 'claude_transient_upstream', { errorFamily: 5 }, { errorFamily: 'transient_upstream', retryNotBefore: null }],
    ['retryNotBefore', 'codex_transient_upstream', { retryNotBefore: when }, { errorFamily: 'transient_upstream', retryNotBefore: when }],
    ['transientRetryNotBefore fallback', 'codex_transient_upstream', { transientRetryNotBefore: when }, { errorFamily: 'transient_upstream', retryNotBefore: when }],
    ['retryNotBefore preferred', 'codex_transient_upstream', { retryNotBefore: when, transientRetryNotBefore: '2030-01-01T00:00:00Z' }, { errorFamily: 'transient_upstream', retryNotBefore: when }],
    ['invalid retryNotBefore falls through', 'codex_transient_upstream', { retryNotBefore: 'soon', transientRetryNotBefore: when }, { errorFamily: 'transient_upstream', retryNotBefore: when }],
    ['invalid dates give null', 'codex_transient_upstream', { retryNotBefore: 'soon', transientRetryNotBefore: 42 }, { errorFamily: 'transient_upstream', retryNotBefore: null }],
  ])('%s', (_name, errorCode, resultJson, expected) => {
    expect(transientContract({ errorCode, resultJson })).toEqual(expected);
  });
});

describe('dueAtWithNotBefore', () => {
  const schedule = boundedRetrySchedule(1, NOW, 0.5)!; // due NOW + 2 min
  it.each<[string, string | null, Date]>([
    ['null keeps dueAt', null, plus(120_000)],
    ['earlier keeps dueAt', plus(60_000).toISOString(), plus(120_000)],
    ['equal keeps dueAt', plus(120_000).toISOString(), plus(120_000)],
    ['later replaces dueAt', plus(900_000).toISOString(), plus(900_000)],
    ['invalid keeps dueAt', 'not a date', plus(120_000)],
  ])('%s', (_name, notBefore, expected) => {
    expect(dueAtWithNotBefore(schedule, notBefore)).toEqual(expected);
  });
});

describe('codexFallbackMode', () => {
  it.each<[number, CodexFallbackMode]>([
    [-1, 'same_session'],
    [0, 'same_session'],
    [1, 'same_session'],
    [2, 'safer_invocation'],
    [3, 'fresh_session'],
    [4, 'fresh_session_safer_invocation'],
    [9, 'fresh_session_safer_invocation'],
    [Number.NaN, 'same_session'],
  ])('attempt %s -> %s', (attempt, mode) => {
    expect(codexFallbackMode(attempt)).toBe(mode);
  });
});
