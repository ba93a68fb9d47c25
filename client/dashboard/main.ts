// The live dashboard: a company's runs, agents and a run's events, kept current by the SDK's
// subscriptions (runStatus for everything, runEvents for the selected run). Queries are made once
// at load, on a click, or to catch up after a reconnect; nothing polls. Plain DOM, no framework.
import type { AgentsQuery, RunQuery } from '../generated/graphql.ts';
import { createHeartbeatClient, type HeartbeatClient, type Run, type RunEvent } from '../index.ts';
import {
  badge, banner, button, clock, countdown, describeError, duration, elapsed, h, hideError, isRefusedKey, label, retryCell, shortId, showError, span, tickTimers, type Child,
} from './view.ts';

type Agent = AgentsQuery['agents']['edges'][number]['node'];
type RunDetail = NonNullable<RunQuery['run']>;

const KEY_STORAGE = 'heartbeat:apiKey';
const FIRST_PAGE = 50;
const MAX_ROWS = 200;
const AGENTS_SHOWN = 100;
const CANCELLABLE = new Set(['QUEUED', 'SCHEDULED_RETRY', 'RUNNING']);
const RETRYABLE = new Set(['FAILED', 'TIMED_OUT', 'CANCELLED']);
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'CANCELLED']);
/** Agent statuses shown as they are; otherwise an agent is running while one of its runs is. */
const AGENT_STATES_OF_THEIR_OWN = new Set(['PAUSED', 'TERMINATED', 'ERROR', 'PENDING_APPROVAL']);

const root = document.getElementById('app')!;
let session: Dashboard | null = null;

function showSignIn(): void {
  document.title = 'Heartbeat';
  const input = h('input', { type: 'password', name: 'apiKey', placeholder: 'hb_…', autocomplete: 'off', required: true, 'data-testid': 'key-input', 'aria-label': 'API key' });
  const form = h(
    'form',
    { class: 'signin card' },
    h('h1', {}, h('span', { class: 'logo' }, '♥'), ' Heartbeat'),
    h('p', { class: 'muted' }, 'Paste an API key to open the live dashboard. It stays in this browser until you sign out.'),
    input,
    h('button', { type: 'submit', class: 'primary', 'data-testid': 'key-submit' }, 'Open dashboard'),
    h('p', { class: 'hint' }, 'Lost it? ', h('code', {}, 'npm run heartbeat -- keys create'), ' prints a new one.'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = input.value.trim();
    if (!key) return;
    localStorage.setItem(KEY_STORAGE, key);
    hideError();
    open(key);
  });
  root.replaceChildren(banner, h('main', { class: 'signin-page' }, form));
  input.focus();
}

function signOut(reason?: string): void {
  localStorage.removeItem(KEY_STORAGE);
  void session?.close();
  session = null;
  showSignIn();
  if (reason) showError(reason);
}

function open(key: string): void {
  void session?.close();
  session = new Dashboard(key);
  void session.start();
}

/** The dashboard of one signed-in key. */
class Dashboard {
  private readonly client: HeartbeatClient;
  private readonly runs = new Map<string, Run>();
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly agents = new Map<string, Agent>();
  /** Runs known to be running, per agent: the agent's busy/idle display follows them. */
  private readonly running = new Map<string, Set<string>>();
  /** What only a query tells (result, output excerpts), for runs opened in the detail pane. */
  private readonly details = new Map<string, RunDetail>();
  /** Live updates that arrived before the first page of runs: applied on top of it. */
  private early: Run[] | null = [];
  private agentsLoading: Promise<void> | null = null;
  private agentsStale = false;
  /** Agents a reload was asked for, once each (a company may have more agents than are shown). */
  private readonly agentsAskedFor = new Set<string>();
  private selected: string | null = null;
  private eventsGeneration = 0;
  private eventsWatch: AbortController | null = null;
  private closed = false;
  private readonly unlisten: Array<() => void> = [];

  private readonly company = h('span', { class: 'company' });
  private readonly live = h('span', { class: 'live', 'data-state': 'connecting' }, 'connecting');
  private readonly agentsList = h('ul', { class: 'agents', 'data-testid': 'agents-list' });
  private readonly tbody = h('tbody');
  private readonly noRuns = h('p', { class: 'empty' }, 'Loading runs…');
  private readonly detail = h('section', { class: 'panel detail', 'aria-label': 'Run detail' });
  private readonly summary = h('div', { class: 'summary' });
  private readonly events = h('ol', { class: 'events', 'data-testid': 'run-events' });
  private readonly eventsState = h('p', { class: 'muted events-state' });

  constructor(private readonly apiKey: string) {
    this.client = createHeartbeatClient({ url: `${location.origin}/graphql`, apiKey });
  }

  async start(): Promise<void> {
    this.renderShell();
    try {
      const viewer = await this.client.viewer();
      if (this.closed) return;
      this.company.textContent = viewer.name;
      document.title = `${viewer.name} · Heartbeat`;
    } catch (error) {
      if (this.closed || isRefusedKey(error)) return this.fail(error, 'Cannot reach Heartbeat');
      return showError(`Cannot reach Heartbeat: ${describeError(error)}`, button('Try again', { class: 'link' }, () => open(this.apiKey)));
    }
    let connections = 0;
    const connected = new Promise<void>((resolve) => {
      this.unlisten.push(
        this.client.ws.on('connected', () => {
          this.setLive('live');
          resolve();
          // A reconnect may have missed changes: catch up once; the subscription carries on.
          if (++connections > 1) void this.catchUp();
        }),
        this.client.ws.on('closed', () => this.setLive(this.closed ? 'offline' : 'connecting')),
      );
    });
    void this.watchRuns();
    // Subscribed first, then the first page: no change can fall between the two.
    await Promise.race([connected, new Promise((resolve) => setTimeout(resolve, 3_000))]);
    try {
      const [page] = await Promise.all([this.client.runs({ first: FIRST_PAGE }), this.loadAgents()]);
      if (this.closed) return;
      const early = this.early ?? [];
      this.early = null;
      for (const edge of page.edges) this.upsert(edge.node);
      for (const run of early) this.upsert(run);
      this.noRuns.textContent = 'No runs yet. Wake an agent and its runs appear here.';
      this.noRuns.hidden = this.rows.size > 0;
    } catch (error) {
      this.fail(error, 'Cannot load runs');
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.eventsGeneration++;
    for (const stop of this.unlisten.splice(0)) stop();
    await this.client.close();
  }

  private fail(error: unknown, what: string): void {
    if (this.closed) return;
    if (isRefusedKey(error)) return signOut(`That API key was refused: ${describeError(error)}`);
    showError(`${what}: ${describeError(error)}`);
  }

  private setLive(state: 'connecting' | 'live' | 'offline'): void {
    this.live.dataset.state = state;
    this.live.textContent = state === 'live' ? 'live' : state === 'offline' ? 'offline' : 'reconnecting';
  }

  // --- live data ------------------------------------------------------------------------------

  private async watchRuns(): Promise<void> {
    try {
      for await (const run of this.client.watchRunStatus({})) {
        if (this.closed) return;
        if (this.early) this.early.push(run);
        else this.upsert(run);
      }
    } catch (error) {
      if (this.closed) return;
      this.setLive('offline');
      if (isRefusedKey(error)) return this.fail(error, 'Live updates stopped');
      const reconnect = button('Reconnect', { class: 'link' }, () => {
        hideError();
        this.setLive('connecting');
        void this.watchRuns();
        void this.catchUp();
      });
      showError(`Live updates stopped: ${describeError(error)}`, reconnect);
    }
  }

  private async catchUp(): Promise<void> {
    try {
      const [page] = await Promise.all([this.client.runs({ first: FIRST_PAGE }), this.loadAgents()]);
      for (const edge of page.edges) this.upsert(edge.node);
    } catch (error) {
      this.fail(error, 'Cannot catch up after reconnecting');
    }
  }

  /** (Re)loads the agents; calls made while a load is on its way share one more load after it. */
  private loadAgents(): Promise<void> {
    if (this.agentsLoading) {
      this.agentsStale = true;
      return this.agentsLoading;
    }
    const load = async () => {
      try {
        do {
          this.agentsStale = false;
          const agents = await this.client.agents(AGENTS_SHOWN);
          if (this.closed) return;
          this.agents.clear();
          for (const agent of agents) {
            this.agents.set(agent.id, agent);
            const active = agent.activeRun?.id;
            // The agent's word on its active run, unless a live update said otherwise.
            if (active && (this.runs.get(active)?.status ?? 'RUNNING') === 'RUNNING') this.runningOf(agent.id).add(active);
          }
          this.renderAgents();
        } while (this.agentsStale);
      } finally {
        this.agentsLoading = null;
      }
    };
    return (this.agentsLoading = load());
  }

  private runningOf(agentId: string): Set<string> {
    let set = this.running.get(agentId);
    if (!set) this.running.set(agentId, (set = new Set()));
    return set;
  }

  private upsert(run: Run): void {
    const previous = this.runs.get(run.id);
    this.runs.set(run.id, run);
    const running = this.runningOf(run.agent.id);
    const wasRunning = running.has(run.id);
    if (run.status === 'RUNNING') running.add(run.id);
    else running.delete(run.id);
    if (!this.agents.has(run.agent.id)) {
      // A run of an agent this page has not seen: the agent is new.
      if (!this.early && !this.agentsAskedFor.has(run.agent.id)) {
        this.agentsAskedFor.add(run.agent.id);
        this.loadAgents().catch((error: unknown) => this.fail(error, 'Cannot load agents'));
      }
    } else if (wasRunning !== running.has(run.id)) {
      this.renderAgents();
    }
    this.renderRow(run);
    if (this.selected === run.id) {
      this.renderSummary();
      // Finished: its result and output excerpts are final now.
      if (previous && !TERMINAL.has(previous.status) && TERMINAL.has(run.status)) void this.loadDetail(run.id);
    }
  }

  // --- rendering ------------------------------------------------------------------------------

  private renderShell(): void {
    const signOutLink = h('a', { href: '#', class: 'signout', 'data-testid': 'sign-out' }, 'Sign out');
    signOutLink.addEventListener('click', (event) => {
      event.preventDefault();
      signOut();
    });
    const columns = ['Status', 'Created', 'Agent', 'Issue', 'Liveness', 'Retry', 'Duration'];
    root.replaceChildren(
      h('header', { class: 'topbar' }, h('span', { class: 'brand' }, h('span', { class: 'logo' }, '♥'), ' Heartbeat'), this.company, h('span', { class: 'spacer' }), this.live, signOutLink),
      banner,
      h(
        'main',
        { class: 'layout' },
        h('aside', { class: 'panel' }, h('h2', {}, 'Agents'), this.agentsList),
        h(
          'section',
          { class: 'panel runs' },
          h('h2', {}, 'Runs'),
          h('div', { class: 'table-wrap' }, h('table', { 'data-testid': 'runs-table' }, h('thead', {}, h('tr', {}, ...columns.map((c) => h('th', {}, c)))), this.tbody)),
          this.noRuns,
        ),
        this.detail,
      ),
    );
    this.renderDetail();
  }

  private renderAgents(): void {
    const agents = [...this.agents.values()].sort((a, b) => a.name.localeCompare(b.name));
    if (agents.length === 0) return this.agentsList.replaceChildren(h('li', { class: 'empty' }, 'No agents yet.'));
    this.agentsList.replaceChildren(
      ...agents.map((agent) => {
        const running = [...(this.running.get(agent.id) ?? [])];
        const status = AGENT_STATES_OF_THEIR_OWN.has(agent.status) ? agent.status : running.length > 0 ? 'RUNNING' : agent.status === 'RUNNING' ? 'IDLE' : agent.status;
        const active = running.map((id) => this.runs.get(id)).find(Boolean);
        const policy = agent.heartbeat.enabled ? ` · every ${span(agent.heartbeat.intervalSec * 1000)}` : '';
        return h(
          'li',
          { 'data-agent-id': agent.id, 'data-status': status },
          h('div', { class: 'agent-line' }, h('span', { class: 'agent-name', title: agent.name }, agent.name), badge(status)),
          h('div', { class: 'agent-meta muted' }, `${label(agent.adapterType)}${policy}`, running.length > 1 ? ` · ${running.length} running` : null),
          active
            ? button(['▶ run ', shortId(active.id), ' · ', active.startedAt ? elapsed(active.startedAt) : 'starting'], { class: 'link active-run' }, () => this.select(active.id))
            : null,
        );
      }),
    );
  }

  private renderRow(run: Run): void {
    let row = this.rows.get(run.id);
    if (!row) {
      const id = run.id;
      row = h('tr', { 'data-testid': 'run-row', 'data-run-id': id, tabindex: 0 });
      row.addEventListener('click', () => this.select(id));
      row.addEventListener('keydown', (event) => event.key === 'Enter' && this.select(id));
      this.rows.set(id, row);
      // Newest first: before the first row created earlier than this run.
      const created = Date.parse(run.createdAt);
      const before = [...this.tbody.rows].find((r) => Date.parse(this.runs.get(r.dataset.runId!)?.createdAt ?? '') < created);
      this.tbody.insertBefore(row, before ?? null);
      this.trim();
      this.noRuns.hidden = true;
    }
    row.dataset.status = run.status;
    row.classList.toggle('selected', this.selected === run.id);
    const issue = run.issue ? h('span', { title: run.issue.title }, h('span', { class: 'ident' }, run.issue.identifier), ' ', run.issue.title) : h('span', { class: 'muted' }, label(run.invocationSource));
    row.replaceChildren(
      h('td', {}, badge(run.status)),
      h('td', { class: 'nowrap' }, clock(run.createdAt)),
      h('td', { class: 'agent', title: run.agent.name }, run.agent.name),
      h('td', { class: 'issue' }, issue),
      h('td', {}, badge(run.liveness.state, { title: run.liveness.reason ?? '' })),
      h('td', { class: 'nowrap' }, retryCell(run)),
      h('td', { class: 'nowrap' }, duration(run)),
    );
  }

  /** Keeps the table bounded: the oldest rows go (never the selected one). */
  private trim(): void {
    while (this.tbody.rows.length > MAX_ROWS) {
      const last = [...this.tbody.rows].reverse().find((r) => r.dataset.runId !== this.selected);
      if (!last) return;
      last.remove();
      this.rows.delete(last.dataset.runId!);
      this.runs.delete(last.dataset.runId!);
      this.details.delete(last.dataset.runId!);
    }
  }

  private renderDetail(): void {
    if (!this.selected) {
      this.detail.replaceChildren(h('h2', {}, 'Run'), h('p', { class: 'empty' }, 'Select a run to follow its events live.'));
      return;
    }
    this.events.replaceChildren();
    this.eventsState.textContent = 'Waiting for events…';
    this.detail.replaceChildren(this.summary, h('h3', {}, 'Events'), this.events, this.eventsState);
    this.renderSummary();
  }

  private renderSummary(): void {
    const run = this.selected ? (this.runs.get(this.selected) ?? this.details.get(this.selected)) : undefined;
    if (!run) return this.summary.replaceChildren(h('h2', {}, 'Run'), h('p', { class: 'muted' }, 'Loading…'));
    const detail = this.details.get(run.id);
    const { liveness, retry } = run;
    const actions = h(
      'div',
      { class: 'actions' },
      CANCELLABLE.has(run.status) ? this.action('Cancel run', 'cancel-button', 'danger', () => this.cancel(run.id)) : null,
      RETRYABLE.has(run.status) ? this.action('Retry', 'retry-button', 'primary', () => this.retry(run.id)) : null,
    );
    const field = (name: string, ...value: Child[]) => (value.some((v) => v !== null && v !== undefined && v !== false && v !== '') ? [h('dt', {}, name), h('dd', {}, ...value)] : []);
    const result = detail?.result as { summary?: unknown } | null | undefined;
    const retryOf = retry.retryOf;
    this.summary.replaceChildren(
      h('div', { class: 'detail-head' }, h('h2', {}, `Run ${shortId(run.id)}`), badge(run.status, { 'data-testid': 'run-status' }), h('span', { class: 'spacer' }), actions),
      h(
        'dl',
        {},
        ...field('Agent', run.agent.name),
        ...field('Issue', run.issue ? `${run.issue.identifier} ${run.issue.title}` : null),
        ...field('Source', `${label(run.invocationSource)}${run.triggerDetail ? ` · ${label(run.triggerDetail)}` : ''}`),
        ...field('Created', clock(run.createdAt)),
        ...field('Started', run.startedAt ? clock(run.startedAt) : null),
        ...field('Finished', run.finishedAt ? clock(run.finishedAt) : null),
        ...field('Duration', duration(run)),
        ...field('Exit code', run.exitCode),
        ...field('Error', run.error ? `${run.error}${run.errorCode ? ` (${run.errorCode})` : ''}` : null),
        ...field('Summary', typeof result?.summary === 'string' ? result.summary : null),
        ...field('Liveness', liveness.state ? badge(liveness.state) : null, liveness.reason ? h('div', { class: 'reason' }, liveness.reason) : null),
        ...field('Next action', liveness.nextAction),
        ...field('Retry', retry.attempt > 0 ? `attempt ${retry.attempt} of ${retry.maxAttempts}` : null, run.status === 'SCHEDULED_RETRY' && retry.scheduledAt ? h('span', {}, ', due ', countdown(retry.scheduledAt)) : null),
        ...field('Retry of', retryOf ? button(`run ${shortId(retryOf.id)}`, { class: 'link' }, () => this.select(retryOf.id)) : null),
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
    );
  }

  private action(text: string, testId: string, kind: string, act: () => Promise<void>) {
    const element = button(text, { class: kind, 'data-testid': testId }, () => {
      element.disabled = true;
      void act().finally(() => (element.disabled = false));
    });
    return element;
  }

  private appendEvent(event: RunEvent): void {
    const payload = event.payload == null ? '' : JSON.stringify(event.payload);
    this.events.append(
      h(
        'li',
        { 'data-seq': event.seq, class: event.level ? `level-${event.level}` : null },
        h('span', { class: 'seq' }, event.seq),
        h('span', { class: 'time' }, clock(event.createdAt)),
        h('span', { class: 'type' }, event.eventType),
        h('span', { class: 'message' }, event.message ?? ''),
        payload && payload !== '{}' ? h('code', { class: 'payload' }, payload.length > 240 ? `${payload.slice(0, 240)}…` : payload) : null,
      ),
    );
    this.events.scrollTop = this.events.scrollHeight;
  }

  // --- actions --------------------------------------------------------------------------------

  private select(id: string): void {
    if (this.selected === id) return;
    this.rows.get(this.selected ?? '')?.classList.remove('selected');
    this.rows.get(id)?.classList.add('selected');
    this.selected = id;
    const generation = ++this.eventsGeneration;
    // The previous run's event stream ends now rather than at its next event.
    this.eventsWatch?.abort();
    this.eventsWatch = new AbortController();
    this.renderDetail();
    void this.loadDetail(id);
    void this.followEvents(id, generation, this.eventsWatch.signal);
  }

  private async loadDetail(id: string): Promise<void> {
    try {
      const run = await this.client.run(id);
      if (!run || this.closed) return;
      this.details.set(id, run);
      if (!this.runs.has(id)) this.upsert(run);
      if (this.selected === id) this.renderSummary();
    } catch (error) {
      this.fail(error, 'Cannot load the run');
    }
  }

  /** The selected run's events, live, until another run is selected (`signal`). */
  private async followEvents(id: string, generation: number, signal: AbortSignal): Promise<void> {
    const current = () => generation === this.eventsGeneration && !this.closed;
    try {
      for await (const event of this.client.watchRunEvents(id, { signal })) {
        if (!current()) break;
        this.eventsState.textContent = 'Live';
        this.appendEvent(event);
      }
      if (current()) this.eventsState.textContent = this.events.childElementCount ? 'End of the run’s events.' : 'This run has no events.';
    } catch (error) {
      if (!current()) return;
      this.eventsState.textContent = `Event stream stopped: ${describeError(error)}`;
      this.fail(error, 'Event stream stopped');
    }
  }

  private async cancel(id: string): Promise<void> {
    try {
      this.upsert(await this.client.cancel(id, 'Cancelled from the dashboard'));
    } catch (error) {
      this.fail(error, 'Cannot cancel the run');
    }
  }

  private async retry(id: string): Promise<void> {
    try {
      const { outcome, run } = await this.client.retry(id);
      if (!run) return showError(`The retry was not queued: ${label(outcome)}`);
      this.upsert(run);
      this.select(run.id);
    } catch (error) {
      this.fail(error, 'Cannot retry the run');
    }
  }
}

setInterval(tickTimers, 1_000); // re-renders countdown and elapsed-time text only
window.addEventListener('unhandledrejection', (event) => showError(describeError(event.reason)));

const savedKey = localStorage.getItem(KEY_STORAGE);
if (savedKey) open(savedKey);
else showSignIn();
