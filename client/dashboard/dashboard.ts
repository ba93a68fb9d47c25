// One signed-in dashboard session: the SDK's subscriptions (runStatus for everything, runEvents for
// the selected run) feed the run store, and each change re-renders just the row, agent list or
// summary it touches. Queries are made once at load, on a click, or to catch up after a reconnect;
// nothing polls.
import { createHeartbeatClient, type HeartbeatClient, type Run } from '../index.ts';
import { agentItems, dashboardShell, eventItem, noRunSelected, runRow, runRowCells, runSummary, summaryLoading } from './render.ts';
import { RunStore, TERMINAL } from './run-store.ts';
import { button, describeError, h, hideError, isRefusedKey, label, showError } from './view.ts';

const FIRST_PAGE = 50;
const MAX_ROWS = 200;
const AGENTS_SHOWN = 100;

/** What the session asks of the page around it. */
export interface PageControls {
  /** Forgets the key and shows the sign-in form, with `reason` in the error banner if given. */
  signOut(reason?: string): void;
  /** Starts a fresh session with the same key. */
  reopen(): void;
}

export class Dashboard {
  private readonly client: HeartbeatClient;
  private readonly store = new RunStore();
  private readonly rows = new Map<string, HTMLTableRowElement>();
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

  constructor(
    private readonly root: HTMLElement,
    apiKey: string,
    private readonly page: PageControls,
  ) {
    this.client = createHeartbeatClient({ url: `${location.origin}/graphql`, apiKey });
  }

  async start(): Promise<void> {
    const parts = { company: this.company, live: this.live, agentsList: this.agentsList, runsBody: this.tbody, noRuns: this.noRuns, detail: this.detail };
    this.root.replaceChildren(...dashboardShell(parts, () => this.page.signOut()));
    this.renderDetail();
    try {
      const viewer = await this.client.viewer();
      if (this.closed) return;
      this.company.textContent = viewer.name;
      document.title = `${viewer.name} · Heartbeat`;
    } catch (error) {
      if (this.closed || isRefusedKey(error)) return this.fail(error, 'Cannot reach Heartbeat');
      return showError(`Cannot reach Heartbeat: ${describeError(error)}`, button('Try again', { class: 'link' }, () => this.page.reopen()));
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
    if (isRefusedKey(error)) return this.page.signOut(`That API key was refused: ${describeError(error)}`);
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
          this.store.setAgents(agents);
          this.renderAgents();
        } while (this.agentsStale);
      } finally {
        this.agentsLoading = null;
      }
    };
    return (this.agentsLoading = load());
  }

  private upsert(run: Run): void {
    const { previous, kept, agentRunningChanged } = this.store.putRun(run);
    if (!kept) return;
    if (!this.store.agents.has(run.agent.id)) {
      // A run of an agent this page has not seen: the agent is new.
      if (!this.early && !this.agentsAskedFor.has(run.agent.id)) {
        this.agentsAskedFor.add(run.agent.id);
        this.loadAgents().catch((error: unknown) => this.fail(error, 'Cannot load agents'));
      }
    } else if (agentRunningChanged) {
      this.renderAgents();
    }
    this.renderRow(run);
    if (this.selected === run.id) {
      this.renderSummary();
      // Finished: its result and output excerpts are final now.
      if (previous && !TERMINAL.has(previous.status) && TERMINAL.has(run.status)) void this.loadDetail(run.id);
    }
  }

  // --- rendering into the page ----------------------------------------------------------------

  private renderAgents(): void {
    this.agentsList.replaceChildren(...agentItems(this.store, (id) => this.select(id)));
  }

  private renderRow(run: Run): void {
    let row = this.rows.get(run.id);
    if (!row) {
      row = runRow(run.id, (id) => this.select(id));
      this.rows.set(run.id, row);
      // Newest first: before the first row created earlier than this run.
      const created = Date.parse(run.createdAt);
      const before = [...this.tbody.rows].find((r) => Date.parse(this.store.runs.get(r.dataset.runId!)?.createdAt ?? '') < created);
      this.tbody.insertBefore(row, before ?? null);
      this.trim();
      this.noRuns.hidden = true;
    }
    row.dataset.status = run.status;
    row.classList.toggle('selected', this.selected === run.id);
    row.replaceChildren(...runRowCells(run));
  }

  /** Keeps the table bounded: the oldest rows go (never the selected one). */
  private trim(): void {
    while (this.tbody.rows.length > MAX_ROWS) {
      const last = [...this.tbody.rows].reverse().find((r) => r.dataset.runId !== this.selected);
      if (!last) return;
      last.remove();
      this.rows.delete(last.dataset.runId!);
      this.store.forget(last.dataset.runId!);
    }
  }

  private renderDetail(): void {
    if (!this.selected) {
      this.detail.replaceChildren(...noRunSelected());
      return;
    }
    this.events.replaceChildren();
    this.eventsState.textContent = 'Waiting for events…';
    this.detail.replaceChildren(this.summary, h('h3', {}, 'Events'), this.events, this.eventsState);
    this.renderSummary();
  }

  private renderSummary(): void {
    const run = this.selected ? (this.store.runs.get(this.selected) ?? this.store.details.get(this.selected)) : undefined;
    if (!run) return this.summary.replaceChildren(...summaryLoading());
    const actions = { cancel: (id: string) => this.cancel(id), retry: (id: string) => this.retry(id), select: (id: string) => this.select(id) };
    this.summary.replaceChildren(...runSummary(run, this.store.details.get(run.id), actions));
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
      this.store.details.set(id, run);
      if (!this.store.runs.has(id)) this.upsert(run);
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
        this.events.append(eventItem(event));
        this.events.scrollTop = this.events.scrollHeight;
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
