// The runs of one view (runs page filters), newest first, loaded page by page and kept current by
// the console's live feed. It stays bounded: live runs pile up at the top, and past the limit the
// oldest go (the footer says so); loading older runs raises the limit, so a page asked for stays.
// It lives on while the person looks at a run and comes back (runs-list-cache.ts), still current,
// without reading the list again. No DOM here.
import type { HeartbeatClient, Run } from '../../index.ts';
import type { LiveRuns } from '../live/live-runs.ts';
import { apiFilter, runMatches, type RunsView } from './run-filter.ts';

export const FIRST_PAGE = 50;
/** The API's largest page. */
const CATCH_UP_PAGE = 100;
const MAX_ROWS = 200;
/** How long a first load waits for the live feed, so no change falls between the two. */
const LIVE_WAIT_MS = 3_000;

type RunsPage = Awaited<ReturnType<HeartbeatClient['runs']>>;

export interface RunListSnapshot {
  runs: readonly Run[];
  /** Whether the first page has arrived. */
  loaded: boolean;
  /** Whether there are older runs to load. */
  hasOlder: boolean;
  /** Older runs removed from the top's view to keep it short, since the last "Load older". */
  dropped: number;
}

export class RunList {
  private readonly byId = new Map<string, Run>();
  private order: Run[] = [];
  /** Live updates that arrived before the first page: applied on top of it. */
  private early: Run[] | null = [];
  /**
   * Where older runs continue: the cursor after the oldest row loaded; `before` once rows were
   * dropped (the cursor would skip them); null when there are none.
   */
  private older: { cursor: string } | { before: true } | null = null;
  private dropped = 0;
  private limit = MAX_ROWS;
  private loaded = false;
  private loading: Promise<void> | null = null;
  /** The list may have missed changes: the connection dropped since it was read. */
  stale = false;
  private readonly listeners = new Set<() => void>();
  private readonly unlisten: Array<() => void>;
  private snapshotCache: RunListSnapshot | null = null;

  constructor(
    private readonly client: HeartbeatClient,
    private readonly live: LiveRuns,
    readonly view: RunsView,
    readonly key: string,
  ) {
    this.unlisten = [live.onRun((run) => (this.early ? this.early.push(run) : this.put(run, true))), live.onRecovered(() => this.recovered())];
  }

  dispose(): void {
    for (const stop of this.unlisten.splice(0)) stop();
    this.listeners.clear();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  snapshot(): RunListSnapshot {
    return (this.snapshotCache ??= { runs: this.order, loaded: this.loaded, hasOlder: this.older !== null, dropped: this.dropped });
  }

  /** The first page (after waiting briefly for the live feed), or after a drop every page down to the oldest row shown. */
  refresh(): Promise<void> {
    this.loading ??= this.read().finally(() => (this.loading = null));
    return this.loading;
  }

  private async read(): Promise<void> {
    const filter = apiFilter(this.view);
    const oldest = this.order.at(-1);
    if (!this.loaded || !oldest) {
      await this.live.whenLiveOrAfter(LIVE_WAIT_MS);
      const page = await this.client.runs({ first: FIRST_PAGE, filter });
      for (const edge of page.edges) this.put(edge.node, false, false);
      this.older = this.cursorAfter(page);
      this.loaded = true;
    } else {
      let after: string | undefined;
      for (let fetched = 0; fetched < this.limit; ) {
        const page = await this.client.runs({ first: CATCH_UP_PAGE, after, filter });
        for (const edge of page.edges) this.put(edge.node, false, false);
        fetched += page.edges.length;
        const last = page.edges.at(-1)?.node;
        if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || !last || Date.parse(last.createdAt) < Date.parse(oldest.createdAt)) break;
        after = page.pageInfo.endCursor;
      }
    }
    this.stale = false;
    const early = this.early ?? [];
    this.early = null;
    for (const run of early) this.put(run, true, false);
    this.changed();
  }

  /** The next page of older runs. */
  async loadOlder(): Promise<void> {
    const older = this.older;
    if (!older) return;
    const oldest = this.order.at(-1);
    let page: RunsPage;
    if ('cursor' in older) {
      page = await this.client.runs({ first: FIRST_PAGE, after: older.cursor, filter: apiFilter(this.view) });
    } else {
      // Up to and including the oldest row's millisecond (the API's precision); rows shown twice merge.
      const before = oldest ? new Date(Date.parse(oldest.createdAt) + 1).toISOString() : this.view.before;
      page = await this.client.runs({ first: FIRST_PAGE, filter: { ...apiFilter(this.view), ...(before ? { createdBefore: before } : {}) } });
    }
    // Asked for: these rows stay, however many live runs arrive after them.
    this.limit = Math.max(this.limit, this.order.length + page.edges.length);
    for (const edge of page.edges) this.put(edge.node, false, false);
    this.older = this.cursorAfter(page);
    this.dropped = 0;
    this.changed();
  }

  /**
   * A run's new state. A live update adds a run only when it belongs in the view; one already
   * shown is updated in place whatever it became. An answer older than the state kept (by
   * updatedAt) changes nothing: answers can arrive out of order.
   */
  private put(run: Run, live: boolean, notify = true): void {
    const previous = this.byId.get(run.id);
    if (previous && Date.parse(previous.updatedAt) > Date.parse(run.updatedAt)) return;
    if (!previous && live && !runMatches(run, this.view)) return;
    this.byId.set(run.id, run);
    if (previous) {
      this.order = this.order.map((shown) => (shown.id === run.id ? run : shown));
    } else {
      // Newest first: before the first run created earlier than this one.
      const created = Date.parse(run.createdAt);
      const at = this.order.findIndex((shown) => Date.parse(shown.createdAt) < created);
      this.order = at === -1 ? [...this.order, run] : [...this.order.slice(0, at), run, ...this.order.slice(at)];
      this.trim();
    }
    if (notify) this.changed();
  }

  private trim(): void {
    if (this.order.length <= this.limit) return;
    for (const gone of this.order.slice(this.limit)) this.byId.delete(gone.id);
    this.dropped += this.order.length - this.limit;
    this.order = this.order.slice(0, this.limit);
    this.older = { before: true };
  }

  private cursorAfter(page: RunsPage) {
    return page.pageInfo.hasNextPage && page.pageInfo.endCursor ? { cursor: page.pageInfo.endCursor } : null;
  }

  /** The page showing the list reads it again now; a list not shown, when it is shown again. */
  private recovered(): void {
    this.stale = true;
  }

  private changed(): void {
    this.snapshotCache = null;
    this.listeners.forEach((listener) => listener());
  }
}
