// One signed-in dashboard session: the live connection (connection.ts) feeds the run store, and
// each change re-renders just the row (run-table.ts), agent (agent-list.ts) or detail
// (detail-pane.ts) it touches. Queries are made at load, on a click, to catch up after a
// reconnect, and (throttled) to keep the agents current; the runs themselves are never polled.
import { createHeartbeatClient, HeartbeatApiError, type HeartbeatClient, type Run } from '../index.ts';
import { AgentList } from './agent-list.ts';
import { LiveConnection, retryDelayMs, type LiveState } from './connection.ts';
import { DetailPane } from './detail-pane.ts';
import { dashboardShell } from './render.ts';
import { RunStore } from './run-store.ts';
import { RunTable } from './run-table.ts';
import { SpendPanel } from './spend-panel.ts';
import { button, countdown, describeError, h, hideError, isNetworkError, isRefusedKey, label, shortId, showBanner, showError, showNotice } from './view.ts';

/** What the session asks of the page around it. */
export interface PageControls {
  /** Forgets the key and shows the sign-in form, with `reason` in the error banner if given. */
  signOut(reason?: string): void;
}

const BRAND = 'Heartbeat';

export class Dashboard {
  private readonly client: HeartbeatClient;
  private readonly store = new RunStore();
  private readonly connection: LiveConnection;
  private readonly table: RunTable;
  private readonly agents: AgentList;
  private readonly detail: DetailPane;
  private readonly spend: SpendPanel;
  /** Live updates that arrived before the first page of runs: applied on top of it. */
  private early: Run[] | null = [];
  /** Whether the key may cancel and retry: not a VIEWER key (and false once the API said FORBIDDEN). */
  private canAct = true;
  private closed = false;
  private wakeStart: (() => void) | null = null;

  private readonly company = h('span', { class: 'company', hidden: true });
  private readonly live = h('span', { class: 'live', 'data-state': 'connecting', 'data-testid': 'live-state' }, 'connecting');

  constructor(
    private readonly root: HTMLElement,
    apiKey: string,
    private readonly page: PageControls,
  ) {
    // No retries inside the SDK: the connection below retries for as long as the page is open.
    this.client = createHeartbeatClient({ url: `${location.origin}/graphql`, apiKey, retryAttempts: 0 });
    const fail = (error: unknown, what: string) => this.fail(error, what);
    this.connection = new LiveConnection(this.client, {
      run: (run) => (this.early ? this.early.push(run) : this.upsert(run, true)),
      state: (state, retry) => this.connectionState(state, retry),
      recovered: () => void this.catchUp(),
      refused: (error) => this.fail(error, 'Live updates stopped'),
    });
    const select = (id: string) => this.select(id);
    this.table = new RunTable(this.store, {
      fetch: (args) => this.client.runs(args),
      put: (run) => this.upsert(run, false),
      select,
      fail,
      selected: () => this.detail.selected,
    });
    this.agents = new AgentList(this.client, this.store, select, fail);
    this.spend = new SpendPanel(this.client);
    const actions = { cancel: (id: string) => this.cancel(id), retry: (id: string) => this.retry(id), select };
    this.detail = new DetailPane(this.client, this.store, this.connection, { actions, fail, canAct: () => this.canAct });
  }

  async start(): Promise<void> {
    const parts = { company: this.company, live: this.live, agentsList: this.agents.element, spend: this.spend.element, runsBody: this.table.body, noRuns: this.table.empty, runsFooter: this.table.footer, detail: this.detail.element };
    this.root.replaceChildren(...dashboardShell(parts, () => this.page.signOut()));
    const viewer = await this.reachViewer();
    if (!viewer) return;
    hideError();
    this.canAct = viewer.role !== 'VIEWER';
    // The default company is named like the product: say it once.
    this.company.textContent = viewer.name;
    this.company.hidden = viewer.name === BRAND;
    document.title = viewer.name === BRAND ? BRAND : `${viewer.name} · ${BRAND}`;
    this.connection.start();
    // Subscribed first, then the first page: no change can fall between the two.
    await Promise.race([this.connection.whenLive(), new Promise((resolve) => setTimeout(resolve, 3_000))]);
    await this.loadAll('Cannot load runs');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.connection.stop();
    this.agents.close();
    this.detail.close();
    this.wakeStart?.();
    await this.client.close();
  }

  /** The company, asked until the server answers (with a backoff and a "Try again" shortcut); null when closed or refused. */
  private async reachViewer() {
    for (let failures = 0; !this.closed; failures++) {
      try {
        return await this.client.viewer();
      } catch (error) {
        if (this.closed || isRefusedKey(error) || !isNetworkError(error)) {
          this.fail(error, 'Cannot reach Heartbeat');
          return null;
        }
        const delay = retryDelayMs(failures);
        const tryAgain = button('Try again', { class: 'link' }, () => this.wakeStart?.());
        showBanner('connection', [`Cannot reach Heartbeat: ${describeError(error)}. Trying again `, countdown(new Date(Date.now() + delay).toISOString()), '.'], tryAgain);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => this.wakeStart?.(), delay);
          this.wakeStart = () => {
            clearTimeout(timer);
            this.wakeStart = null;
            resolve();
          };
        });
      }
    }
    return null;
  }

  private fail(error: unknown, what: string): void {
    if (this.closed) return;
    if (isRefusedKey(error)) return this.page.signOut(`That API key was refused: ${describeError(error)}`);
    // A connection problem goes away by itself once the connection is back.
    showBanner(isNetworkError(error) ? 'connection' : 'error', `${what}: ${describeError(error)}`);
  }

  private connectionState(state: LiveState, retry?: { at: number; error: unknown }): void {
    this.live.dataset.state = state;
    this.live.textContent = state;
    if (state === 'live') return hideError('connection');
    if (state === 'offline' && retry) {
      const now = button('Reconnect now', { class: 'link', 'data-testid': 'reconnect' }, () => this.connection.reconnectNow());
      showBanner('connection', [`Live updates interrupted: ${describeError(retry.error)}. Next attempt `, countdown(new Date(retry.at).toISOString()), '.'], now);
    }
  }

  /** Runs, agents and spend: at load, and after a reconnect to catch up with what changed meanwhile. */
  private async loadAll(what: string): Promise<boolean> {
    // Alongside, not waited for: the panel shows its own failure, and the runs do not wait for it.
    void this.spend.load();
    try {
      await Promise.all([this.table.refresh(), this.agents.load()]);
      if (this.closed) return false;
      const early = this.early ?? [];
      this.early = null;
      for (const run of early) this.upsert(run, true);
      return true;
    } catch (error) {
      if (this.closed || isRefusedKey(error)) return (this.fail(error, what), false);
      // Until a load succeeds, live updates wait in `early`: offer to try again rather than wait for a reconnect.
      const again = button('Try again', { class: 'link' }, () => void this.loadAll(what).then((done) => done && hideError()));
      showBanner(isNetworkError(error) ? 'connection' : 'error', `${what}: ${describeError(error)}`, again);
      return false;
    }
  }

  private async catchUp(): Promise<void> {
    if (!(await this.loadAll('Cannot catch up after reconnecting'))) return;
    hideError('connection');
    // Its result and output may have been asked for while the server was away.
    void this.detail.loadDetail();
  }

  /** A run's new state, from a live update (`live`) or a query. */
  private upsert(run: Run, live: boolean): void {
    const { previous, kept, agentRunningChanged } = this.store.putRun(run);
    if (!kept) return;
    const knownAgent = this.store.agents.has(run.agent.id);
    // A new status may come with a changed agent (paused, or new): reload the agents, throttled.
    if ((live && previous?.status !== run.status) || (!knownAgent && !this.early)) this.agents.soon();
    // Busy or idle follows the runs themselves, at once.
    if (knownAgent && agentRunningChanged) this.agents.render();
    this.table.render(run);
    this.detail.runChanged(run.id, previous?.status, run.status);
  }

  private select(id: string): void {
    if (this.detail.selected === id) return;
    this.table.markSelected(this.detail.selected, id);
    this.detail.show(id);
  }

  // --- actions --------------------------------------------------------------------------------

  private async act(what: string, action: () => Promise<void>): Promise<void> {
    try {
      await action();
    } catch (error) {
      if (error instanceof HeartbeatApiError && error.code === 'FORBIDDEN') {
        // The key's role can change meaning only if it was replaced; trust the answer.
        this.canAct = false;
        this.detail.renderSummary();
        return showNotice(`This API key may only read: ${describeError(error)}. Cancel and Retry are hidden.`);
      }
      this.fail(error, what);
    }
  }

  private cancel(id: string): Promise<void> {
    return this.act('Cannot cancel the run', async () => this.upsert(await this.client.cancel(id, 'Cancelled from the dashboard'), false));
  }

  private retry(id: string): Promise<void> {
    return this.act('Cannot retry the run', async () => {
      const { outcome, run } = await this.client.retry(id);
      if (!run) return showError(`The retry was not queued: ${label(outcome)}`);
      this.upsert(run, false);
      this.select(run.id);
      if (outcome === 'COALESCED' || outcome === 'DUPLICATE') showNotice(`Already retried: showing run ${shortId(run.id)}, the retry made before.`);
    });
  }
}
