// The page's live link to Heartbeat: the runStatus subscription, kept open for as long as the page
// is, through outages of any length. The session makes its SDK client with retryAttempts 0, so
// every drop ends the subscription here and this loop alone decides when to try again: a short
// capped backoff, never giving up, and at once when the person asks (Reconnect) or the browser
// says it is back online.
import type { HeartbeatClient, Run } from '../../index.ts';
import { isRefusedKey } from '../errors.ts';

/** connecting: first connection; reconnecting: just dropped; offline: attempts are failing. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline';

/** The longest wait between two attempts: the page is live again at most this long after the server is. */
export const MAX_RETRY_DELAY_MS = 10_000;

/** Before attempt `failures + 1`: 0.5–1 s, 1–2 s, 2–4 s, 4–8 s, then 5–10 s for as long as it takes (pure). */
export function retryDelayMs(failures: number, random = Math.random()): number {
  const ceiling = Math.min(MAX_RETRY_DELAY_MS, 1_000 * 2 ** Math.max(0, failures));
  return Math.round(ceiling / 2 + (ceiling / 2) * random);
}

export interface LiveListener {
  run(run: Run): void;
  /** The state changed; when not live, `retry` says when the next attempt is due and why the last one ended. */
  state(state: LiveState, retry?: { at: number; error: unknown }): void;
  /** Connected again after a drop: whatever changed meanwhile was missed. */
  recovered(): void;
  /** The key was refused (revoked): trying again cannot help. */
  refused(error: unknown): void;
}

export class LiveConnection {
  state: LiveState = 'connecting';
  private failures = 0;
  private dropped = false;
  private stopped = false;
  private wake: (() => void) | null = null;
  private readonly waiters: Array<() => void> = [];
  private readonly unlisten: Array<() => void> = [];

  constructor(
    private readonly client: HeartbeatClient,
    private readonly listener: LiveListener,
  ) {
    this.unlisten.push(client.ws.on('connected', () => this.connected()));
    const online = () => this.reconnectNow();
    window.addEventListener('online', online);
    this.unlisten.push(() => window.removeEventListener('online', online));
  }

  start(): void {
    void this.keepWatching();
  }

  stop(): void {
    this.stopped = true;
    for (const stop of this.unlisten.splice(0)) stop();
    this.wake?.();
  }

  /** Skips the wait before the next attempt. */
  reconnectNow(): void {
    this.wake?.();
  }

  /** Resolves once the connection is (or is again) live. */
  whenLive(): Promise<void> {
    return this.state === 'live' ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }

  private connected(): void {
    if (this.stopped) return;
    this.failures = 0;
    const recovering = this.dropped;
    this.dropped = false;
    this.setState('live');
    for (const resolve of this.waiters.splice(0)) resolve();
    // Another subscription may have opened the socket while this loop waited: subscribe now.
    this.wake?.();
    if (recovering) this.listener.recovered();
  }

  private async keepWatching(): Promise<void> {
    while (!this.stopped) {
      let error: unknown = new Error('The server ended the live updates');
      try {
        for await (const run of this.client.watchRunStatus({})) {
          if (this.stopped) return;
          this.listener.run(run);
        }
      } catch (caught) {
        error = caught;
      }
      if (this.stopped) return;
      if (isRefusedKey(error)) {
        this.setState('offline');
        return this.listener.refused(error);
      }
      this.dropped = true;
      const delay = retryDelayMs(this.failures);
      // The first drop is often a blip (a server restart): "reconnecting" until an attempt has failed.
      this.setState(this.failures === 0 ? 'reconnecting' : 'offline', { at: Date.now() + delay, error });
      this.failures++;
      await this.pause(delay);
    }
  }

  private setState(state: LiveState, retry?: { at: number; error: unknown }): void {
    this.state = state;
    this.listener.state(state, retry);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
