import { describe, expect, it } from 'vitest';
import { escalationComment, failureSummary, latestFailureLine } from '../../../engine/rules/escalation-text.ts';

describe('failureSummary', () => {
  it.each<[string, string | null, string | null]>([
    ['null', null, null],
    ['empty', '', null],
    ['blank lines', ' \n\t\n', null],
    ['first non-empty line', '\n  run failed before issue advanced  \nstack...', 'run failed before issue advanced'],
    ['whole JSON object', '{"type":"error","message":"Overloaded"}', 'Overloaded'],
    ['JSON embedded in text', 'upstream 529: {"error":{"type":"overloaded_error","message":"Overloaded, try later"}}', 'Overloaded, try later'],
    ['JSON on a later line', 'Adapter failed\n{"message":"rate limited"}', 'rate limited'],
    ['escaped characters', '{"message":"bad \\"quote\\" and \\u00e9"}', 'bad "quote" and \u00e9'],
    ['cut-off JSON still yields the message', 'err {"message":"boom","code":', 'boom'],
    ['empty message falls back to first line', 'first line\n{"message":""}', 'first line'],
    ['message key must be a string', '{"message": 42}', '{"message": 42}'],
  ])('%s', (_name, error, expected) => {
    expect(failureSummary(error)).toBe(expected);
  });

  it('cuts to 240 chars', () => {
    const out = failureSummary('x'.repeat(300));
    expect(out).toHaveLength(240);
    expect(out?.endsWith('...')).toBe(true);
  });
});

describe('latestFailureLine', () => {
  it.each<[string | null, string | null, string]>([
    ['process_lost', 'run failed before issue advanced', ' Latest retry failure: `process_lost` - run failed before issue advanced.'],
    ['process_lost', null, ' Latest retry failure: `process_lost`.'],
    [null, 'run failed before issue advanced', ' Latest retry failure: run failed before issue advanced.'],
    [null, null, ''],
    ['  ', '', ''],
    ['timeout', 'Timed out.', ' Latest retry failure: `timeout` - Timed out.'],
  ])('%j / %j', (code, summary, expected) => {
    expect(latestFailureLine(code, summary)).toBe(expected);
  });

  it('matches the reference wording', () => {
    expect(latestFailureLine('process_lost', 'run failed before issue advanced')).toContain(
      'Latest retry failure: `process_lost` - run failed before issue advanced.',
    );
  });
});

describe('escalationComment', () => {
  type Input = Parameters<typeof escalationComment>[0];
  it.each<[string, Input, string]>([
    [
      'dispatch during reconciliation',
      { kind: 'dispatch', during: 'reconciliation', code: 'process_lost', summary: 'run failed before issue advanced' },
      'Heartbeat already retried dispatch for this issue once and it still has no live execution path, so it is moved to `blocked` for a person to look at. Latest retry failure: `process_lost` - run failed before issue advanced.',
    ],
    [
      'continuation during reconciliation, code only',
      { kind: 'continuation', during: 'reconciliation', code: 'timeout', summary: null },
      'Heartbeat already retried continuation for this issue once and it still has no live execution path, so it is moved to `blocked` for a person to look at. Latest retry failure: `timeout`.',
    ],
    [
      'dispatch during terminal run recovery, summary only',
      { kind: 'dispatch', during: 'terminal_run_recovery', code: null, summary: 'boom' },
      'Heartbeat already retried dispatch for this issue once and it still has no live execution path during terminal run recovery, so it is moved to `blocked` for a person to look at. Latest retry failure: boom.',
    ],
    [
      'continuation during terminal run recovery, no failure',
      { kind: 'continuation', during: 'terminal_run_recovery', code: null, summary: null },
      'Heartbeat already retried continuation for this issue once and it still has no live execution path during terminal run recovery, so it is moved to `blocked` for a person to look at.',
    ],
  ])('%s', (_name, input, expected) => {
    const text = escalationComment(input);
    expect(text).toBe(expected);
    expect(text).toContain(input.kind === 'dispatch' ? 'retried dispatch' : 'retried continuation');
    expect(text).toContain('no live execution path');
    expect(text).toContain('moved to `blocked`');
    expect(text.includes('during terminal run recovery')).toBe(input.during === 'terminal_run_recovery');
    expect(text.endsWith(latestFailureLine(input.code, input.summary))).toBe(true);
  });
});
