// The detail pane: the selected run's summary (and, once queried, its result and output excerpts)
// and, in two tabs, its events, live, and its log (log-view.ts, read only while that tab is open).
// The event stream survives outages: it resumes from the last event shown once the connection is
// back. New events follow the tail only while the list is scrolled to its bottom, so reading
// earlier events is not interrupted.
import { HeartbeatApiError, type HeartbeatClient, type RunEvent } from '../index.ts';
import { retryDelayMs, type LiveConnection } from './connection.ts';
import { LogView } from './log-view.ts';
import { eventItem, noRunSelected, runSummary, summaryLoading, type RunActions } from './render.ts';
import { TERMINAL, type RunStore } from './run-store.ts';
import { button, describeError, h } from './view.ts';

/** How close to the bottom (px) still counts as "at the bottom". */
const TAIL_SLACK_PX = 24;
const NARROW = '(max-width: 1100px)';

export interface DetailHooks {
  actions: RunActions;
  fail(error: unknown, what: string): void;
  /** Whether the key may cancel and retry (false once the API said FORBIDDEN). */
  canAct(): boolean;
}

export class DetailPane {
  readonly element = h('section', { class: 'panel detail', 'aria-label': 'Run detail', 'data-testid': 'run-detail' });
  private readonly summary = h('div', { class: 'summary' });
  private readonly events = h('ol', { class: 'events', 'data-testid': 'run-events' });
  private readonly eventsState = h('p', { class: 'muted events-state' });
  private readonly eventsTab = button('Events', { class: 'tab', role: 'tab', 'aria-selected': 'true', 'data-testid': 'tab-events' }, () => this.showTab('events'));
  private readonly logTab = button('Log', { class: 'tab', role: 'tab', 'aria-selected': 'false', 'data-testid': 'tab-log' }, () => this.showTab('log'));
  private readonly tabs = h('div', { class: 'tabs', role: 'tablist' }, this.eventsTab, this.logTab);
  private readonly log: LogView;
  /** The tab shown; it stays when another run is selected. */
  private tab: 'events' | 'log' = 'events';
  private selectedId: string | null = null;
  private watch: AbortController | null = null;

  constructor(
    private readonly client: HeartbeatClient,
    private readonly store: RunStore,
    private readonly connection: LiveConnection,
    private readonly hooks: DetailHooks,
  ) {
    this.log = new LogView(client, connection, {
      finished: (id) => TERMINAL.has(this.store.runs.get(id)?.status ?? this.store.details.get(id)?.status ?? ''),
      fail: (error, what) => this.hooks.fail(error, what),
    });
    this.element.replaceChildren(...noRunSelected());
  }

  get selected(): string | null {
    return this.selectedId;
  }

  close(): void {
    this.watch?.abort();
    this.log.close();
  }

  show(id: string): void {
    this.selectedId = id;
    // The previous run's event stream ends now rather than at its next event.
    this.watch?.abort();
    this.watch = new AbortController();
    this.events.replaceChildren();
    this.eventsState.textContent = 'Waiting for events…';
    this.element.replaceChildren(this.summary, this.tabs, this.events, this.eventsState, this.log.element);
    this.showTab(this.tab);
    this.renderSummary();
    // Below the runs on a narrow screen: bring it into view, or the click seems to do nothing.
    if (matchMedia(NARROW).matches) this.element.scrollIntoView({ block: 'start' });
    void this.loadDetail(id);
    void this.followEvents(id, this.watch.signal);
  }

  /** Shows the events or the log of the selected run; the log is read only while its tab is open. */
  private showTab(tab: 'events' | 'log'): void {
    this.tab = tab;
    this.eventsTab.setAttribute('aria-selected', String(tab === 'events'));
    this.logTab.setAttribute('aria-selected', String(tab === 'log'));
    this.events.hidden = this.eventsState.hidden = tab !== 'events';
    this.log.element.hidden = tab !== 'log';
    if (tab === 'log' && this.selectedId) this.log.open(this.selectedId);
    else this.log.close();
  }

  /** The run changed: `previous` is its state before. */
  runChanged(id: string, previousStatus: string | undefined, status: string): void {
    if (id !== this.selectedId) return;
    this.renderSummary();
    // Finished: its result and output excerpts are final now.
    if (previousStatus && !TERMINAL.has(previousStatus) && TERMINAL.has(status)) void this.loadDetail(id);
  }

  renderSummary(): void {
    const id = this.selectedId;
    const run = id ? (this.store.runs.get(id) ?? this.store.details.get(id)) : undefined;
    if (!run) return this.summary.replaceChildren(...summaryLoading());
    this.summary.replaceChildren(...runSummary(run, this.store.details.get(run.id), this.hooks.actions, this.hooks.canAct()));
  }

  /** Queries what only a query tells (result, output excerpts); again after a reconnect, as it may have failed meanwhile. */
  async loadDetail(id = this.selectedId): Promise<void> {
    if (!id) return;
    try {
      const run = await this.client.run(id);
      if (!run) return;
      this.store.details.set(id, run);
      if (this.selectedId === id) this.renderSummary();
    } catch (error) {
      this.hooks.fail(error, 'Cannot load the run');
    }
  }

  /** The run's events, live, until another run is selected (`signal`), resuming after outages. */
  private async followEvents(id: string, signal: AbortSignal): Promise<void> {
    let lastSeq = 0;
    for (let failures = 0; !signal.aborted; ) {
      try {
        for await (const event of this.client.watchRunEvents(id, { afterSeq: lastSeq, signal })) {
          if (signal.aborted) return;
          failures = 0;
          lastSeq = event.seq;
          this.append(event);
        }
        if (!signal.aborted) this.eventsState.textContent = this.events.childElementCount ? 'End of the run’s events.' : 'This run has no events.';
        return;
      } catch (error) {
        if (signal.aborted) return;
        const resumable = error instanceof HeartbeatApiError && (error.code === 'NETWORK_ERROR' || error.code === 'SLOW_CONSUMER');
        if (!resumable) {
          this.eventsState.textContent = `Event stream stopped: ${describeError(error)}`;
          return this.hooks.fail(error, 'Event stream stopped');
        }
        this.eventsState.textContent = 'Connection lost: the events resume when it is back.';
        // A pause first: the connection may not have noticed the drop yet.
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(failures++)));
        await this.connection.whenLive();
      }
    }
  }

  private append(event: RunEvent): void {
    const list = this.events;
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight <= TAIL_SLACK_PX;
    this.eventsState.textContent = 'Live';
    list.append(eventItem(event));
    if (atBottom) list.scrollTop = list.scrollHeight;
  }
}
