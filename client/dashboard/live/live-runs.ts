// The console's one live feed of runs: a single runStatus subscription for every run of the company
// (connection.ts keeps it open through outages), fanned out to whatever is on screen. Pages listen
// for the runs they show instead of opening subscriptions of their own, so the whole console holds
// one subscription however many pages are visited.
import type { HeartbeatClient, Run } from '../../index.ts';
import { LiveConnection, type LiveState } from './connection.ts';

export interface RetryInfo {
  /** When the next attempt is due (ms since the epoch). */
  at: number;
  error: unknown;
}

type Listener<T> = (value: T) => void;

export class LiveRuns {
  state: LiveState = 'connecting';
  retry: RetryInfo | undefined;
  private readonly connection: LiveConnection;
  private readonly runListeners = new Set<Listener<Run>>();
  private readonly stateListeners = new Set<Listener<LiveState>>();
  private readonly recoveredListeners = new Set<() => void>();

  constructor(client: HeartbeatClient, refused: (error: unknown) => void) {
    this.connection = new LiveConnection(client, {
      run: (run) => this.runListeners.forEach((listener) => listener(run)),
      state: (state, retry) => {
        this.state = state;
        this.retry = retry;
        this.stateListeners.forEach((listener) => listener(state));
      },
      recovered: () => this.recoveredListeners.forEach((listener) => listener()),
      refused,
    });
  }

  start(): void {
    this.connection.start();
  }

  stop(): void {
    this.connection.stop();
    this.runListeners.clear();
    this.stateListeners.clear();
    this.recoveredListeners.clear();
  }

  /** Every run change from now on; returns the way to stop listening. */
  onRun(listener: Listener<Run>): () => void {
    this.runListeners.add(listener);
    return () => this.runListeners.delete(listener);
  }

  onState(listener: Listener<LiveState>): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Connected again after a drop: what changed meanwhile was missed, read it again. */
  onRecovered(listener: () => void): () => void {
    this.recoveredListeners.add(listener);
    return () => this.recoveredListeners.delete(listener);
  }

  reconnectNow(): void {
    this.connection.reconnectNow();
  }

  /** Resolves once the connection is (or is again) live. */
  whenLive(): Promise<void> {
    return this.connection.whenLive();
  }

  /** Live, or `ms` passed: a first load waits for the subscription so no change falls between the two. */
  whenLiveOrAfter(ms: number): Promise<void> {
    return Promise.race([this.whenLive(), new Promise<void>((resolve) => setTimeout(resolve, ms))]);
  }
}
