// The continuation summary's text (docs/engine.md §16), pure.
import { describe, expect, it } from 'vitest';
import {
  CONTINUATION_SUMMARY_CHARS,
  type ContinuationSummaryInput,
  descriptionSection,
  nextActionOf,
  renderContinuationSummary,
} from '../../../engine/rules/continuation-summary.ts';

const input = (over: Partial<ContinuationSummaryInput> = {}, run: Partial<ContinuationSummaryInput['run']> = {}): ContinuationSummaryInput => ({
  issue: { id: 'i1', identifier: 'HB-1', title: 'Week 53', status: 'in_progress', description: null },
  run: { id: 'r1', status: 'succeeded', agentName: 'coder', finishedAt: '2026-01-01T00:00:00.000Z', summary: 'Done a thing', error: null, errorCode: null, nextAction: null, ...run },
  actions: [],
  toolEvents: 0,
  previous: null,
  ...over,
});

describe('descriptionSection', () => {
  const description = '## Objective\nParse week 53.\n\n**Acceptance criteria**\n- parses\n- tested\n\nNotes:\nnone';
  it.each([
    [['objective'], 'Parse week 53.'],
    [['acceptance criteria'], '- parses\n- tested'],
    [['goal'], null],
  ])('%j -> %j', (names, expected) => {
    expect(descriptionSection(description, names)).toBe(expected);
  });
});

describe('the next action', () => {
  it('of a failed run is to deal with its failure', () => {
    const text = renderContinuationSummary(input({}, { status: 'failed', error: 'boom', errorCode: 'adapter_failed', summary: null }));
    expect(nextActionOf(text)).toBe('Find out why run r1 ended failed (adapter_failed): boom, then carry on with the issue.');
    expect(text).toContain('- Error: boom');
  });

  it('is the run\'s own when it stated one, else kept from the previous summary, else to carry on', () => {
    const previous = renderContinuationSummary(input({}, { nextAction: 'Run the leap-year tests' }));
    expect(nextActionOf(previous)).toBe('Run the leap-year tests');
    expect(nextActionOf(renderContinuationSummary(input({ previous })))).toBe('Run the leap-year tests');
    expect(nextActionOf(renderContinuationSummary(input()))).toBe('Carry on with the issue from where the last run left it.');
  });

  it('follows the issue when its status changed since the previous summary', () => {
    const previous = renderContinuationSummary(input({}, { nextAction: 'Run the tests' }));
    const done = renderContinuationSummary(input({ previous, issue: { ...input().issue, status: 'done' } }));
    expect(nextActionOf(done)).toBe('None: the issue is done.');
    const review = renderContinuationSummary(input({ previous, issue: { ...input().issue, status: 'in_review' } }));
    expect(nextActionOf(review)).toBe('Wait for the review, then act on it.');
  });
});

describe('renderContinuationSummary', () => {
  it('lists what the run did, newest 8, and stays within 8,000 characters', () => {
    const actions = Array.from({ length: 20 }, (_, i) => ({ kind: 'comment' as const, body: `comment ${i} ${'x'.repeat(1_000)}` }));
    const text = renderContinuationSummary(
      input({ actions: [...actions, { kind: 'document', key: 'plan' }], toolEvents: 3, issue: { ...input().issue, description: `## Objective\n${'o'.repeat(5_000)}` } }),
    );
    expect(text.length).toBeLessThanOrEqual(CONTINUATION_SUMMARY_CHARS);
    expect(text).toContain('- Wrote the document "plan"');
    expect(text).toContain('- 3 tool events');
    expect(text).not.toContain('comment 12 ');
    expect(text).toContain('comment 13 ');
    expect(nextActionOf(text)).not.toBeNull();
  });
});
