// The silent-run rule (docs/engine.md §17), without a database.
import { describe, expect, it } from 'vitest';
import { readHeartbeatPolicy, readSilenceTimeoutSec, validateHeartbeatPolicyInput } from '../../../engine/rules/heartbeat-policy.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import {
  formatSilence,
  MAX_SNOOZE_MS,
  normalizeThresholds,
  outputSilence,
  type SilenceRun,
  silenceCancelReason,
  silenceEventMessage,
  silenceLimitReached,
  silentSince,
  snoozeUntilProblem,
} from '../../../engine/rules/silence.ts';

const T0 = new Date('2026-03-01T00:00:00.000Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const thresholds = { silenceSuspiciousSec: 3_600, silenceCriticalSec: 14_400 };

const running = (over: Partial<SilenceRun> = {}): SilenceRun => ({
  status: 'running',
  createdAt: T0,
  startedAt: null,
  processStartedAt: null,
  lastOutputAt: null,
  outputSilenceSnoozedUntil: null,
  outputSilenceDismissedAt: null,
  ...over,
});

const levelAt = (run: SilenceRun, seconds: number) => outputSilence(run, at(seconds), thresholds)?.level;

describe('where the silence starts', () => {
  it('is the last output, else the process start, else the start, else the creation', () => {
    expect(silentSince(running())).toEqual(T0);
    expect(silentSince(running({ startedAt: at(1) }))).toEqual(at(1));
    expect(silentSince(running({ startedAt: at(1), processStartedAt: at(2) }))).toEqual(at(2));
    expect(silentSince(running({ startedAt: at(1), processStartedAt: at(2), lastOutputAt: at(30) }))).toEqual(at(30));
    // Output before the process start (a reused row) still wins: it is the last output recorded.
    expect(silentSince(running({ startedAt: at(1), lastOutputAt: at(0) }))).toEqual(at(0));
  });
});

describe('levels', () => {
  it('ok below 1 h, suspicious from 1 h, critical from 4 h (inclusive)', () => {
    const run = running({ startedAt: T0 });
    expect(levelAt(run, 0)).toBe('ok');
    expect(levelAt(run, 3_599)).toBe('ok');
    expect(levelAt(run, 3_600)).toBe('suspicious');
    expect(levelAt(run, 61 * 60)).toBe('suspicious');
    expect(levelAt(run, 14_399)).toBe('suspicious');
    expect(levelAt(run, 14_400)).toBe('critical');
    expect(levelAt(run, 30 * 86_400)).toBe('critical');
  });

  it('counts whole seconds: 999 ms short of the threshold is not there yet', () => {
    const run = running();
    expect(outputSilence(run, new Date(T0.getTime() + 3_600_000 - 1), thresholds)).toMatchObject({ level: 'ok', seconds: 3_599 });
    expect(outputSilence(run, new Date(T0.getTime() + 3_600_000), thresholds)).toMatchObject({ level: 'suspicious', seconds: 3_600 });
  });

  it('new output starts the silence again', () => {
    expect(levelAt(running({ lastOutputAt: at(14_000) }), 14_400)).toBe('ok');
  });

  it('is null for a run that is not running', () => {
    for (const status of ['queued', 'scheduled_retry', 'succeeded', 'failed', 'cancelled', 'timed_out'] as const) {
      expect(outputSilence(running({ status }), at(20_000), thresholds)).toBeNull();
    }
  });

  it('never counts negative seconds (a last output ahead of this clock)', () => {
    expect(outputSilence(running({ lastOutputAt: at(10) }), at(0), thresholds)).toMatchObject({ level: 'ok', seconds: 0 });
  });

  it('follows the thresholds it is given; critical is never below suspicious', () => {
    expect(outputSilence(running(), at(120), { silenceSuspiciousSec: 60, silenceCriticalSec: 120 })?.level).toBe('critical');
    expect(normalizeThresholds({ silenceSuspiciousSec: 600, silenceCriticalSec: 60 })).toEqual({ silenceSuspiciousSec: 600, silenceCriticalSec: 600 });
    expect(outputSilence(running(), at(600), { silenceSuspiciousSec: 600, silenceCriticalSec: 60 })?.level).toBe('critical');
  });
});

describe('snooze and dismissal', () => {
  it('a snooze makes the level SNOOZED until it ends, then the silence counts again', () => {
    const run = running({ outputSilenceSnoozedUntil: at(20_000) });
    expect(outputSilence(run, at(19_999), thresholds)).toMatchObject({ level: 'snoozed', snoozedUntil: at(20_000), seconds: 19_999 });
    expect(outputSilence(run, at(20_000), thresholds)).toMatchObject({ level: 'critical', snoozedUntil: null });
    // Snoozed while output flows too: it says what the operator asked.
    expect(levelAt(running({ lastOutputAt: at(100), outputSilenceSnoozedUntil: at(200) }), 150)).toBe('snoozed');
  });

  it('a dismissal covers the silence it was made in; output after it re-arms the levels', () => {
    const dismissed = running({ lastOutputAt: at(100), outputSilenceDismissedAt: at(4_000) });
    expect(outputSilence(dismissed, at(100_000), thresholds)).toMatchObject({ level: 'ok', dismissedAt: at(4_000) });
    const rearmed = { ...dismissed, lastOutputAt: at(4_001) };
    expect(outputSilence(rearmed, at(4_001 + 3_600), thresholds)).toMatchObject({ level: 'suspicious', dismissedAt: null });
    // Dismissed at the very moment of the last output: that silence is covered.
    expect(levelAt(running({ lastOutputAt: at(5), outputSilenceDismissedAt: at(5) }), 20_000)).toBe('ok');
  });

  it('a snooze wins over a dismissal', () => {
    expect(levelAt(running({ outputSilenceDismissedAt: at(10), outputSilenceSnoozedUntil: at(50) }), 20)).toBe('snoozed');
  });

  it('until must be in the future and at most 7 days ahead', () => {
    expect(snoozeUntilProblem(at(1), T0)).toBeNull();
    expect(snoozeUntilProblem(new Date(T0.getTime() + MAX_SNOOZE_MS), T0)).toBeNull();
    expect(snoozeUntilProblem(new Date(T0.getTime() + MAX_SNOOZE_MS + 1), T0)).toBe('until must be at most 7 days ahead');
    expect(snoozeUntilProblem(T0, T0)).toBe('until must be in the future');
    expect(snoozeUntilProblem(at(-60), T0)).toBe('until must be in the future');
    expect(snoozeUntilProblem(new Date(Number.NaN), T0)).toBe('until is not a valid time');
    expect(MAX_SNOOZE_MS).toBe(7 * 24 * 3_600_000);
  });
});

describe("an agent's silence limit", () => {
  it('is reached once the run has been silent that long, only while running, never when 0', () => {
    const run = running({ startedAt: T0 });
    expect(silenceLimitReached(run, at(7_199), 7_200)).toBe(false);
    expect(silenceLimitReached(run, at(7_200), 7_200)).toBe(true);
    expect(silenceLimitReached(run, at(100_000), 0)).toBe(false);
    expect(silenceLimitReached({ ...run, status: 'succeeded' }, at(100_000), 60)).toBe(false);
    // Snoozes and dismissals are about the warning; the limit still holds.
    expect(silenceLimitReached({ ...run, outputSilenceSnoozedUntil: at(200_000), outputSilenceDismissedAt: at(1) }, at(7_200), 7_200)).toBe(true);
  });

  it('is read leniently from the policy: 0 when absent or not a number, clamped to [60, 30 days]', () => {
    expect(readHeartbeatPolicy({ heartbeat: {} }, { maxConcurrentRunsLimit: 10 }).silenceTimeoutSec).toBe(0);
    expect(readHeartbeatPolicy({ heartbeat: { silenceTimeoutSec: 7_200 } }, { maxConcurrentRunsLimit: 10 }).silenceTimeoutSec).toBe(7_200);
    for (const [value, expected] of [
      [undefined, 0],
      [0, 0],
      [0.5, 0],
      [-5, 0],
      ['7200', 0],
      [Number.NaN, 0],
      [Number.POSITIVE_INFINITY, 0],
      [1, 60],
      [90.9, 90],
      [1e12, 2_592_000],
    ] as const) {
      expect(readSilenceTimeoutSec(value), String(value)).toBe(expected);
    }
  });

  it('is validated strictly through the API: 0 or an integer from 60 to 2,592,000', () => {
    const validate = (silenceTimeoutSec: unknown) => validateHeartbeatPolicyInput({ silenceTimeoutSec }, { maxConcurrentRunsLimit: 10 });
    expect(validate(0)).toEqual({ silenceTimeoutSec: 0 });
    expect(validate(60)).toEqual({ silenceTimeoutSec: 60 });
    expect(validate(2_592_000)).toEqual({ silenceTimeoutSec: 2_592_000 });
    for (const bad of [59, 1, -1, 2_592_001, 90.5, '600', null, true]) {
      let error: unknown;
      try {
        validate(bad);
      } catch (caught) {
        error = caught;
      }
      expect(error, String(bad)).toBeInstanceOf(HeartbeatError);
      expect((error as HeartbeatError).code).toBe('BAD_USER_INPUT');
      expect((error as HeartbeatError).details).toEqual({ field: 'heartbeat.silenceTimeoutSec' });
      expect((error as HeartbeatError).message).toBe('heartbeat.silenceTimeoutSec must be 0 (off) or an integer from 60 to 2592000');
    }
  });
});

describe('texts', () => {
  it('durations', () => {
    expect(formatSilence(0)).toBe('0s');
    expect(formatSilence(45)).toBe('45s');
    expect(formatSilence(60)).toBe('1m');
    expect(formatSilence(303)).toBe('5m 3s');
    expect(formatSilence(3_660)).toBe('1h 1m');
    expect(formatSilence(14_400)).toBe('4h');
    expect(formatSilence(7_500)).toBe('2h 5m');
    expect(formatSilence(93_600)).toBe('1d 2h');
    expect(formatSilence(86_400 * 3)).toBe('3d');
  });

  it('the warning names the level, the one before and how long the run has been silent', () => {
    expect(silenceEventMessage({ level: 'suspicious', previous: 'ok', seconds: 3_660, snoozedUntil: null, dismissed: false })).toBe(
      'Output silence SUSPICIOUS (was OK): no output for 1h 1m',
    );
    expect(silenceEventMessage({ level: 'snoozed', previous: 'critical', seconds: 14_400, snoozedUntil: at(60), dismissed: false })).toBe(
      `Output silence SNOOZED (was CRITICAL): no output for 4h (snoozed until ${at(60).toISOString()})`,
    );
    expect(silenceEventMessage({ level: 'ok', previous: 'suspicious', seconds: 3_700, snoozedUntil: null, dismissed: true })).toBe(
      'Output silence OK (was SUSPICIOUS): no output for 1h 1m (dismissed)',
    );
  });

  it('the cancel reason names the silence and the limit', () => {
    expect(silenceCancelReason(7_500, 7_200)).toBe('Cancelled: no output for 2h 5m (silenceTimeoutSec 7200)');
  });
});
