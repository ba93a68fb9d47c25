// The detail pane's Log tab: the selected run's output as stored, read by window (never whole). It
// opens on the last window, "Load earlier" pages backwards a window at a time, and while the run is
// not finished it follows the log (asking again from where the last window ended, as the SDK's
// followLog does) until the run ends. Through an outage it resumes from there once the connection is
// back. New output follows the tail only while the text is scrolled to its bottom.
import { HeartbeatApiError, type HeartbeatClient, type LogWindow } from '../index.ts';
import { retryDelayMs, type LiveConnection } from './connection.ts';
import { button, describeError, h, isNetworkError } from './view.ts';

/** The window shown on open, and what each "Load earlier" adds (bytes). */
export const LOG_PAGE_BYTES = 64 * 1024;
/** How often a running run's log is asked for again (ms). */
const FOLLOW_POLL_MS = 1_000;
/** Text kept while following; beyond it the earliest windows go (Load earlier brings them back). */
const MAX_SHOWN_CHARS = 2_000_000;
/** How close to the bottom (px) still counts as "at the bottom". */
const TAIL_SLACK_PX = 24;

export const LOG_EXPIRED_TEXT = 'Log expired (removed by retention)';

const isExpired = (error: unknown) => error instanceof HeartbeatApiError && error.code === 'LOG_EXPIRED';

export interface LogViewHooks {
  /** Whether the run is known to have finished (its log is whole). */
  finished(runId: string): boolean;
  fail(error: unknown, what: string): void;
}

export class LogView {
  private readonly earlier = button('Load earlier', { class: 'link log-earlier', 'data-testid': 'log-earlier', hidden: true }, () => void this.loadEarlier());
  private readonly text = h('pre', { class: 'log', 'data-testid': 'run-log', tabindex: 0 });
  private readonly state = h('p', { class: 'muted log-state', 'data-testid': 'log-state' });
  readonly element = h('div', { class: 'log-pane', 'data-testid': 'run-log-pane' }, this.earlier, this.text, this.state);
  private runId: string | null = null;
  private watch: AbortController | null = null;
  /** The text shown, window by window, with where each starts in the log. */
  private segments: Array<{ offset: number; node: Text }> = [];
  private shownChars = 0;
  /** Where the text shown starts and ends in the log (bytes); null before the first window. */
  private start = 0;
  private end: number | null = null;
  private loadingEarlier = false;

  constructor(
    private readonly client: HeartbeatClient,
    private readonly connection: LiveConnection,
    private readonly hooks: LogViewHooks,
  ) {}

  /** Shows run `id`'s log from its last window, following it while the run is not finished. */
  open(id: string): void {
    this.close();
    this.runId = id;
    this.watch = new AbortController();
    this.segments = [];
    this.shownChars = 0;
    this.start = 0;
    this.end = null;
    this.text.replaceChildren();
    this.earlier.hidden = true;
    delete this.state.dataset.expired;
    this.state.textContent = 'Loading the log…';
    void this.follow(id, this.watch.signal);
  }

  /** Stops following (another run, another tab). */
  close(): void {
    this.watch?.abort();
    this.watch = null;
    this.runId = null;
  }

  private async follow(id: string, signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; ) {
      try {
        if (this.end === null) await this.loadTail(id, signal);
        if (signal.aborted) return;
        if (!this.hooks.finished(id)) {
          this.state.textContent = 'Following: new output shows as the run prints it.';
          for await (const window of this.client.followLog(id, { fromOffset: this.end ?? 0, limitBytes: LOG_PAGE_BYTES, pollMs: FOLLOW_POLL_MS, signal })) {
            if (signal.aborted) return;
            failures = 0;
            this.append(window);
          }
        }
        if (!signal.aborted) this.state.textContent = this.end ? 'End of the log.' : 'This run printed nothing.';
        return;
      } catch (error) {
        if (signal.aborted) return;
        if (isExpired(error)) return this.showExpired();
        if (!isNetworkError(error)) {
          this.state.textContent = `Log stopped: ${describeError(error)}`;
          return this.hooks.fail(error, 'Cannot read the log');
        }
        this.state.textContent = 'Connection lost: the log resumes when it is back.';
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(failures++)));
        await this.connection.whenLive();
      }
    }
  }

  /** The last window of the log (the size first, then the window that ends there). */
  private async loadTail(id: string, signal: AbortSignal): Promise<void> {
    const size = await this.client.logWindow(id, { limitBytes: 1 });
    if (size.expired) throw new HeartbeatApiError(LOG_EXPIRED_TEXT, 'LOG_EXPIRED');
    const window = await this.client.logWindow(id, { offset: Math.max(0, size.totalBytes - LOG_PAGE_BYTES), limitBytes: LOG_PAGE_BYTES });
    if (window.expired) throw new HeartbeatApiError(LOG_EXPIRED_TEXT, 'LOG_EXPIRED');
    if (signal.aborted) return;
    this.start = window.offset;
    this.append(window);
    this.text.scrollTop = this.text.scrollHeight;
  }

  /** New text at the end; the earliest goes when too much is shown. */
  private append(window: LogWindow): void {
    this.end = window.nextOffset;
    if (window.text) {
      const pre = this.text;
      const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight <= TAIL_SLACK_PX;
      const node = document.createTextNode(window.text);
      pre.append(node);
      this.segments.push({ offset: window.offset, node });
      this.shownChars += window.text.length;
      while (this.shownChars > MAX_SHOWN_CHARS && this.segments.length > 1) {
        const first = this.segments.shift()!;
        first.node.remove();
        this.shownChars -= first.node.length;
        this.start = this.segments[0].offset;
      }
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }
    this.earlier.hidden = this.start === 0;
  }

  /** The window before what is shown, kept in view where it was. */
  private async loadEarlier(): Promise<void> {
    const id = this.runId;
    if (!id || this.loadingEarlier || this.start === 0) return;
    this.loadingEarlier = true;
    this.earlier.disabled = true;
    try {
      const from = Math.max(0, this.start - LOG_PAGE_BYTES);
      const window = await this.client.logWindow(id, { offset: from, limitBytes: this.start - from });
      if (id !== this.runId) return;
      if (window.expired) return this.showExpired();
      const pre = this.text;
      const fromBottom = pre.scrollHeight - pre.scrollTop;
      const node = document.createTextNode(window.text);
      pre.prepend(node);
      this.segments.unshift({ offset: window.offset, node });
      this.shownChars += window.text.length;
      this.start = window.offset;
      pre.scrollTop = pre.scrollHeight - fromBottom;
      this.earlier.hidden = this.start === 0;
    } catch (error) {
      this.hooks.fail(error, 'Cannot load earlier output');
    } finally {
      this.loadingEarlier = false;
      this.earlier.disabled = false;
    }
  }

  private showExpired(): void {
    this.watch?.abort();
    this.text.replaceChildren();
    this.segments = [];
    this.earlier.hidden = true;
    this.state.textContent = LOG_EXPIRED_TEXT;
    this.state.dataset.expired = '';
  }
}
