// The rendered wake and task text (docs/engine.md §15), pure.
import { describe, expect, it } from 'vitest';
import { mergeWakeContext } from '../../../engine/rules/wake-context.ts';
import {
  commentsToRead,
  fenced,
  renderTaskMarkdown,
  renderWake,
  TASK_GUARD,
  type WakeCommentRow,
  type WakeIssue,
} from '../../../engine/rules/wake-render.ts';

const issue: WakeIssue = { id: 'i1', identifier: 'HB-7', title: 'Say "hi"', description: 'Do it', status: 'in_progress', priority: 'high' };
const row = (id: string, body: string, over: Partial<WakeCommentRow> = {}): WakeCommentRow => ({
  id,
  issueId: 'i1',
  body: body.slice(0, 4_001),
  bodyChars: body.length,
  createdAt: '2026-01-01T00:00:00.000Z',
  authorAgentId: null,
  authorUserId: 'ana',
  ...over,
});
const render = (context: Record<string, unknown>, comments: WakeCommentRow[] = [], summary: { body: string } | null = null) =>
  renderWake({
    context,
    issue,
    blockers: [],
    comments,
    summary: summary ? { key: 'continuation-summary', title: 'Continuation summary', updatedAt: '2026-01-01T00:00:00.000Z', ...summary } : null,
  });

describe('fenced', () => {
  it.each([
    ['plain text', '```'],
    ['a `code` span', '```'],
    ['a fence:\n```\nx\n```', '````'],
    ['five: `````', '``````'],
  ])('%j is fenced with %s', (body, fence) => {
    expect(fenced(body)).toBe(`${fence}\n${body}\n${fence}`);
  });
});

describe('renderWake', () => {
  it('names the latest 8 comment ids to read, in wake order', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `c${i}`);
    expect(commentsToRead({ wakeCommentIds: ids })).toEqual(ids.slice(2));
    expect(commentsToRead({ commentId: 'c' })).toEqual(['c']);
  });

  it('shows comments in wake order with their authors; nothing cut, nothing to fetch', () => {
    const wake = render({ wakeReason: 'issue_commented', wakeCommentIds: ['a', 'b'] }, [
      row('b', 'second', { authorAgentId: 'agent-1', authorUserId: null }),
      row('a', 'first'),
    ]);
    expect(wake.comments.map((c) => [c.id, c.body, c.author])).toEqual([
      ['a', 'first', { type: 'user', id: 'ana' }],
      ['b', 'second', { type: 'agent', id: 'agent-1' }],
    ]);
    expect(wake).toMatchObject({ reason: 'issue_commented', latestCommentId: 'b', truncated: false, fallbackFetchNeeded: false, continuation: null });
    expect(wake.commentWindow).toEqual({ requestedCount: 2, includedCount: 2, missingCount: 0 });
  });

  it('a comment over 4,000 characters is cut; the 12,000 in all go to the newest first', () => {
    const bodies = ['a', 'b', 'c', 'd'].map((id) => row(id, id.repeat(5_000)));
    const wake = render({ wakeCommentIds: ['a', 'b', 'c', 'd'] }, bodies);
    // d, c and b take 4,000 each: nothing is left for a.
    expect(wake.comments.map((c) => [c.id, c.body.length, c.bodyTruncated])).toEqual([
      ['b', 4_000, true],
      ['c', 4_000, true],
      ['d', 4_000, true],
    ]);
    expect(wake.commentWindow).toEqual({ requestedCount: 4, includedCount: 3, missingCount: 0 });
    expect(wake).toMatchObject({ truncated: true, fallbackFetchNeeded: true });
  });

  it('a comment that is gone is missing: a fetch is needed though nothing was cut', () => {
    const wake = render({ wakeCommentIds: ['a', 'gone'] }, [row('a', 'here')]);
    expect(wake.commentWindow).toEqual({ requestedCount: 2, includedCount: 1, missingCount: 1 });
    expect(wake).toMatchObject({ truncated: false, fallbackFetchNeeded: true, latestCommentId: 'gone' });
  });

  it('carries the liveness continuation and the summary, its body cut at 4,000', () => {
    const wake = render(
      {
        livenessContinuationAttempt: 2,
        livenessContinuationMaxAttempts: 2,
        livenessContinuationSourceRunId: 'r0',
        livenessContinuationState: 'plan_only',
        livenessContinuationReason: 'Only a plan',
        livenessContinuationInstruction: 'Run the tests',
      },
      [],
      { body: 's'.repeat(5_000) },
    );
    expect(wake.continuation).toEqual({ attempt: 2, maxAttempts: 2, sourceRunId: 'r0', state: 'plan_only', reason: 'Only a plan', instruction: 'Run the tests' });
    expect(wake.continuationSummary).toMatchObject({ key: 'continuation-summary', bodyTruncated: true });
    expect(wake.continuationSummary!.body).toHaveLength(4_000);
    expect(wake.truncated).toBe(true);
  });
});

describe('renderTaskMarkdown', () => {
  it('starts with the context line and the guard; JSON-quoted issue and title; ends with the assignment line', () => {
    const wake = render({ wakeReason: 'issue_assigned' });
    const text = renderTaskMarkdown(wake, issue);
    const lines = text.split('\n');
    expect(lines[0]).toBe('# Heartbeat task context');
    expect(lines[2]).toBe(TASK_GUARD);
    expect(text).toContain('- Issue: "HB-7"\n- Title: "Say \\"hi\\""');
    expect(text).toContain('## Description\n\n```\nDo it\n```');
    expect(text).not.toContain('## Latest comment');
    expect(lines.at(-1)).toBe('Use this task context as the current assignment.');
  });
});

describe('coalescing', () => {
  it('drops what an earlier rendering told: the claim renders it again', () => {
    const merged = mergeWakeContext({ issueId: 'i1', wake: { reason: 'x' }, taskMarkdown: 'old', continuationSummary: null }, { wakeReason: 'issue_commented' });
    expect(merged).not.toHaveProperty('wake');
    expect(merged).not.toHaveProperty('taskMarkdown');
    expect(merged).not.toHaveProperty('continuationSummary');
    expect(merged).toMatchObject({ issueId: 'i1', wakeReason: 'issue_commented' });
  });
});
