// unreceivedWakeParts: what a wakeup joining a run that is already executing brings that the run
// did not receive (and so needs a follow-up run for). Contexts are built as enqueueWakeup builds
// them (enrichWakeContext), so the cases are the ones the engine meets.
import { describe, expect, it } from 'vitest';
import {
  DIRECTIVE_REASONS,
  enrichWakeContext,
  jsonEqual,
  mergeWakeContext,
  unreceivedWakeParts,
  type WakeContext,
  type WakeInput,
} from '../../../engine/rules/wake-context.ts';

const ctx = (wake: Partial<WakeInput> = {}, base: WakeContext = {}): WakeContext => enrichWakeContext(base, { source: 'on_demand', ...wake });
/** A value as jsonb gives it back: key order not kept (here: reversed, at every level). */
const reordered = (value: unknown): unknown =>
  Array.isArray(value)
    ? value.map(reordered)
    : typeof value === 'object' && value !== null
      ? Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reordered(v)]))
      : value;
const stored = (context: WakeContext): WakeContext => reordered(JSON.parse(JSON.stringify(context))) as WakeContext;

describe('jsonEqual', () => {
  it.each<[unknown, unknown, boolean]>([
    [1, 1, true],
    ['a', 'a', true],
    [null, null, true],
    [null, undefined, false],
    [1, '1', false],
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: 1, b: undefined }, { a: 1 }, true],
    [[1, 2], [2, 1], false],
    [[1], { 0: 1 }, false],
    [{}, [], false],
  ])('%j vs %j: %s', (a, b, equal) => {
    expect(jsonEqual(a, b)).toBe(equal);
    expect(jsonEqual(b, a)).toBe(equal);
  });
});

describe('unreceivedWakeParts: nothing new', () => {
  it.each<[string, WakeContext, WakeContext]>([
    ['a timer tick into a run started on demand', ctx({ reason: 'manual' }), ctx({ source: 'timer', triggerDetail: 'system', reason: 'heartbeat_timer' }, { source: 'scheduler', now: '2026-01-01T00:00:00Z' })],
    ['a bare ping', ctx({ payload: { a: 1 } }), ctx({ reason: 'ping' })],
    ['the same payload again', ctx({ reason: 'deploy', payload: { a: 1, nested: { x: [1, 2] } } }), ctx({ reason: 'deploy again', payload: { nested: { x: [1, 2] }, a: 1 } })],
    ['a part of the payload it got', ctx({ payload: { a: 1, b: 2 } }), ctx({ payload: { b: 2 } })],
    ['the same task key in the payload', ctx({ payload: { taskKey: 'job', a: 1 } }), ctx({ payload: { taskKey: 'job' } })],
    ['payload.issueId the context carries at its top level', { issueId: 'I1', taskId: 'I1', wakeReason: 'issue_assignment_recovery' }, ctx({ reason: 'again', payload: { issueId: 'I1' } })],
    ['a comment it was woken for', ctx({ reason: 'issue_commented', payload: { issueId: 'I1', commentId: 'c1' } }), ctx({ reason: 'issue_comment_mentioned', payload: { issueId: 'I1', commentId: 'c1' } })],
    ['an older comment among the ones it got', mergeWakeContext(ctx({ payload: { commentId: 'c1' } }), ctx({ payload: { commentId: 'c2' } })), ctx({ payload: { commentId: 'c1' } })],
    ['the directive reason it was started for', ctx({ reason: 'issue_assigned', payload: { issueId: 'I1' } }), ctx({ reason: 'issue_assigned', payload: { issueId: 'I1' } })],
    ['a free-form reason', ctx({ reason: 'issue_assigned' }), ctx({ reason: 'please look again' })],
    ['engine bookkeeping outside the payload', ctx({ payload: { a: 1 } }), { ...ctx({ payload: { a: 1 } }), source: 'x', dependencyBlockedInteraction: true, unresolvedBlockerCount: 2 }],
    ['an empty payload', ctx({ payload: { a: 1 } }), ctx({ payload: {} })],
  ])('%s', (_name, received, incoming) => {
    expect(unreceivedWakeParts(received, incoming)).toBeNull();
    expect(unreceivedWakeParts(stored(received), incoming)).toBeNull();
  });

  it('no contexts at all', () => {
    expect(unreceivedWakeParts(null, undefined)).toBeNull();
    expect(unreceivedWakeParts({}, {})).toBeNull();
  });
});

describe('unreceivedWakeParts: something new', () => {
  it('a payload key the run did not get, and one it got with another value', () => {
    const received = stored(ctx({ payload: { a: 1, b: { x: 1 } } }));
    expect(unreceivedWakeParts(received, ctx({ payload: { a: 1, b: { x: 2 }, c: null } }))).toEqual({ payloadKeys: ['b', 'c'], commentIds: [], reason: null });
  });

  it('a payload on a run started without one', () => {
    expect(unreceivedWakeParts(ctx({ source: 'timer', reason: 'heartbeat_timer' }), ctx({ payload: { job: 7 } }))).toEqual({ payloadKeys: ['job'], commentIds: [], reason: null });
  });

  it('a scope key with another value than the run has anywhere', () => {
    expect(unreceivedWakeParts({ issueId: 'I1' }, ctx({ payload: { taskId: 'T9' } }, { issueId: 'I1' }))!.payloadKeys).toEqual(['taskId']);
  });

  it('a comment id it was not woken for (the payload commentId counts as that, not as a payload key)', () => {
    const received = ctx({ reason: 'issue_commented', payload: { issueId: 'I1', commentId: 'c1' } });
    expect(unreceivedWakeParts(received, ctx({ reason: 'issue_commented', payload: { issueId: 'I1', commentId: 'c2' } }))).toEqual({
      payloadKeys: [],
      commentIds: ['c2'],
      reason: null,
    });
  });

  it('a comment on a run started without any', () => {
    expect(unreceivedWakeParts({}, ctx({ payload: { commentId: 'c1' } }))).toEqual({ payloadKeys: [], commentIds: ['c1'], reason: null });
  });

  it.each(DIRECTIVE_REASONS)('the directive reason %s on a run started for another', (reason) => {
    expect(unreceivedWakeParts(ctx({ reason: 'heartbeat_timer' }), ctx({ reason }))).toEqual({ payloadKeys: [], commentIds: [], reason });
    expect(unreceivedWakeParts({}, ctx({ reason }))).toEqual({ payloadKeys: [], commentIds: [], reason });
  });

  it('everything at once', () => {
    const received = ctx({ reason: 'issue_assigned', payload: { issueId: 'I1', a: 1 } });
    const incoming = ctx({ reason: 'execution_review_requested', payload: { issueId: 'I1', a: 2, commentId: 'c7' } });
    expect(unreceivedWakeParts(received, incoming)).toEqual({ payloadKeys: ['a'], commentIds: ['c7'], reason: 'execution_review_requested' });
  });

  it('what one wakeup brought, a run whose context merged it has received (follow-up, then its start)', () => {
    const running = ctx({ payload: { a: 1 } });
    const first = ctx({ payload: { b: 2 } });
    expect(unreceivedWakeParts(running, first)).not.toBeNull();
    const followup = stored(mergeWakeContext(first, ctx({ payload: { c: 3 } })));
    expect(unreceivedWakeParts(followup, ctx({ payload: { b: 2, c: 3 } }))).toBeNull();
  });
});
