// The agents pane, kept current without a subscription of its own (the API has none for agents):
// reloaded when a run changes (a pause cancels its runs; a new agent's first run shows up), at
// most once every few seconds however many changes arrive, after a reconnect, when the tab comes
// back into view, and once a minute for what no run tells (a new agent, an idle agent paused).
import type { HeartbeatClient } from '../index.ts';
import { agentItems } from './render.ts';
import type { RunStore } from './run-store.ts';
import { h } from './view.ts';

const AGENTS_SHOWN = 100;
/** At most one reload per this interval while run changes keep coming. */
const MIN_RELOAD_GAP_MS = 3_000;
const PERIODIC_RELOAD_MS = 60_000;

export class AgentList {
  readonly element = h('ul', { class: 'agents', 'data-testid': 'agents-list' });
  private loading: Promise<void> | null = null;
  private stale = false;
  private lastLoad = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly interval: ReturnType<typeof setInterval>;
  private readonly onVisible = () => document.visibilityState === 'visible' && this.soon();
  private closed = false;

  constructor(
    private readonly client: HeartbeatClient,
    private readonly store: RunStore,
    private readonly select: (runId: string) => void,
    private readonly fail: (error: unknown, what: string) => void,
  ) {
    this.interval = setInterval(() => document.visibilityState === 'visible' && this.soon(), PERIODIC_RELOAD_MS);
    document.addEventListener('visibilitychange', this.onVisible);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.interval);
    if (this.timer) clearTimeout(this.timer);
    document.removeEventListener('visibilitychange', this.onVisible);
  }

  render(): void {
    this.element.replaceChildren(...agentItems(this.store, this.select));
  }

  /** A reload soon: now if the last one was a while ago, else once the gap has passed (one for many calls). */
  soon(): void {
    if (this.timer || this.closed) return;
    const wait = Math.max(0, this.lastLoad + MIN_RELOAD_GAP_MS - Date.now());
    this.timer = setTimeout(() => {
      this.timer = null;
      this.load().catch((error: unknown) => this.fail(error, 'Cannot load agents'));
    }, wait);
  }

  /** (Re)loads the agents; calls made while a load is on its way share one more load after it. */
  load(): Promise<void> {
    if (this.loading) {
      this.stale = true;
      return this.loading;
    }
    const load = async () => {
      try {
        do {
          this.stale = false;
          this.lastLoad = Date.now();
          const agents = await this.client.agents(AGENTS_SHOWN);
          if (this.closed) return;
          this.store.setAgents(agents);
          this.render();
        } while (this.stale);
      } finally {
        this.loading = null;
      }
    };
    return (this.loading = load());
  }
}
