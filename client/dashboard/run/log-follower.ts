// A run's output as stored, read by window (never whole), written into a <pre> as text nodes (a
// long log is appended to, not re-rendered). It opens on the last window, pages backwards a window
// at a time, and while the run is not finished it follows the log (asking again from where the last
// window ended, as the SDK's followLog does) until the run ends. Through an outage it resumes from
// there once the connection is back. New output follows the tail only while the text is scrolled to
// its bottom, so reading earlier output is not interrupted.
import { HeartbeatApiError, type HeartbeatClient, type LogWindow } from '../../index.ts';
import { describeError, isNetworkError } from '../errors.ts';
import { retryDelayMs } from '../live/connection.ts';
import type { LiveRuns } from '../live/live-runs.ts';

/** The window shown first, and what each "Load earlier" adds (bytes). */
export const LOG_PAGE_BYTES = 64 * 1024;
/** How often a running run's log is asked for again (ms). */
const FOLLOW_POLL_MS = 1_000;
/** Text kept while following; beyond it the earliest windows go (Load earlier brings them back). */
const MAX_SHOWN_CHARS = 2_000_000;
/** How close to the bottom (px) still counts as "at the bottom". */
const TAIL_SLACK_PX = 24;

export const LOG_EXPIRED_TEXT = 'Log expired (removed by retention)';

const isExpired = (error: unknown) => error instanceof HeartbeatApiError && error.code === 'LOG_EXPIRED';

export interface LogFollowerHooks {
  /** Whether the run is known to have finished (its log is whole). */
  finished(): boolean;
  /** What the follower is doing, in words; `expired` when retention removed the log. */
  state(text: string, expired?: boolean): void;
  /** Whether there is earlier output to load. */
  earlier(available: boolean): void;
  fail(error: unknown, what: string): void;
}

export class LogFollower {
  private readonly watch = new AbortController();
  /** The text shown, window by window, with where each starts in the log. */
  private segments: Array<{ offset: number; node: Text }> = [];
  private shownChars = 0;
  /** Where the text shown starts and ends in the log (bytes); null before the first window. */
  private start = 0;
  private end: number | null = null;
  private loadingEarlier = false;

  constructor(
    private readonly client: HeartbeatClient,
    private readonly live: LiveRuns,
    private readonly runId: string,
    private readonly text: HTMLPreElement,
    private readonly hooks: LogFollowerHooks,
  ) {}

  open(): void {
    this.hooks.state('Loading the log…');
    void this.follow(this.watch.signal);
  }

  close(): void {
    this.watch.abort();
  }

  private async follow(signal: AbortSignal): Promise<void> {
    for (let failures = 0; !signal.aborted; ) {
      try {
        if (this.end === null) await this.loadTail(signal);
        if (signal.aborted) return;
        if (!this.hooks.finished()) {
          this.hooks.state('Following: new output shows as the run prints it.');
          for await (const window of this.client.followLog(this.runId, { fromOffset: this.end ?? 0, limitBytes: LOG_PAGE_BYTES, pollMs: FOLLOW_POLL_MS, signal })) {
            if (signal.aborted) return;
            failures = 0;
            this.append(window);
          }
        }
        if (!signal.aborted) this.hooks.state(this.end ? 'End of the log.' : 'This run printed nothing.');
        return;
      } catch (error) {
        if (signal.aborted) return;
        if (isExpired(error)) return this.showExpired();
        if (!isNetworkError(error)) {
          this.hooks.state(`Log stopped: ${describeError(error)}`);
          return this.hooks.fail(error, 'Cannot read the log');
        }
        this.hooks.state('Connection lost: the log resumes when it is back.');
        // A pause first: the connection may not have noticed the drop yet.
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs(failures++)));
        await this.live.whenLive();
      }
    }
  }

  /** The last window of the log (its size first, then the window that ends there). */
  private async loadTail(signal: AbortSignal): Promise<void> {
    const size = await this.client.logWindow(this.runId, { limitBytes: 1 });
    if (size.expired) throw new HeartbeatApiError(LOG_EXPIRED_TEXT, 'LOG_EXPIRED');
    const window = await this.client.logWindow(this.runId, { offset: Math.max(0, size.totalBytes - LOG_PAGE_BYTES), limitBytes: LOG_PAGE_BYTES });
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
    this.hooks.earlier(this.start > 0);
  }

  /** The window before what is shown, kept in view where it was. */
  async loadEarlier(): Promise<void> {
    if (this.loadingEarlier || this.start === 0) return;
    this.loadingEarlier = true;
    try {
      const from = Math.max(0, this.start - LOG_PAGE_BYTES);
      const window = await this.client.logWindow(this.runId, { offset: from, limitBytes: this.start - from });
      if (this.watch.signal.aborted) return;
      if (window.expired) return this.showExpired();
      const pre = this.text;
      const fromBottom = pre.scrollHeight - pre.scrollTop;
      const node = document.createTextNode(window.text);
      pre.prepend(node);
      this.segments.unshift({ offset: window.offset, node });
      this.shownChars += window.text.length;
      this.start = window.offset;
      pre.scrollTop = pre.scrollHeight - fromBottom;
      this.hooks.earlier(this.start > 0);
    } catch (error) {
      this.hooks.fail(error, 'Cannot load earlier output');
    } finally {
      this.loadingEarlier = false;
    }
  }

  private showExpired(): void {
    this.watch.abort();
    this.text.replaceChildren();
    this.segments = [];
    this.hooks.earlier(false);
    this.hooks.state(LOG_EXPIRED_TEXT, true);
  }
}
