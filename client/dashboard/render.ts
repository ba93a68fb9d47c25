// The dashboard's panes as DOM: the page shell, the agent list, a run's table row, the selected
// run's summary and its events. Each function builds elements from the data it is given; the
// session (dashboard.ts) decides when to call them and where the result goes.
import type { Run, RunEvent } from '../index.ts';
import type { RunDetail, RunStore } from './run-store.ts';
import { badge, banner, button, clock, copyText, countdown, duration, elapsed, h, label, money, rawId, retryCell, shortId, span, tokens, type Child } from './view.ts';

const CANCELLABLE = new Set(['QUEUED', 'SCHEDULED_RETRY', 'RUNNING']);
const RETRYABLE = new Set(['FAILED', 'TIMED_OUT', 'CANCELLED']);
/** Agent statuses shown as they are; otherwise an agent is running while one of its runs is. */
const AGENT_STATES_OF_THEIR_OWN = new Set(['PAUSED', 'TERMINATED', 'ERROR', 'PENDING_APPROVAL']);

/** The elements of the page the session keeps and updates in place. */
export interface ShellParts {
  company: HTMLElement;
  live: HTMLElement;
  agentsList: HTMLElement;
  spend: HTMLElement;
  runsBody: HTMLTableSectionElement;
  noRuns: HTMLElement;
  runsFooter: HTMLElement;
  detail: HTMLElement;
}

/** The run table's columns; the fixed layout lets Agent and Issue share what is left, cut with an ellipsis. */
const COLUMNS = [
  ['Status', 'status'],
  ['Created', 'created'],
  ['Agent', 'agent'],
  ['Issue', 'issue'],
  ['Liveness', 'liveness'],
  ['Retry', 'retry'],
  ['Duration', 'duration'],
] as const;

/** The signed-in page: top bar, agents, the runs table and the detail pane, around `parts`. */
export function dashboardShell(parts: ShellParts, onSignOut: () => void): Node[] {
  const signOutLink = h('a', { href: '#', class: 'signout', 'data-testid': 'sign-out' }, 'Sign out');
  signOutLink.addEventListener('click', (event) => {
    event.preventDefault();
    onSignOut();
  });
  const table = h(
    'table',
    { 'data-testid': 'runs-table' },
    h('colgroup', {}, ...COLUMNS.map(([, name]) => h('col', { class: `col-${name}` }))),
    h('thead', {}, h('tr', {}, ...COLUMNS.map(([title]) => h('th', {}, title)))),
    parts.runsBody,
  );
  // The top bar and the banner stay in view however far the page is scrolled.
  const head = h(
    'div',
    { class: 'page-head' },
    h('header', { class: 'topbar' }, h('span', { class: 'brand' }, h('span', { class: 'logo' }, '♥'), ' Heartbeat'), parts.company, h('span', { class: 'spacer' }), parts.live, signOutLink),
    banner,
  );
  // Sticky panes sit below it, whatever its height (the banner comes and goes).
  new ResizeObserver(() => document.documentElement.style.setProperty('--head-height', `${head.offsetHeight}px`)).observe(head);
  return [
    head,
    h(
      'main',
      { class: 'layout' },
      h('div', { class: 'side' }, h('aside', { class: 'panel' }, h('h2', {}, 'Agents'), parts.agentsList), parts.spend),
      h(
        'section',
        { class: 'panel runs' },
        h('h2', {}, 'Runs'),
        h('div', { class: 'table-wrap' }, table),
        parts.noRuns,
        parts.runsFooter,
      ),
      parts.detail,
    ),
  ];
}

/** The agent list, by name: each agent's status, adapter, timer and the run it is busy with. */
export function agentItems(store: RunStore, select: (runId: string) => void): HTMLLIElement[] {
  const agents = [...store.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (agents.length === 0) return [h('li', { class: 'empty' }, 'No agents yet.')];
  return agents.map((agent) => {
    const running = store.runningRunIds(agent.id);
    const status = AGENT_STATES_OF_THEIR_OWN.has(agent.status) ? agent.status : running.length > 0 ? 'RUNNING' : agent.status === 'RUNNING' ? 'IDLE' : agent.status;
    const active = running.map((id) => store.runs.get(id)).find(Boolean);
    const policy = agent.heartbeat.enabled ? ` · every ${span(agent.heartbeat.intervalSec * 1000)}` : '';
    return h(
      'li',
      { 'data-agent-id': agent.id, 'data-status': status },
      h('div', { class: 'agent-line' }, h('span', { class: 'agent-name', title: agent.name }, agent.name), badge(status)),
      h('div', { class: 'agent-meta muted' }, `${label(agent.adapterType)}${policy}`, running.length > 1 ? ` · ${running.length} running` : null),
      active ? button(['▶ run ', shortId(active.id), ' · ', active.startedAt ? elapsed(active.startedAt) : 'starting'], { class: 'link active-run' }, () => select(active.id)) : null,
    );
  });
}

/** An empty table row for run `id` that selects the run on a click or Enter. */
export function runRow(id: string, select: (runId: string) => void): HTMLTableRowElement {
  const row = h('tr', { 'data-testid': 'run-row', 'data-run-id': id, tabindex: 0 });
  row.addEventListener('click', () => select(id));
  row.addEventListener('keydown', (event) => event.key === 'Enter' && select(id));
  return row;
}

/** The cells of a run's table row. */
export function runRowCells(run: Run): HTMLTableCellElement[] {
  const issue = run.issue ? [h('span', { class: 'ident' }, run.issue.identifier), ' ', run.issue.title] : [h('span', { class: 'muted' }, label(run.invocationSource))];
  return [
    h('td', {}, badge(run.status)),
    h('td', { class: 'nowrap', title: new Date(run.createdAt).toLocaleString() }, clock(run.createdAt)),
    h('td', { class: 'agent', title: run.agent.name }, run.agent.name),
    h('td', { class: 'issue', title: run.issue ? `${run.issue.identifier} ${run.issue.title}` : null }, ...issue),
    // A running run has no liveness yet: its cell tells when it has been silent too long.
    h('td', {}, silenceBadge(run) ?? badge(run.liveness.state, { title: run.liveness.reason ?? '' })),
    h('td', { class: 'nowrap' }, retryCell(run)),
    h('td', { class: 'nowrap' }, duration(run)),
  ];
}

/** A running run that has been silent too long (docs/engine.md §17): SUSPICIOUS, CRITICAL or SNOOZED. */
function silenceBadge(run: Run): HTMLElement | null {
  const silence = run.outputSilence;
  if (!silence || silence.level === 'OK') return null;
  const title = `No output for ${span(silence.seconds * 1000)}${silence.snoozedUntil ? `; snoozed until ${new Date(silence.snoozedUntil).toLocaleString()}` : ''}`;
  const level = silence.level.toLowerCase();
  return h('span', { class: `badge badge-silence badge-silence-${level}`, title, 'data-testid': 'run-silence', 'data-level': silence.level }, level);
}

export const noRunSelected = () => [h('h2', {}, 'Run'), h('p', { class: 'empty' }, 'Select a run to follow its events live.')];

export const summaryLoading = () => [h('h2', {}, 'Run'), h('p', { class: 'muted' }, 'Loading…')];

/** What the summary's buttons and links do. */
export interface RunActions {
  cancel(runId: string): Promise<void>;
  retry(runId: string): Promise<void>;
  select(runId: string): void;
}

/**
 * The selected run's summary: its fields, the actions its status allows (none for a key that may
 * not act), and (once loaded) its result and output excerpts.
 */
export function runSummary(run: Run | RunDetail, detail: RunDetail | undefined, actions: RunActions, canAct: boolean): Node[] {
  const { liveness, retry } = run;
  const buttons = h(
    'div',
    { class: 'actions' },
    canAct && CANCELLABLE.has(run.status) ? actionButton('Cancel run', 'cancel-button', 'danger', () => actions.cancel(run.id)) : null,
    canAct && RETRYABLE.has(run.status) ? actionButton('Retry', 'retry-button', 'primary', () => actions.retry(run.id)) : null,
  );
  const field = (name: string, ...value: Child[]) => (value.some((v) => v !== null && v !== undefined && v !== false && v !== '') ? [h('dt', {}, name), h('dd', {}, ...value)] : []);
  // Long names and titles are cut to a few lines; the full text is in the tooltip.
  const clamped = (text: string | null | undefined) => (text ? h('div', { class: 'clamp', title: text }, text) : null);
  const result = detail?.result as { summary?: unknown } | null | undefined;
  const retryOf = retry.retryOf;
  return [
    h('div', { class: 'detail-head' }, h('h2', {}, `Run ${shortId(run.id)}`), badge(run.status, { 'data-testid': 'run-status' }), h('span', { class: 'spacer' }), buttons),
    h(
      'dl',
      {},
      ...field('ID', runIdLine(run.id)),
      ...field('Agent', clamped(run.agent.name)),
      ...field('Issue', clamped(run.issue ? `${run.issue.identifier} ${run.issue.title}` : null)),
      ...field('Source', `${label(run.invocationSource)}${run.triggerDetail ? ` · ${label(run.triggerDetail)}` : ''}`),
      ...field('Task', detail?.taskKey ? h('code', { 'data-testid': 'run-task-key' }, detail.taskKey) : null),
      ...field('Session', detail ? sessionLines(detail) : null),
      ...field('Created', clock(run.createdAt)),
      ...field('Started', run.startedAt ? clock(run.startedAt) : null),
      ...field('Finished', run.finishedAt ? clock(run.finishedAt) : null),
      ...field('Duration', duration(run)),
      ...field('Cost', detail?.cost ? costLines(detail.cost) : null),
      ...field('Exit code', run.exitCode),
      ...field('Error', run.error ? `${run.error}${run.errorCode ? ` (${run.errorCode})` : ''}` : null),
      ...field('Summary', typeof result?.summary === 'string' ? h('div', { class: 'long-text' }, result.summary) : null),
      ...field('Liveness', liveness.state ? badge(liveness.state) : null, liveness.reason ? h('div', { class: 'reason' }, liveness.reason) : null),
      ...field('Next action', liveness.nextAction),
      ...field('Retry', retry.attempt > 0 ? `attempt ${retry.attempt} of ${retry.maxAttempts}` : null, run.status === 'SCHEDULED_RETRY' && retry.scheduledAt ? h('span', {}, ', due ', countdown(retry.scheduledAt)) : null),
      ...field('Retry of', retryOf ? button(`run ${shortId(retryOf.id)}`, { class: 'link' }, () => actions.select(retryOf.id)) : null),
      ...field('Retry reason', retry.reason),
      ...field('Exhausted', retry.exhaustedReason),
    ),
    h(
      'div',
      { class: 'excerpts' },
      detail?.result != null ? h('details', {}, h('summary', {}, 'Result'), h('pre', {}, JSON.stringify(detail.result, null, 2))) : null,
      detail?.stderrExcerpt ? h('details', {}, h('summary', {}, 'stderr'), h('pre', {}, detail.stderrExcerpt)) : null,
      detail?.stdoutExcerpt ? h('details', {}, h('summary', {}, 'stdout'), h('pre', {}, detail.stdoutExcerpt)) : null,
    ),
  ];
}

/**
 * The session the run resumed (or that it started a fresh one) and the one it left. Nothing before
 * the claim decided it (as of the loaded detail), nor for a run with no task and no session (an
 * agent that does not resume sessions).
 */
function sessionLines(detail: RunDetail): HTMLElement | null {
  const { sessionIdBefore: before, sessionIdAfter: after } = detail;
  if (!detail.startedAt || (!before && !after && !detail.taskKey)) return null;
  return h(
    'div',
    { 'data-testid': 'run-session' },
    before ? h('div', {}, 'resumed ', h('code', { title: before }, before)) : h('div', { class: 'muted' }, 'fresh session'),
    after ? h('div', {}, 'left ', h('code', { title: after }, after)) : null,
  );
}

/** What the run cost: its billed cents, its tokens, and how it is billed (from the loaded detail: written as it finished). */
function costLines(cost: NonNullable<RunDetail['cost']>): HTMLElement {
  const billing = [label(cost.billingType), cost.model].filter(Boolean).join(' · ');
  return h(
    'div',
    { 'data-testid': 'run-cost' },
    h('div', {}, `${money(cost.costCents)} (${tokens(cost.costCents)}¢)`),
    h('div', { class: 'muted' }, `${tokens(cost.inputTokens)} in · ${tokens(cost.cachedInputTokens)} cached · ${tokens(cost.outputTokens)} out`),
    billing ? h('div', { class: 'muted' }, billing) : null,
  );
}

/** The run's full global id (what the API and CLI take; its uuid in the tooltip) and a button that copies it. */
function runIdLine(id: string): HTMLElement {
  const code = h('code', { class: 'run-id', title: rawId(id), 'data-testid': 'run-id' }, id);
  const copy = button('Copy', { class: 'link copy', 'data-testid': 'copy-run-id', 'aria-label': 'Copy the run id' }, () => {
    void copyText(id, code).then((copied) => {
      copy.textContent = copied ? 'Copied' : 'Select and copy';
      setTimeout(() => (copy.textContent = 'Copy'), 1_500);
    });
  });
  return h('div', { class: 'id-line' }, code, copy);
}

/** A button that stays disabled while its action is on its way, so a double click acts once. */
function actionButton(text: string, testId: string, kind: string, act: () => Promise<void>): HTMLButtonElement {
  const element = button(text, { class: kind, 'data-testid': testId }, () => {
    element.disabled = true;
    void act().finally(() => (element.disabled = false));
  });
  return element;
}

/** One line of the run's event list; long payloads are cut at 240 characters. */
export function eventItem(event: RunEvent): HTMLLIElement {
  const payload = event.payload == null ? '' : JSON.stringify(event.payload);
  return h(
    'li',
    { 'data-seq': event.seq, class: event.level ? `level-${event.level}` : null },
    h('span', { class: 'seq' }, event.seq),
    h('span', { class: 'time' }, clock(event.createdAt)),
    h('span', { class: 'type' }, event.eventType),
    h('span', { class: 'message' }, event.message ?? ''),
    payload && payload !== '{}' ? h('code', { class: 'payload' }, payload.length > 240 ? `${payload.slice(0, 240)}…` : payload) : null,
  );
}
