import { describe, expect, it } from 'vitest';
import type { LivenessState } from '../../../db/enums.ts';
import {
  classifyActionability,
  classifyLiveness,
  extractNextAction,
  isNoiseLine,
  isPlanExempt,
  isPlanningOnly,
  type Actionability,
  type LivenessEvidence,
  type LivenessInput,
} from '../../../engine/rules/liveness.ts';

const AT = new Date('2026-01-02T03:04:05.000Z');
const noEvidence: LivenessEvidence = {
  comments: 0,
  documentRevisions: 0,
  planRevisions: 0,
  workProducts: 0,
  workspaceOperations: 0,
  activity: 0,
  toolEvents: 0,
  latestEvidenceAt: null,
};
const ev = (e: Partial<LivenessEvidence>): LivenessEvidence => ({ ...noEvidence, latestEvidenceAt: AT, ...e });
const todo = { status: 'todo' as const, title: 'Fix the login bug', description: 'The login form crashes.' };

function input(over: Partial<LivenessInput> = {}): LivenessInput {
  return {
    runStatus: 'succeeded',
    errorCode: null,
    error: null,
    issue: todo,
    resultJson: null,
    runComments: [],
    stdoutExcerpt: null,
    stderrExcerpt: null,
    evidence: noEvidence,
    ...over,
  };
}

describe('isNoiseLine', () => {
  it.each<[string, boolean]>([
    ['command: npm test', true],
    ['Tool: Read file.ts', true],
    ['stdout: hello', true],
    ['STDERR: warning', true],
    ['tool_result: ok', true],
    ['exit code: 0', true],
    ['$ make build', true],
    ['   $ echo hi', true],
    ['[heartbeat] adapter started', true],
    ['{"type":"assistant","message":{}}', true],
    ['{"tool":"bash","input":"ls"}', true],
    ['{"result":"done"}', false],
    ['{not json}', false],
    ['rg TODO src', true],
    ['sed -n 1,5p file', true],
    ['cat README.md', true],
    ['ls', true],
    ['git status', true],
    ['pnpm test', true],
    ['npm run build', true],
    ['yarn lint', true],
    ['curl -s http://x', true],
    ['node script.js', true],
    ['python3 -m pytest', true],
    ['$ git diff', true],
    ['Git is unreachable from the sandbox', false],
    ['nodes are healthy', false],
    ['I fixed the bug', false],
    ['Output: all good', false],
    ['', false],
  ])('%j -> %s', (line, expected) => {
    expect(isNoiseLine(line)).toBe(expected);
  });
});

describe('classifyActionability', () => {
  it.each<[string, string, Actionability]>([
    ['empty', '', 'unknown'],
    ['whitespace', '  \n ', 'unknown'],
    ['negation with work verb', 'Not blocked. I will fix the test.', 'runnable'],
    ['negation wins over "blocked by"', 'Unblocked by the deploy; will verify next', 'runnable'],
    ['negation without work verb', 'No blockers.', 'unknown'],
    ['negation "isn\'t blocked" with approval phrase', "It isn't blocked but needs approval", 'unknown'],
    ['needs approval', 'This change needs approval before merge', 'approval_required'],
    ['awaiting approval', 'Awaiting approval from the owner.', 'approval_required'],
    ['approval required', 'Approval required to touch prod', 'approval_required'],
    ['requires approval', 'It requires approval.', 'approval_required'],
    ['waiting for approval', 'Waiting for approval', 'approval_required'],
    ['approval before waiting on', 'Waiting on approval', 'approval_required'],
    ["can't proceed", "I can't proceed without the repo", 'blocked_external'],
    ['curly apostrophe', 'I can\u2019t proceed', 'blocked_external'],
    ['cannot proceed', 'Cannot proceed.', 'blocked_external'],
    ['unable to proceed', 'Unable to proceed', 'blocked_external'],
    ['waiting on', 'Waiting on the vendor to respond', 'blocked_external'],
    ['blocked by', 'Blocked by missing infra', 'blocked_external'],
    ['blocked on', 'blocked on another team', 'blocked_external'],
    ['needs access', 'Needs GitHub access to continue', 'blocked_external'],
    ['requires credentials', 'Requires AWS credentials', 'blocked_external'],
    ['missing api key', 'Missing the OpenAI API key', 'blocked_external'],
    ['needs clarification', 'Needs clarification on scope', 'blocked_external'],
    ['requires user input', 'Requires user input', 'blocked_external'],
    ['needs permissions', 'needs write permissions', 'blocked_external'],
    ['external beats work verb', 'I will fix it once I get the token; needs a token', 'blocked_external'],
    ['"need to" is own work', 'I need to fix the input parser', 'runnable'],
    ['manager review', 'Ready for manager review', 'manager_review'],
    ['security review', 'This needs a security review first', 'manager_review'],
    ['manual review', 'Needs manual review', 'manager_review'],
    ['escalate', 'Escalating to the lead', 'manager_review'],
    ['production deploy', 'Waiting for a production deploy window', 'manager_review'],
    ['rotate secrets', 'Someone must rotate secrets', 'manager_review'],
    ['needs budget approval', 'This needs budget approval', 'manager_review'],
    ['cost approval pending is an approval wait (approval first)', 'Cost approval pending from finance', 'approval_required'],
    ['cost approval', 'Escalate for cost approval', 'manager_review'],
    ['needs cost approval', 'Needs cost approval', 'manager_review'],
    ['manager review beats work verb', 'I will fix it after manager review', 'manager_review'],
    ['run tests', 'Run the unit tests', 'runnable'],
    ['execute build', 'Execute the build', 'runnable'],
    ['inspect', 'I will inspect the failing test next', 'runnable'],
    ['investigate', 'Investigate flaky CI', 'runnable'],
    ['implement', 'Implement pagination', 'runnable'],
    ['bare "run" is not a work verb', 'The run ended.', 'unknown'],
    ['no signal', 'Hello there.', 'unknown'],
  ])('%s', (_name, text, expected) => {
    expect(classifyActionability(text)).toBe(expected);
  });
});

describe('isPlanningOnly', () => {
  it.each<[string, boolean]>([
    ['I will inspect the failing test next', true],
    ["I'll check the logs", true],
    ['I\u2019ll check the logs', true],
    ['Let me check the config.', true],
    ['I am going to fix the parser', true],
    ["I'm going to run the suite", true],
    ["Next I'll update the docs", true],
    ['I plan to refactor the module', true],
    ['I will now carefully review', true],
    ['I will first review the diff', true],
    ['We will implement it tomorrow', true],
    ['Next steps: ship it', true],
    ['plan: none', true],
    ['**Next:** tidy up', true],
    ['- Next action: rerun', true],
    ['Next steps:', true],
    ['Planning: later', false],
    ['I fixed the parser', false],
    ['I will not', false],
    ['', false],
  ])('%j -> %s', (text, expected) => {
    expect(isPlanningOnly(text)).toBe(expected);
  });
});

describe('extractNextAction', () => {
  it.each<[string, string[], string | null]>([
    ['nothing', [], null],
    ['no plan', ['All done.', 'Fixed it.'], null],
    ['planning sentence', ['I will inspect the failing test next'], 'I will inspect the failing test next'],
    ['sentence within text', ['Tests fail. I will check the config. Then done.'], 'I will check the config.'],
    ['labelled line content', ['Summary\nNext steps: run the integration tests'], 'run the integration tests'],
    ['label wins within a text', ["I'll look around.\nNext: fix the parser"], 'fix the parser'],
    ['empty label takes the following line', ['Next steps:\n- Update the schema\n- Deploy'], 'Update the schema'],
    ['empty label skips noise', ['Plan:\n$ git status\n1. Verify the fix'], 'Verify the fix'],
    ['markdown label', ['**Next action:** rerun CI'], 'rerun CI'],
    ['first text wins', ['Let me check X', 'Next: Y'], 'Let me check X'],
    ['falls through texts', ['Nothing here', '', 'Next: Y'], 'Y'],
    ['empty label at end falls back to sentence', ['I will verify it.\nNext steps:'], 'I will verify it.'],
  ])('%s', (_name, texts, expected) => {
    expect(extractNextAction(texts)).toBe(expected);
  });

  it('cuts to 500 chars', () => {
    const out = extractNextAction([`Next: ${'x'.repeat(600)}`]);
    expect(out).toHaveLength(500);
    expect(out?.endsWith('...')).toBe(true);
  });
});

describe('isPlanExempt', () => {
  const issue = (title: string, description: string | null = null) => ({ status: 'todo' as const, title, description });
  it.each<[string, LivenessInput['issue'], Partial<LivenessEvidence>, boolean]>([
    ['no issue, no plan revision', null, {}, false],
    ['no issue, plan revision', null, { planRevisions: 1 }, true],
    ['plain title', issue('Fix the login bug'), {}, false],
    ['plan in title', issue('Plan the Q3 migration'), {}, true],
    ['planning', issue('Sprint planning'), {}, true],
    ['analysis', issue('Churn analysis'), {}, true],
    ['investigation', issue('Outage investigation'), {}, true],
    ['research', issue('Research vector DBs'), {}, true],
    ['report', issue('Weekly report'), {}, true],
    ['proposal', issue('Pricing proposal'), {}, true],
    ['design doc', issue('Design doc for auth'), {}, true],
    ['write-up', issue('Incident write-up'), {}, true],
    ['description asks to write a report', issue('Q3', 'Please write a short report on churn.'), {}, true],
    ['description asks to draft a proposal', issue('Q3', 'Draft the pricing proposal'), {}, true],
    ['description asks to update the plan', issue('Q3', 'Update the rollout plan'), {}, true],
    ['preposition ends the phrase', issue('Tests', 'Write tests for the report generator'), {}, false],
    ['plan revision on plain issue', issue('Fix bug'), { planRevisions: 2 }, true],
  ])('%s', (_name, iss, e, expected) => {
    expect(isPlanExempt(iss, { ...noEvidence, ...e })).toBe(expected);
  });
});

describe('classifyLiveness rules (first match wins)', () => {
  type Row = [string, Partial<LivenessInput>, LivenessState, string, Actionability, string | null, Date | null];
  it.each<Row>([
    ['1 failed with code', { runStatus: 'failed', errorCode: 'process_lost', evidence: ev({ comments: 3 }) }, 'failed', 'Run ended with failed (process_lost)', 'unknown', null, null],
    ['1 timed out without code', { runStatus: 'timed_out' }, 'failed', 'Run ended with timed_out', 'unknown', null, null],
    ['1 cancelled wins over done issue', { runStatus: 'cancelled', errorCode: 'cancelled', issue: { ...todo, status: 'done' } }, 'failed', 'Run ended with cancelled (cancelled)', 'unknown', null, null],
    ['2 issue done', { issue: { ...todo, status: 'done' }, evidence: ev({ comments: 1 }) }, 'completed', 'Issue is done', 'unknown', null, AT],
    ['2 issue cancelled, no evidence', { issue: { ...todo, status: 'cancelled' } }, 'completed', 'Issue is cancelled', 'unknown', null, null],
    ['3 issue blocked', { issue: { ...todo, status: 'blocked' }, evidence: ev({ activity: 1 }) }, 'blocked', 'Issue status is blocked', 'unknown', null, AT],
    ['3 blocked_external text', { resultJson: { result: 'Blocked by missing credentials.\nNext: ask ops for the key' } }, 'blocked', 'Run output declared a blocker that needs someone outside the run', 'blocked_external', 'ask ops for the key', null],
    ['3 approval text beats evidence', { runComments: ['Awaiting approval to merge'], evidence: ev({ comments: 1 }) }, 'blocked', 'Run output says approval is required to continue', 'approval_required', null, AT],
    ['4 nothing at all', {}, 'empty_response', 'Run produced no useful output and no concrete action evidence', 'unknown', null, null],
    ['4 only noise', { stdoutExcerpt: '{"type":"system"}\n$ ls\ngit status\n\n', resultJson: { stdout: 'command: rg x' } }, 'empty_response', 'Run produced no useful output and no concrete action evidence', 'unknown', null, null],
    ['4 no issue, nothing', { issue: null }, 'empty_response', 'Run produced no useful output and no concrete action evidence', 'unknown', null, null],
    ['5 concrete counts', { evidence: ev({ comments: 2, documentRevisions: 1, toolEvents: 3, workspaceOperations: 9 }) }, 'advanced', 'Run produced concrete action evidence: 2 comments, 1 document revision, 3 tool events', 'unknown', null, AT],
    ['5 every count', { evidence: ev({ comments: 1, documentRevisions: 2, workProducts: 1, activity: 4, toolEvents: 1 }) }, 'advanced', 'Run produced concrete action evidence: 1 comment, 2 document revisions, 1 work product, 4 activity events, 1 tool event', 'unknown', null, AT],
    ['5 plan revision', { evidence: ev({ documentRevisions: 1, planRevisions: 1 }) }, 'advanced', 'Run produced concrete action evidence: 1 document revision', 'unknown', null, AT],
    ['5 concrete with plan text keeps nextAction', { runComments: ['Done.\nNext: open the PR'], evidence: ev({ comments: 1 }) }, 'advanced', 'Run produced concrete action evidence: 1 comment', 'unknown', 'open the PR', AT],
    ['5 workspace ops alone are not concrete', { evidence: ev({ workspaceOperations: 4 }) }, 'empty_response', 'Run produced no useful output and no concrete action evidence', 'unknown', null, null],
    ['6 plan-exempt title with text', { issue: { ...todo, title: 'Migration plan' }, resultJson: { result: 'I will check the schema first.' } }, 'advanced', 'Run produced useful output for an issue whose deliverable is a plan or write-up', 'runnable', 'I will check the schema first.', null],
    ['7 plan_only (spec example)', { resultJson: { result: 'I will inspect the failing test next' } }, 'plan_only', 'Run described runnable future work without concrete action evidence', 'runnable', 'I will inspect the failing test next', null],
    ['7 plan_only from stdout', { stdoutExcerpt: '$ npm test\nI will inspect the failing test next\n' }, 'plan_only', 'Run described runnable future work without concrete action evidence', 'runnable', 'I will inspect the failing test next', null],
    ['7 explicit nextAction field', { resultJson: { nextAction: 'Rerun the build' } }, 'plan_only', 'Run described runnable future work without concrete action evidence', 'runnable', 'Rerun the build', null],
    ['7 manager review plan', { resultJson: { summary: 'Next: hand over for security review' } }, 'needs_followup', 'Run described future work that needs manager review', 'manager_review', 'hand over for security review', null],
    ['7 unclear plan', { resultJson: { summary: 'Plan: think about it' } }, 'needs_followup', 'Run described future work without a clear runnable next step', 'unknown', 'think about it', null],
    ['7 bare label is still planning', { resultJson: { summary: 'Next steps:' } }, 'needs_followup', 'Run described future work without a clear runnable next step', 'unknown', null, null],
    ['8 useful text only', { resultJson: { result: 'Looked around; nothing to report.' } }, 'needs_followup', 'Run produced useful output but no concrete action evidence', 'unknown', null, null],
  ])('%s', (_name, over, state, reason, actionability, nextAction, lastUsefulActionAt) => {
    expect(classifyLiveness(input(over))).toEqual({ state, reason, actionability, nextAction, lastUsefulActionAt });
  });
});

describe('classifyLiveness text sources', () => {
  it('uses high-signal text for actionability and ignores raw when there is any', () => {
    const out = classifyLiveness(input({ resultJson: { result: 'Hello.' }, stderrExcerpt: 'Blocked by VPN' }));
    expect(out.actionability).toBe('unknown');
    expect(out.state).toBe('needs_followup');
  });

  it('falls back to raw text (minus noise) for actionability', () => {
    const out = classifyLiveness(input({ stderrExcerpt: 'stderr: noise\nBlocked by VPN' }));
    expect(out).toMatchObject({ state: 'blocked', actionability: 'blocked_external' });
  });

  it('searches run comments before resultJson.nextAction, result, summary and raw', () => {
    const out = classifyLiveness(
      input({
        runComments: ['Progress noted.', 'Let me verify the fix'],
        resultJson: { nextAction: 'Next: A', result: 'Next: B', summary: 'Next: C' },
        stdoutExcerpt: 'Next: D',
      }),
    );
    expect(out.nextAction).toBe('Let me verify the fix');
  });

  it.each<[string, Record<string, unknown>, string | null, string]>([
    ['nextAction field before result', { nextAction: 'Next: A', result: 'Next: B' }, null, 'A'],
    ['result before summary', { result: 'Next: B', summary: 'Next: C' }, null, 'B'],
    ['summary before raw', { summary: 'Next: C' }, 'Next: D', 'C'],
    ['raw last', { result: 'ok' }, 'Next: D', 'D'],
  ])('%s', (_name, resultJson, stdout, expected) => {
    expect(classifyLiveness(input({ resultJson, stdoutExcerpt: stdout })).nextAction).toBe(expected);
  });

  it('cuts reason and nextAction to 500 chars', () => {
    const out = classifyLiveness(input({ runStatus: 'failed', errorCode: 'x'.repeat(600), resultJson: { result: `Next: ${'y'.repeat(600)}` } }));
    expect(out.reason).toHaveLength(500);
    expect(out.nextAction).toHaveLength(500);
  });

  it('lastUsefulActionAt is null for non-concrete advanced (plan-exempt)', () => {
    const out = classifyLiveness(input({ issue: { ...todo, title: 'Research report' }, resultJson: { result: 'Findings' }, evidence: { ...noEvidence, latestEvidenceAt: AT } }));
    expect(out).toMatchObject({ state: 'advanced', lastUsefulActionAt: null });
  });
});
