// The issue's continuation summary (docs/engine.md §16): the compact handoff each run on an issue
// leaves for the next one, whatever its outcome. Pure: the engine reads the issue, the run and what
// it did, and writes this text as a revision of the issue's `continuation-summary` document.

/** §16.2: the whole summary, in characters. */
export const CONTINUATION_SUMMARY_CHARS = 8_000;
const SECTION_CHARS = 1_500;
const LINE_CHARS = 200;
const RECENT_ACTIONS = 8;

export interface ContinuationSummaryInput {
  issue: { id: string; identifier: string | null; title: string; status: string; description: string | null };
  run: {
    id: string;
    status: string;
    agentName: string;
    finishedAt: string | null;
    /** The result's summary (succeeded runs), else null. */
    summary: string | null;
    error: string | null;
    errorCode: string | null;
    /** The next action the liveness classification found in what the run said (§6.7). */
    nextAction: string | null;
  };
  /** What the run did on its issue, oldest first: its comments, the documents it wrote. */
  actions: Array<{ kind: 'comment'; body: string } | { kind: 'document'; key: string }>;
  /** Run events of the agent's own (tool calls and the like). */
  toolEvents: number;
  /** The summary before this run, if any. */
  previous: string | null;
}

const NEXT_ACTION_HEADING = '## Next action';
const STATUS_LINE = /^- Issue status: (\S+)/m;

const oneLine = (text: string, max = LINE_CHARS) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
};

const cutBlock = (text: string, max: number) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`);

/**
 * A section of an issue description, by its heading (`## Objective`, `Acceptance criteria:`,
 * `**Goal**`, ...): its text up to the next heading, trimmed; null when there is none.
 */
export function descriptionSection(description: string | null, names: readonly string[]): string | null {
  if (!description) return null;
  const lines = description.split(/\r?\n/);
  const heading = (line: string) => {
    const match = /^\s*(?:#{1,6}\s*)?(?:\*\*|__)?([A-Za-z][A-Za-z &/-]*?)(?:\*\*|__)?\s*:?\s*(?:\*\*|__)?\s*$/.exec(line);
    return match ? match[1].trim().toLowerCase() : null;
  };
  const isHeading = (line: string) => /^\s*#{1,6}\s/.test(line) || /^\s*(?:\*\*|__).+(?:\*\*|__)\s*:?\s*$/.test(line) || /^[A-Za-z][A-Za-z &/-]*:\s*$/.test(line);
  const start = lines.findIndex((line) => names.includes(heading(line) ?? ''));
  if (start < 0) return null;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex(isHeading);
  const body = (end < 0 ? rest : rest.slice(0, end)).join('\n').trim();
  return body === '' ? null : body;
}

/** The next action a summary states, if any. */
export function nextActionOf(summary: string | null): string | null {
  if (!summary) return null;
  const at = summary.indexOf(`${NEXT_ACTION_HEADING}\n`);
  if (at < 0) return null;
  const text = summary.slice(at + NEXT_ACTION_HEADING.length + 1).split(/\n## /)[0].trim();
  return text === '' ? null : text;
}

/**
 * The next action (§16.2): a failed run's is to deal with its failure; an issue whose status changed
 * since the previous summary gets one for its new status; otherwise what the run itself said it would
 * do next, else the previous summary's, else to go on with the issue.
 */
function nextAction(input: ContinuationSummaryInput): string {
  const { run, issue } = input;
  if (run.status !== 'succeeded') {
    const why = run.error ? `: ${oneLine(run.error, 200)}` : '';
    return `Find out why run ${run.id} ended ${run.status}${run.errorCode ? ` (${run.errorCode})` : ''}${why}, then carry on with the issue.`;
  }
  const before = input.previous ? STATUS_LINE.exec(input.previous)?.[1] ?? null : null;
  if (before !== null && before !== issue.status) {
    if (issue.status === 'done' || issue.status === 'cancelled') return `None: the issue is ${issue.status}.`;
    if (issue.status === 'blocked') return 'Wait for the issue to be unblocked, then carry on.';
    if (issue.status === 'in_review') return 'Wait for the review, then act on it.';
  }
  return run.nextAction ?? nextActionOf(input.previous) ?? 'Carry on with the issue from where the last run left it.';
}

/** The summary a run leaves on its issue (§16.2), at most CONTINUATION_SUMMARY_CHARS characters. */
export function renderContinuationSummary(input: ContinuationSummaryInput): string {
  const { issue, run } = input;
  const head = [
    '# Continuation summary',
    '',
    `- Issue: ${JSON.stringify(issue.identifier ?? issue.id)} ${JSON.stringify(issue.title)}`,
    `- Issue status: ${issue.status}`,
    `- Last run: ${run.id}, ${run.status}, by agent ${JSON.stringify(run.agentName)}${run.finishedAt ? ` at ${run.finishedAt}` : ''}`,
  ];
  const outcome = run.status === 'succeeded' ? run.summary : (run.error ?? run.errorCode);
  if (outcome) head.push(`- ${run.status === 'succeeded' ? 'Summary' : 'Error'}: ${oneLine(outcome, 600)}`);
  const sections: string[][] = [];
  const objective = descriptionSection(issue.description, ['objective', 'objectives', 'goal', 'goals']);
  if (objective) sections.push(['## Objective', cutBlock(objective, SECTION_CHARS)]);
  const criteria = descriptionSection(issue.description, ['acceptance criteria', 'acceptance', 'done when', 'definition of done']);
  if (criteria) sections.push(['## Acceptance criteria', cutBlock(criteria, SECTION_CHARS)]);
  const actions = input.actions.slice(-RECENT_ACTIONS).map((action) =>
    action.kind === 'comment' ? `- Commented: ${JSON.stringify(oneLine(action.body))}` : `- Wrote the document ${JSON.stringify(action.key)}`,
  );
  if (input.toolEvents > 0) actions.push(`- ${input.toolEvents} tool event${input.toolEvents === 1 ? '' : 's'}`);
  sections.push(['## Recent actions', actions.length > 0 ? actions.join('\n') : '- None recorded by this run.']);
  sections.push([NEXT_ACTION_HEADING, cutBlock(nextAction(input), SECTION_CHARS)]);
  const text = [head.join('\n'), ...sections.map((section) => section.join('\n'))].join('\n\n');
  return cutBlock(text, CONTINUATION_SUMMARY_CHARS);
}
