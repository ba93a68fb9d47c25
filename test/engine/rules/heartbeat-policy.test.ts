import { describe, expect, it } from 'vitest';
import { agentStatusValues, type AgentStatus } from '../../../db/enums.ts';
import { HeartbeatError } from '../../../engine/model/errors.ts';
import {
  DEFAULT_MAX_CONCURRENT_RUNS,
  isInvokable,
  NON_INVOKABLE_AGENT_STATUSES,
  readHeartbeatPolicy,
  validateHeartbeatPolicyInput,
} from '../../../engine/rules/heartbeat-policy.ts';

const limits = { maxConcurrentRunsLimit: 10 };
const defaults = { enabled: false, intervalSec: 0, wakeOnDemand: true, maxConcurrentRuns: 1, silenceTimeoutSec: 0 };
const read = (heartbeat: unknown) => readHeartbeatPolicy({ heartbeat }, limits);

describe('readHeartbeatPolicy', () => {
  it('defaults to one concurrent run', () => {
    expect(DEFAULT_MAX_CONCURRENT_RUNS).toBe(1);
  });

  it.each([
    ['undefined config', undefined],
    ['null config', null],
    ['string config', 'nope'],
    ['array config', [1, 2]],
    ['no heartbeat key', {}],
    ['heartbeat null', { heartbeat: null }],
    ['heartbeat array', { heartbeat: [true] }],
    ['heartbeat string', { heartbeat: 'on' }],
  ])('%s -> defaults', (_name, runtimeConfig) => {
    expect(readHeartbeatPolicy(runtimeConfig, limits)).toEqual(defaults);
  });

  it.each([
    [true, true],
    [false, false],
    ['true', false],
    [1, false],
    [null, false],
  ])('enabled %j -> %s', (enabled, expected) => {
    expect(read({ enabled }).enabled).toBe(expected);
  });

  it.each([
    [0, 0],
    [60, 60],
    [59.9, 59],
    [-1, 0],
    [-0.5, 0],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
    ['60', 0],
    [null, 0],
    [true, 0],
  ])('intervalSec %j -> %i', (intervalSec, expected) => {
    expect(read({ intervalSec }).intervalSec).toBe(expected);
  });

  it.each([
    ['nothing set', {}, true],
    ['wakeOnDemand false', { wakeOnDemand: false, wakeOnAssignment: true }, false],
    ['wakeOnDemand true wins', { wakeOnDemand: true, wakeOnAssignment: false }, true],
    ['falls back to wakeOnAssignment', { wakeOnAssignment: false, wakeOnOnDemand: true }, false],
    ['falls back to wakeOnOnDemand', { wakeOnOnDemand: false, wakeOnAutomation: true }, false],
    ['falls back to wakeOnAutomation', { wakeOnAutomation: false }, false],
    ['skips non-booleans', { wakeOnDemand: 'no', wakeOnAssignment: null, wakeOnOnDemand: 0, wakeOnAutomation: false }, false],
    ['only non-booleans -> default', { wakeOnDemand: 'false', wakeOnAssignment: 0 }, true],
  ])('wakeOnDemand: %s', (_name, heartbeat, expected) => {
    expect(read(heartbeat).wakeOnDemand).toBe(expected);
  });

  it.each([
    [undefined, 10, 1],
    [1, 10, 1],
    [3, 10, 3],
    [3.9, 10, 3],
    [10, 10, 10],
    [11, 10, 10],
    [1_000, 10, 10],
    [0, 10, 1],
    [0.5, 10, 1],
    [-4, 10, 1],
    [Number.NaN, 10, 1],
    [Number.POSITIVE_INFINITY, 10, 1],
    ['5', 10, 1],
    [5, 3, 3],
    [5, 20, 5],
    [15, 20, 15],
    // A misconfigured server limit still allows one run.
    [5, 0, 1],
    [5, Number.NaN, 1],
  ])('maxConcurrentRuns %j with limit %j -> %i', (maxConcurrentRuns, limit, expected) => {
    expect(readHeartbeatPolicy({ heartbeat: { maxConcurrentRuns } }, { maxConcurrentRunsLimit: limit }).maxConcurrentRuns).toBe(
      expected,
    );
  });

  it('reads a full policy', () => {
    expect(read({ enabled: true, intervalSec: 300, wakeOnDemand: false, maxConcurrentRuns: 4, extra: 'ignored' })).toEqual({
      enabled: true,
      intervalSec: 300,
      wakeOnDemand: false,
      maxConcurrentRuns: 4,
      silenceTimeoutSec: 0,
    });
  });
});

describe('validateHeartbeatPolicyInput', () => {
  const validate = (input: unknown, limit = 10) => validateHeartbeatPolicyInput(input, { maxConcurrentRunsLimit: limit });

  it.each([
    ['undefined', undefined, {}],
    ['null', null, {}],
    ['empty', {}, {}],
    [
      'every field at its lower bound',
      { enabled: false, intervalSec: 0, wakeOnDemand: false, wakeOnAssignment: false, wakeOnOnDemand: false, wakeOnAutomation: false, maxConcurrentRuns: 1 },
      { enabled: false, intervalSec: 0, wakeOnDemand: false, wakeOnAssignment: false, wakeOnOnDemand: false, wakeOnAutomation: false, maxConcurrentRuns: 1 },
    ],
    ['upper bounds', { intervalSec: 31_536_000, maxConcurrentRuns: 10, enabled: true }, { intervalSec: 31_536_000, maxConcurrentRuns: 10, enabled: true }],
  ])('accepts %s', (_name, input, expected) => {
    expect(validate(input)).toEqual(expected);
  });

  it('returns a copy', () => {
    const input = { enabled: true };
    const out = validate(input);
    expect(out).toEqual(input);
    expect(out).not.toBe(input);
  });

  it.each([
    ['not an object', 'on', 'heartbeat', /^heartbeat must be an object$/],
    ['an array', [true], 'heartbeat', /^heartbeat must be an object$/],
    ['unknown key', { enable: true }, 'heartbeat.enable', /^heartbeat\.enable is not a known setting/],
    ['inherited-looking key', { toString: 1 }, 'heartbeat.toString', /^heartbeat\.toString is not a known setting/],
    ['enabled as string', { enabled: 'true' }, 'heartbeat.enabled', /^heartbeat\.enabled must be a boolean$/],
    ['wakeOnDemand as number', { wakeOnDemand: 1 }, 'heartbeat.wakeOnDemand', /must be a boolean/],
    ['wakeOnAssignment null', { wakeOnAssignment: null }, 'heartbeat.wakeOnAssignment', /must be a boolean/],
    ['wakeOnOnDemand string', { wakeOnOnDemand: 'yes' }, 'heartbeat.wakeOnOnDemand', /must be a boolean/],
    ['wakeOnAutomation number', { wakeOnAutomation: 0 }, 'heartbeat.wakeOnAutomation', /must be a boolean/],
    ['negative interval', { intervalSec: -1 }, 'heartbeat.intervalSec', /^heartbeat\.intervalSec must be an integer >= 0/],
    ['fractional interval', { intervalSec: 1.5 }, 'heartbeat.intervalSec', /must be an integer >= 0/],
    ['interval as string', { intervalSec: '60' }, 'heartbeat.intervalSec', /must be an integer >= 0/],
    ['interval over a year', { intervalSec: 31_536_001 }, 'heartbeat.intervalSec', /<= 31536000/],
    ['NaN interval', { intervalSec: Number.NaN }, 'heartbeat.intervalSec', /must be an integer/],
    ['zero max runs', { maxConcurrentRuns: 0 }, 'heartbeat.maxConcurrentRuns', /must be an integer >= 1 and <= 10/],
    ['max runs over the limit', { maxConcurrentRuns: 11 }, 'heartbeat.maxConcurrentRuns', /<= 10/],
    ['fractional max runs', { maxConcurrentRuns: 2.5 }, 'heartbeat.maxConcurrentRuns', /must be an integer/],
    ['infinite max runs', { maxConcurrentRuns: Number.POSITIVE_INFINITY }, 'heartbeat.maxConcurrentRuns', /must be an integer/],
  ])('rejects %s', (_name, input, field, message) => {
    let error: unknown;
    try {
      validate(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(HeartbeatError);
    expect((error as HeartbeatError).code).toBe('BAD_USER_INPUT');
    expect((error as HeartbeatError).message).toMatch(message);
    expect((error as HeartbeatError).details).toEqual({ field });
  });

  it('uses the server limit for maxConcurrentRuns', () => {
    expect(validate({ maxConcurrentRuns: 20 }, 20)).toEqual({ maxConcurrentRuns: 20 });
    expect(() => validate({ maxConcurrentRuns: 4 }, 3)).toThrow('heartbeat.maxConcurrentRuns must be an integer >= 1 and <= 3');
  });
});

describe('isInvokable', () => {
  it('lists the non-invokable statuses', () => {
    expect([...NON_INVOKABLE_AGENT_STATUSES].sort()).toEqual(['paused', 'pending_approval', 'terminated']);
  });

  const expected: Record<AgentStatus, boolean> = {
    active: true,
    idle: true,
    running: true,
    error: true,
    paused: false,
    terminated: false,
    pending_approval: false,
  };
  it.each(agentStatusValues.map((status) => [status, expected[status]] as const))('%s -> %s', (status, invokable) => {
    expect(isInvokable(status)).toBe(invokable);
  });
});
