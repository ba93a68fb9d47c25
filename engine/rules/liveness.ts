// Liveness classification of a finished run (spec §6.7): did the run move its issue forward, only plan,
// say nothing, or hit a blocker? Pure: the caller gathers the evidence counts and texts.
import type { IssueStatus, LivenessState, RunStatus } from '../../db/enums.ts';
import { truncateText } from './bounding.ts';

export type Actionability = 'runnable' | 'manager_review' | 'blocked_external' | 'approval_required' | 'unknown';

export interface LivenessEvidence {
  comments: number;
  documentRevisions: number;
  planRevisions: number;
  workProducts: number;
  workspaceOperations: number;
  activity: number;
  toolEvents: number;
  latestEvidenceAt: Date | null;
}

export interface LivenessInput {
  runStatus: RunStatus;
  errorCode: string | null;
  error: string | null;
  issue: { status: IssueStatus; title: string; description: string | null } | null;
  resultJson: Record<string, unknown> | null;
  runComments: string[];
  stdoutExcerpt: string | null;
  stderrExcerpt: string | null;
  evidence: LivenessEvidence;
}

export interface LivenessResult {
  state: LivenessState;
  reason: string;
  nextAction: string | null;
  lastUsefulActionAt: Date | null;
  actionability: Actionability;
}

/** §3: liveness reason and nextAction are cut to 500 chars. */
const TEXT_MAX = 500;

// ---- noise -----------------------------------------------------------------------------------------

// Echoed commands and tool plumbing, not something the agent said. `[heartbeat]` lines are the engine's own.
const NOISE_PREFIX =
  /^(?:(?:command|cmd|exec|shell|bash|tool|tool_use|tool_call|tool_result|stdout|stderr|exit[ _]code|cwd)\s*:|\$\s|\[heartbeat\])/i;
// Case-sensitive: shells are lowercase, so a sentence starting "Git ..." is kept.
const SHELL_COMMAND = /^(?:\$\s*)?(?:rg|sed|cat|ls|git|pnpm|npm|npx|yarn|curl|node|python3?)(?:\s|$)/;

export function isNoiseLine(line: string): boolean {
  const text = line.trim();
  if (text === '') return false;
  if (NOISE_PREFIX.test(text) || SHELL_COMMAND.test(text)) return true;
  return isJsonToolLine(text);
}

function isJsonToolLine(text: string): boolean {
  if (!text.startsWith('{') || !text.endsWith('}')) return false;
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && ('type' in parsed || 'tool' in parsed);
  } catch {
    return false;
  }
}

/** Non-empty, non-noise lines, trimmed. */
function meaningfulLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !isNoiseLine(line));
}

// ---- actionability ---------------------------------------------------------------------------------

const BASE_VERBS =
  'inspect|check|review|investigate|implement|fix|update|create|add|write|verify|refactor|debug|test|deploy|' +
  'edit|patch|remove|delete|rename|migrate|install|configure|commit|push|merge|retry|resolve|analy[sz]e|' +
  'reproduce|examine|explore|draft|prepare|look\\s+into|clean\\s+up';
// Bare "run"/"build" are too common as nouns ("the run ended"), so they need an object.
const RUN_OBJECT =
  '(?:re-?run|run|execute)\\s+(?:(?:the|all|a)\\s+)?(?:[\\w-]+\\s+)?(?:tests?|test\\s+suite|suite|builds?|specs?|lint(?:er)?|checks?)';
const WORK_VERB = new RegExp(`\\b(?:${RUN_OBJECT}|${BASE_VERBS})\\b`);

const NEGATION = /\bnot\s+blocked\b|n't\s+blocked\b|\bno\s+longer\s+blocked\b|\bno\s+blockers?\b|\bunblocked\b/;
// Adjacent only: "needs budget approval" is a manager decision, not a generic approval wait.
const APPROVAL =
  /\b(?:needs?|requires?|awaiting|waiting\s+(?:for|on)|pending)\s+approval\b|\bapproval\s+(?:is\s+)?(?:required|needed|pending)\b/;
// "needs/requires/missing" + up to two words + a thing only someone outside can provide; "need to ..."
// is the agent's own work ("need to fix the input parser").
const EXTERNAL_NEED =
  /\b(?:needs?|requires?|missing)\s+(?!to\b)(?:(?!(?:to|for|of|in|on|and)\b)[\w'-]+\s+){0,2}(?:access|credentials?|secrets?|api\s+keys?|tokens?|passwords?|logins?|accounts?|permissions?|inputs?|clarification)\b/;
const BLOCKED_EXTERNAL = [
  /\b(?:can't|cannot|can\s+not|unable\s+to)\s+proceed\b/,
  /\bwaiting\s+on\b/,
  /\bblocked\s+(?:by|on)\b/,
  EXTERNAL_NEED,
];
const MANAGER_REVIEW = [
  /\b(?:manager|security|manual)\s+review\b/,
  /\bescalat(?:e|es|ed|ing|ion)\b/,
  /\bproduction\s+deploy(?:ment)?\b|\bdeploy(?:ing)?\s+to\s+production\b/,
  /\brotat(?:e|ing)\s+(?:the\s+)?secrets?\b/,
  /\b(?:budget|cost)\s+approval\b/,
];

const normalize = (text: string) => text.toLowerCase().replace(/[\u2018\u2019]/g, "'");

/**
 * Who can act next, from the run's own words. First match wins: negation, approval, external blocker,
 * manager review, work verb, else unknown.
 */
export function classifyActionability(text: string): Actionability {
  const t = normalize(text).trim();
  if (t === '') return 'unknown';
  // Before everything else: "not blocked by X" must not read as "blocked by".
  if (NEGATION.test(t)) return WORK_VERB.test(t) ? 'runnable' : 'unknown';
  if (APPROVAL.test(t)) return 'approval_required';
  if (BLOCKED_EXTERNAL.some((re) => re.test(t))) return 'blocked_external';
  if (MANAGER_REVIEW.some((re) => re.test(t))) return 'manager_review';
  if (WORK_VERB.test(t)) return 'runnable';
  return 'unknown';
}

// ---- planning --------------------------------------------------------------------------------------

const INTENT_VERBS = `${BASE_VERBS}|re-?run|run|execute|build|look|open|read|search|continue|finish|start|document`;
const INTENT = new RegExp(
  "\\b(?:i\\s+will|i'll|i\\s+shall|let\\s+me|let's|i\\s+am\\s+going\\s+to|i'm\\s+going\\s+to|i\\s+plan\\s+to|" +
    "i(?:'m|\\s+am)\\s+planning\\s+to|i\\s+intend\\s+to|we\\s+will|we'll|we(?:'re|\\s+are)\\s+going\\s+to)\\s+" +
    '(?:(?:now|first|then|next|also|just|\\w+ly|go\\s+ahead\\s+and|try\\s+to|continue\\s+to)\\s+){0,2}' +
    `(?:${INTENT_VERBS})\\b`,
);
// Markdown decorations are allowed around the label: "**Next steps:**", "## Plan:", "- Next:".
const LABEL = /^[\s>#*_-]*(?:next\s+steps?|next\s+actions?|next|plan)\s*[*_]*\s*:\s*[*_]*\s*(.*?)\s*[*_]*$/i;
const LIST_MARKER = /^(?:[-*+\u2022]|\d+[.)]|\[[ x]\])\s+/i;

export function isPlanningOnly(text: string): boolean {
  if (meaningfulLines(text).some((line) => LABEL.test(line))) return true;
  return INTENT.test(normalize(text));
}

/** The first next step stated in `texts` (searched in order): a labelled line, else a planning sentence. */
export function extractNextAction(texts: string[]): string | null {
  for (const text of texts) {
    const found = labelledAction(text) ?? planningSentence(text);
    if (found) return truncateText(found, TEXT_MAX);
  }
  return null;
}

function labelledAction(text: string): string | null {
  const lines = meaningfulLines(text);
  for (let i = 0; i < lines.length; i++) {
    const match = LABEL.exec(lines[i]);
    if (!match) continue;
    if (match[1] !== '') return match[1];
    // "Next steps:" on its own line: the step is the next line, usually a list item.
    const following = lines[i + 1]?.replace(LIST_MARKER, '').trim();
    if (following) return following;
  }
  return null;
}

function planningSentence(text: string): string | null {
  for (const line of meaningfulLines(text)) {
    for (const sentence of line.replace(LIST_MARKER, '').split(/(?<=[.!?])\s+/)) {
      if (INTENT.test(normalize(sentence))) return sentence.trim();
    }
  }
  return null;
}

const PLAN_TITLE =
  /\b(?:plans?|planning|analysis|analyses|investigations?|research|reports?|proposals?|design\s+doc(?:ument)?s?|write-?ups?|write\s+up)\b/i;
// "write/draft/update" + up to three filler words + the document; a preposition ends the phrase, so
// "write tests for the report generator" does not count.
const PLAN_DESCRIPTION = new RegExp(
  '\\b(?:write|draft|update)\\s+(?:up\\s+)?(?:(?!(?:for|to|in|on|of|with|that|which|and)\\b)[\\w\'-]+\\s+){0,3}?' +
    '(?:plans?|planning\\s+docs?|analysis|investigation|research|reports?|proposals?|design\\s+doc(?:ument)?s?|write-?ups?)\\b',
  'i',
);

/** Issues whose deliverable is a document: a good write-up is progress even without other evidence. */
export function isPlanExempt(issue: LivenessInput['issue'], evidence: LivenessEvidence): boolean {
  if (evidence.planRevisions > 0) return true;
  if (!issue) return false;
  return PLAN_TITLE.test(issue.title) || PLAN_DESCRIPTION.test(issue.description ?? '');
}

// ---- classification --------------------------------------------------------------------------------

const str = (value: unknown): string | null =>
  typeof value === 'string' && value.trim() !== '' ? value.trim() : null;

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

function evidenceCounts(e: LivenessEvidence): string[] {
  const parts: Array<[number, string]> = [
    [e.comments, 'comment'],
    [e.documentRevisions, 'document revision'],
    [e.workProducts, 'work product'],
    [e.activity, 'activity event'],
    [e.toolEvents, 'tool event'],
  ];
  return parts.filter(([n]) => n > 0).map(([n, noun]) => plural(n, noun));
}

/** The explicit resultJson.nextAction field is a next action even without a label or "I will". */
function explicitNextAction(value: string | null): string | null {
  if (!value) return null;
  return extractNextAction([value]) ?? meaningfulLines(value)[0] ?? null;
}

export function classifyLiveness(input: LivenessInput): LivenessResult {
  const rj = input.resultJson ?? {};
  const { evidence, issue } = input;

  const highSignal = [
    ...input.runComments.map(str),
    str(rj.nextAction),
    str(rj.summary),
    str(rj.result),
    str(rj.message),
    str(rj.error),
  ].filter((t): t is string => t !== null);
  const raw = [rj.stdout, rj.stderr, input.stdoutExcerpt, input.stderrExcerpt, input.error]
    .flatMap((t) => (typeof t === 'string' ? meaningfulLines(t) : []))
    .join('\n');

  const useful = highSignal.length > 0 || raw !== '';
  const concreteCounts = evidenceCounts(evidence);
  const concrete = concreteCounts.length > 0;
  const actionability = classifyActionability(highSignal.length > 0 ? highSignal.join('\n') : raw);
  const nextAction =
    extractNextAction(input.runComments) ??
    explicitNextAction(str(rj.nextAction)) ??
    extractNextAction([str(rj.result) ?? '', str(rj.summary) ?? '', raw]);
  const planning = [...highSignal, raw].some(isPlanningOnly);

  const done = (state: LivenessState, reason: string): LivenessResult => ({
    state,
    reason: truncateText(reason, TEXT_MAX),
    nextAction: nextAction === null ? null : truncateText(nextAction, TEXT_MAX),
    lastUsefulActionAt:
      concrete && (state === 'advanced' || state === 'completed' || state === 'blocked')
        ? evidence.latestEvidenceAt
        : null,
    actionability,
  });

  if (input.runStatus !== 'succeeded') {
    const code = str(input.errorCode);
    return done('failed', `Run ended with ${input.runStatus}${code ? ` (${code})` : ''}`);
  }
  if (issue?.status === 'done' || issue?.status === 'cancelled') return done('completed', `Issue is ${issue.status}`);
  if (issue?.status === 'blocked') return done('blocked', 'Issue status is blocked');
  if (actionability === 'blocked_external') {
    return done('blocked', 'Run output declared a blocker that needs someone outside the run');
  }
  if (actionability === 'approval_required') return done('blocked', 'Run output says approval is required to continue');
  if (!useful && !concrete) return done('empty_response', 'Run produced no useful output and no concrete action evidence');
  if (concrete) return done('advanced', `Run produced concrete action evidence: ${concreteCounts.join(', ')}`);
  if (isPlanExempt(issue, evidence)) {
    return done('advanced', 'Run produced useful output for an issue whose deliverable is a plan or write-up');
  }
  if (planning || nextAction !== null) {
    if (actionability === 'runnable') {
      return done('plan_only', 'Run described runnable future work without concrete action evidence');
    }
    return done(
      'needs_followup',
      actionability === 'manager_review'
        ? 'Run described future work that needs manager review'
        : 'Run described future work without a clear runnable next step',
    );
  }
  if (useful) return done('needs_followup', 'Run produced useful output but no concrete action evidence');
  // Unreachable (no useful text and no evidence is caught above); kept so every path yields a state.
  return done('empty_response', 'Run produced no useful output');
}
