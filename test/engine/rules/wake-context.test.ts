import { describe, expect, it } from 'vitest';
import {
  COMMENT_REQUIRED_REASONS,
  enrichWakeContext,
  INTERACTION_REASONS,
  isInteractionWake,
  latestWakeCommentId,
  mergeWakeContext,
  positiveIntOrZero,
  wakeCommentIdsOf,
  wakeScopeKey,
  type WakeContext,
  type WakeInput,
} from '../../../engine/rules/wake-context.ts';

const wake = (over: Partial<WakeInput> = {}): WakeInput => ({ source: 'on_demand', ...over });

describe('enrichWakeContext', () => {
  it.each<[string, WakeContext | null | undefined, WakeInput, WakeContext]>([
    ['null ctx, bare wake', null, wake(), { wakeSource: 'on_demand' }],
    ['undefined ctx with trigger', undefined, wake({ source: 'timer', triggerDetail: 'system' }), { wakeSource: 'timer', wakeTriggerDetail: 'system' }],
    ['reason fills wakeReason', {}, wake({ reason: 'heartbeat_timer' }), { wakeReason: 'heartbeat_timer', wakeSource: 'on_demand' }],
    ['blank reason is ignored', {}, wake({ reason: '  ' }), { wakeSource: 'on_demand' }],
    [
      'payload.issueId fills issueId, taskId and taskKey',
      {},
      wake({ payload: { issueId: 'I1' } }),
      { issueId: 'I1', taskId: 'I1', taskKey: 'I1', wakeSource: 'on_demand' },
    ],
    [
      'existing values are not overwritten',
      { wakeReason: 'old', issueId: 'I0', taskId: 'T0', taskKey: 'K0', wakeSource: 'timer', wakeTriggerDetail: 'ping' },
      wake({ reason: 'new', payload: { issueId: 'I1', taskKey: 'K1' }, triggerDetail: 'manual' }),
      { wakeReason: 'old', issueId: 'I0', taskId: 'T0', taskKey: 'K0', wakeSource: 'timer', wakeTriggerDetail: 'ping' },
    ],
    [
      'empty and non-string values count as blanks',
      { wakeReason: '', issueId: null, taskId: 7, wakeSource: '' },
      wake({ reason: 'r', payload: { issueId: 'I1' } }),
      { wakeReason: 'r', issueId: 'I1', taskId: 'I1', taskKey: 'I1', wakeSource: 'on_demand' },
    ],
    ['taskKey from ctx.taskId first', { taskId: 'T0', issueId: 'I0' }, wake({ payload: { taskKey: 'PK' } }), { taskId: 'T0', issueId: 'I0', taskKey: 'T0', wakeSource: 'on_demand' }],
    ['taskKey from ctx.issueId', { issueId: 'I0' }, wake({ payload: { taskKey: 'PK' } }), { issueId: 'I0', taskId: undefined, taskKey: 'I0', wakeSource: 'on_demand' }],
    ['taskKey from payload.taskKey before payload.issueId', {}, wake({ payload: { taskKey: 'PK', taskId: 'PT', issueId: 'PI' } }), { issueId: 'PI', taskId: 'PI', taskKey: 'PK', wakeSource: 'on_demand' }],
    ['taskKey from payload.taskId', {}, wake({ payload: { taskId: 'PT', issueId: 'PI' } }), { issueId: 'PI', taskId: 'PI', taskKey: 'PT', wakeSource: 'on_demand' }],
    ['taskKey skips empty strings', { taskKey: '' }, wake({ payload: { taskKey: '', taskId: 'PT' } }), { taskKey: 'PT', wakeSource: 'on_demand' }],
    [
      'payload.commentId becomes the only comment id and drops wakePayload',
      { wakePayload: { rendered: true } },
      wake({ payload: { commentId: 'C1' } }),
      { commentId: 'C1', wakeCommentId: 'C1', wakeCommentIds: ['C1'], wakeSource: 'on_demand' },
    ],
    [
      'no comment ids keeps wakePayload',
      { wakePayload: { rendered: true } },
      wake(),
      { wakePayload: { rendered: true }, wakeSource: 'on_demand' },
    ],
  ])('%s', (_name, ctx, input, expected) => {
    // The caller's payload, copied to ctx.payload, has tests of its own below.
    const { payload: _payload, ...out } = enrichWakeContext(ctx, input);
    // toEqual treats an undefined property as absent, so the table can use either form.
    expect(out).toEqual(expected);
  });

  it.each<[string, WakeContext, string | undefined, string[]]>([
    ['ctx list then payload', { wakeCommentIds: ['A', 'B'] }, 'C', ['A', 'B', 'C']],
    ['payload already in the list is not repeated', { wakeCommentIds: ['A', 'B'] }, 'A', ['A', 'B']],
    ['duplicates in the list collapse', { wakeCommentIds: ['A', 'A', 'B'] }, undefined, ['A', 'B']],
    ['non-strings in the list are ignored', { wakeCommentIds: [1, 'A', null, '', 'B'] }, undefined, ['A', 'B']],
    ['list wins over the single ids', { wakeCommentIds: ['A'], wakeCommentId: 'W', commentId: 'X' }, undefined, ['A']],
    ['empty list falls back to wakeCommentId', { wakeCommentIds: [], wakeCommentId: 'W', commentId: 'X' }, 'P', ['W', 'P']],
    ['non-array list falls back', { wakeCommentIds: 'A', wakeCommentId: 'W' }, undefined, ['W']],
    ['falls back to commentId', { commentId: 'X' }, 'P', ['X', 'P']],
    ['non-string single ids are ignored', { wakeCommentId: 5, commentId: 'X' }, undefined, ['X']],
    ['payload only', {}, 'P', ['P']],
  ])('comment ids: %s', (_name, ctx, commentId, ids) => {
    const out = enrichWakeContext(ctx, wake({ payload: commentId === undefined ? {} : { commentId } }));
    expect(out.wakeCommentIds).toEqual(ids);
    expect(out.commentId).toBe(ids[ids.length - 1]);
    expect(out.wakeCommentId).toBe(ids[ids.length - 1]);
  });

  it('the latest comment id replaces an older commentId (the union rule beats fill-blanks)', () => {
    const out = enrichWakeContext({ commentId: 'OLD' }, wake({ payload: { commentId: 'NEW' } }));
    expect(out).toMatchObject({ commentId: 'NEW', wakeCommentId: 'NEW', wakeCommentIds: ['OLD', 'NEW'] });
  });

  it('never mutates its inputs', () => {
    const ctx = { wakeCommentIds: ['A'], wakePayload: { x: 1 } };
    const payload = { issueId: 'I', commentId: 'B' };
    const ctxCopy = structuredClone(ctx);
    const payloadCopy = structuredClone(payload);
    const out = enrichWakeContext(ctx, wake({ payload, reason: 'r' }));
    expect(ctx).toEqual(ctxCopy);
    expect(payload).toEqual(payloadCopy);
    expect(out).not.toBe(ctx);
    expect(out.wakeCommentIds).toEqual(['A', 'B']);
  });

  it('keeps unrelated keys', () => {
    expect(enrichWakeContext({ custom: { deep: 1 } }, wake())).toEqual({ custom: { deep: 1 }, wakeSource: 'on_demand' });
  });
});

describe('mergeWakeContext', () => {
  it.each<[string, WakeContext | null | undefined, WakeContext | null | undefined, WakeContext]>([
    ['both empty', null, undefined, {}],
    ['next wins per key', { a: 1, b: 1 }, { b: 2, c: 2 }, { a: 1, b: 2, c: 2 }],
    [
      'comment ids accumulate, previous first',
      { wakeCommentIds: ['A', 'B'], commentId: 'B', wakeCommentId: 'B' },
      { wakeCommentIds: ['C'], commentId: 'C', wakeCommentId: 'C' },
      { wakeCommentIds: ['A', 'B', 'C'], commentId: 'C', wakeCommentId: 'C' },
    ],
    [
      'dedupe keeps the first position',
      { wakeCommentIds: ['A', 'B'] },
      { wakeCommentIds: ['B', 'A', 'D'] },
      { wakeCommentIds: ['A', 'B', 'D'], commentId: 'D', wakeCommentId: 'D' },
    ],
    [
      'single ids on either side',
      { commentId: 'A' },
      { wakeCommentId: 'B' },
      { wakeCommentIds: ['A', 'B'], commentId: 'B', wakeCommentId: 'B' },
    ],
    [
      'previous ids survive a next without any',
      { wakeCommentIds: ['A'], commentId: 'A', wakeCommentId: 'A' },
      { wakeReason: 'x' },
      { wakeCommentIds: ['A'], commentId: 'A', wakeCommentId: 'A', wakeReason: 'x' },
    ],
    [
      'next-only ids drop the previous wakePayload',
      { wakePayload: 'old' },
      { commentId: 'C' },
      { wakeCommentIds: ['C'], commentId: 'C', wakeCommentId: 'C' },
    ],
    ['no ids keeps wakePayload', { wakePayload: 'old' }, { wakePayload: 'new' }, { wakePayload: 'new' }],
  ])('%s', (_name, previous, next, expected) => {
    expect(mergeWakeContext(previous, next)).toEqual(expected);
  });

  it('never mutates its inputs', () => {
    const previous = { wakeCommentIds: ['A'], wakePayload: 1 };
    const next = { commentId: 'B' };
    mergeWakeContext(previous, next);
    expect(previous).toEqual({ wakeCommentIds: ['A'], wakePayload: 1 });
    expect(next).toEqual({ commentId: 'B' });
  });
});

describe('the caller payload (ctx.payload)', () => {
  it('reaches the context whole, in its own namespace: it never overwrites the engine keys', () => {
    const payload = { foo: 'bar', taskKey: 'tk', wakeReason: 'forged', wakeSource: 'forged', issueId: 'I1' };
    const out = enrichWakeContext({ retryOfRunId: 'R' }, wake({ reason: 'real', payload }));
    expect(out).toEqual({
      retryOfRunId: 'R',
      wakeReason: 'real',
      wakeSource: 'on_demand',
      issueId: 'I1',
      taskId: 'I1',
      taskKey: 'tk',
      payload,
    });
    expect(out.payload).not.toBe(payload);
  });

  it('is absent without a payload, and an empty one adds nothing', () => {
    expect(enrichWakeContext({}, wake())).not.toHaveProperty('payload');
    expect(enrichWakeContext({}, wake({ payload: {} }))).not.toHaveProperty('payload');
  });

  it('merges with a payload the context already carries (a retry), the request winning per key', () => {
    const out = enrichWakeContext({ payload: { foo: 'bar', retryOfRunId: 'OLD' } }, wake({ payload: { retryOfRunId: 'NEW' } }));
    expect(out.payload).toEqual({ foo: 'bar', retryOfRunId: 'NEW' });
  });

  it("leaves out the deferred wakeup's own context (engine state inside its payload)", () => {
    const out = enrichWakeContext({}, wake({ payload: { foo: 1, issueId: 'I', _deferredWakeContext: { wakeReason: 'x' } } }));
    expect(out.payload).toEqual({ foo: 1, issueId: 'I' });
  });

  it('coalescing merges the payloads key by key, the newer winning', () => {
    const merged = mergeWakeContext({ payload: { a: 1, b: 1 }, wakeReason: 'x' }, { payload: { b: 2, c: 2 } });
    expect(merged).toEqual({ payload: { a: 1, b: 2, c: 2 }, wakeReason: 'x' });
    expect(mergeWakeContext({ payload: { a: 1 } }, { wakeReason: 'y' })).toEqual({ payload: { a: 1 }, wakeReason: 'y' });
  });
});

describe('wakeScopeKey', () => {
  it.each<[WakeContext, string | null]>([
    [{}, null],
    [{ taskKey: 'K', taskId: 'T', issueId: 'I' }, 'K'],
    [{ taskId: 'T', issueId: 'I' }, 'T'],
    [{ issueId: 'I' }, 'I'],
    [{ taskKey: '', taskId: 'T' }, 'T'],
    [{ taskKey: 5, issueId: 'I' }, 'I'],
    [{ taskKey: null, taskId: null, issueId: null }, null],
  ])('%j -> %s', (ctx, key) => {
    expect(wakeScopeKey(ctx)).toBe(key);
  });
});

describe('wakeCommentIdsOf / latestWakeCommentId', () => {
  it.each<[WakeContext, string[], string | null]>([
    [{}, [], null],
    [{ wakeCommentIds: ['A', 'B'], wakeCommentId: 'W', commentId: 'X' }, ['A', 'B'], 'B'],
    [{ wakeCommentIds: [], wakeCommentId: 'W', commentId: 'X' }, ['W'], 'W'],
    [{ wakeCommentId: '', commentId: 'X' }, ['X'], 'X'],
    [{ wakeCommentIds: [3, null] }, [], null],
    [{ commentId: 42 }, [], null],
  ])('%j -> %j, latest %s', (ctx, ids, latest) => {
    expect(wakeCommentIdsOf(ctx)).toEqual(ids);
    expect(latestWakeCommentId(ctx)).toBe(latest);
  });
});

describe('isInteractionWake', () => {
  it('lists the reasons', () => {
    expect(INTERACTION_REASONS).toEqual(['issue_commented', 'issue_reopened_via_comment', 'issue_comment_mentioned']);
    expect(COMMENT_REQUIRED_REASONS).toEqual([
      'issue_assigned',
      'execution_review_requested',
      'execution_approval_requested',
      'execution_changes_requested',
    ]);
  });

  it.each<[string, WakeContext, boolean]>([
    ['issue_commented + commentId', { wakeReason: 'issue_commented', commentId: 'C' }, true],
    ['issue_reopened_via_comment + wakeCommentId', { wakeReason: 'issue_reopened_via_comment', wakeCommentId: 'C' }, true],
    ['issue_comment_mentioned + list', { wakeReason: 'issue_comment_mentioned', wakeCommentIds: ['C'] }, true],
    ['interaction reason without a comment', { wakeReason: 'issue_commented' }, false],
    ['interaction reason with an empty comment id', { wakeReason: 'issue_commented', commentId: '' }, false],
    ['comment with another reason', { wakeReason: 'issue_assigned', commentId: 'C' }, false],
    ['no reason', { commentId: 'C' }, false],
    ['non-string reason', { wakeReason: ['issue_commented'], commentId: 'C' }, false],
  ])('%s -> %s', (_name, ctx, expected) => {
    expect(isInteractionWake(ctx)).toBe(expected);
  });
});

describe('positiveIntOrZero', () => {
  it.each<[unknown, number]>([
    [1, 1],
    [2, 2],
    [0, 0],
    [-1, 0],
    [1.5, 0],
    [Number.NaN, 0],
    [Number.POSITIVE_INFINITY, 0],
    ['2', 0],
    [null, 0],
    [undefined, 0],
    [true, 0],
  ])('%j -> %i', (value, expected) => {
    expect(positiveIntOrZero(value)).toBe(expected);
  });
});
