// The runs table: one row per run, newest first, and its footer (how many are shown, "Load older
// runs"). It stays bounded: live runs pile up at the top, and past the limit the oldest rows go,
// saying so in the footer; loading older runs raises the limit, so a page asked for stays.
import type { HeartbeatClient, Run } from '../index.ts';
import { runRow, runRowCells } from './render.ts';
import type { RunStore } from './run-store.ts';
import { button, h } from './view.ts';

export const FIRST_PAGE = 50;
/** The API's largest page. */
const CATCH_UP_PAGE = 100;
const MAX_ROWS = 200;

type RunsPage = Awaited<ReturnType<HeartbeatClient['runs']>>;

export interface RunTableHooks {
  fetch(args: Parameters<HeartbeatClient['runs']>[0]): Promise<RunsPage>;
  /** Takes a run from a query into the session (store, agents, detail), which renders its row. */
  put(run: Run): void;
  select(runId: string): void;
  fail(error: unknown, what: string): void;
  selected(): string | null;
}

export class RunTable {
  readonly body = h('tbody');
  readonly empty = h('p', { class: 'empty' }, 'Loading runs…');
  private readonly rows = new Map<string, HTMLTableRowElement>();
  private readonly count = h('span', { class: 'muted', 'data-testid': 'runs-count' });
  private readonly olderButton = button('Load older runs', { class: 'link', 'data-testid': 'load-older' }, () => void this.loadOlder());
  readonly footer = h('p', { class: 'table-foot', hidden: true }, this.count, this.olderButton);
  /**
   * Where older runs continue: the connection's cursor after the oldest row loaded; `before` once
   * rows were dropped (the cursor would skip them); null when there are none.
   */
  private older: { cursor: string } | { before: true } | null = null;
  private dropped = 0;
  private limit = MAX_ROWS;
  private loaded = false;

  constructor(
    private readonly store: RunStore,
    private readonly hooks: RunTableHooks,
  ) {}

  get size(): number {
    return this.rows.size;
  }

  /** The first page, or after a reconnect every page down to the oldest row shown (what changed meanwhile). */
  async refresh(): Promise<void> {
    const oldest = this.oldestCreatedAt();
    if (!this.loaded || oldest === null) {
      const page = await this.hooks.fetch({ first: FIRST_PAGE });
      for (const edge of page.edges) this.hooks.put(edge.node);
      this.older = page.pageInfo.hasNextPage && page.pageInfo.endCursor ? { cursor: page.pageInfo.endCursor } : null;
      this.loaded = true;
    } else {
      let after: string | undefined;
      for (let fetched = 0; fetched < this.limit; ) {
        const page = await this.hooks.fetch({ first: CATCH_UP_PAGE, after });
        for (const edge of page.edges) this.hooks.put(edge.node);
        fetched += page.edges.length;
        const last = page.edges.at(-1)?.node;
        if (!page.pageInfo.hasNextPage || !page.pageInfo.endCursor || !last || Date.parse(last.createdAt) < oldest) break;
        after = page.pageInfo.endCursor;
      }
    }
    this.empty.textContent = 'No runs yet. Wake an agent and its runs appear here.';
    this.empty.hidden = this.rows.size > 0;
    this.renderFooter();
  }

  async loadOlder(): Promise<void> {
    const older = this.older;
    if (!older) return;
    this.olderButton.disabled = true;
    try {
      const oldest = this.oldestCreatedAt();
      const page =
        'cursor' in older
          ? await this.hooks.fetch({ first: FIRST_PAGE, after: older.cursor })
          : // Up to and including the oldest row's millisecond (the API's precision); rows shown twice merge.
            await this.hooks.fetch({ first: FIRST_PAGE, filter: oldest === null ? undefined : { createdBefore: new Date(oldest + 1).toISOString() } });
      // Asked for: these rows stay, however many live runs arrive after them.
      this.limit = Math.max(this.limit, this.rows.size + page.edges.length);
      for (const edge of page.edges) this.hooks.put(edge.node);
      this.older = page.pageInfo.hasNextPage && page.pageInfo.endCursor ? { cursor: page.pageInfo.endCursor } : null;
      this.dropped = 0;
      this.renderFooter();
    } catch (error) {
      this.hooks.fail(error, 'Cannot load older runs');
    } finally {
      this.olderButton.disabled = false;
    }
  }

  /** Creates or updates the run's row (the store holds its latest state). */
  render(run: Run): void {
    let row = this.rows.get(run.id);
    if (!row) {
      row = runRow(run.id, this.hooks.select);
      this.rows.set(run.id, row);
      // Newest first: before the first row created earlier than this run.
      const created = Date.parse(run.createdAt);
      const before = [...this.body.rows].find((r) => Date.parse(this.store.runs.get(r.dataset.runId!)?.createdAt ?? '') < created);
      this.body.insertBefore(row, before ?? null);
      this.trim();
      this.empty.hidden = true;
      this.renderFooter();
    }
    row.dataset.status = run.status;
    row.classList.toggle('selected', this.hooks.selected() === run.id);
    row.replaceChildren(...runRowCells(run));
  }

  markSelected(previous: string | null, next: string): void {
    this.rows.get(previous ?? '')?.classList.remove('selected');
    this.rows.get(next)?.classList.add('selected');
  }

  /** Keeps the table bounded: the oldest rows go (never the selected one), and the footer says so. */
  private trim(): void {
    while (this.body.rows.length > this.limit) {
      const last = [...this.body.rows].reverse().find((r) => r.dataset.runId !== this.hooks.selected());
      if (!last) return;
      last.remove();
      this.rows.delete(last.dataset.runId!);
      this.store.forget(last.dataset.runId!);
      this.dropped++;
      this.older = { before: true };
    }
  }

  private renderFooter(): void {
    if (!this.loaded) return;
    const shown = `${this.rows.size} run${this.rows.size === 1 ? '' : 's'} shown`;
    const dropped = this.dropped ? ` · ${this.dropped} older run${this.dropped === 1 ? '' : 's'} removed from the table to keep it short` : '';
    this.count.textContent = `${shown}${dropped}${this.older ? ' · ' : this.rows.size ? ' · no older runs' : ''}`;
    this.olderButton.hidden = !this.older;
    this.footer.hidden = this.rows.size === 0;
  }

  private oldestCreatedAt(): number | null {
    const last = this.body.rows[this.body.rows.length - 1];
    const run = last ? this.store.runs.get(last.dataset.runId!) : undefined;
    return run ? Date.parse(run.createdAt) : null;
  }
}
