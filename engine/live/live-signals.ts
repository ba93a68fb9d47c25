// Signals: the compact form of live events that crosses instances. They carry ids only; whoever
// receives one re-reads the rows it cares about, so every instance serves the same data.
import type { LiveEvent, RunStateSnapshot } from './live-events.ts';

export type LiveSignal =
  /**
   * A run's row changed (queued, status, settled, liveness, retry state, output silence); `state` is the new state.
   * `replay`: the state as read after a gap in signals (live-catch-up.ts), which may be older than
   * what live signals brought meanwhile.
   */
  | { kind: 'run'; companyId: string; runId: string; agentId: string; issueId: string | null; state: RunStateSnapshot; replay?: true }
  /** A run has a new event; `seq` is its sequence number. */
  | { kind: 'event'; companyId: string; runId: string; seq: number }
  | { kind: 'agent'; companyId: string; agentId: string }
  | { kind: 'issue'; companyId: string; issueId: string };

/** The signal for a live event; null for log chunks, which stay on the instance that has them. */
export function signalOf(event: LiveEvent): LiveSignal | null {
  switch (event.type) {
    case 'heartbeat.run.queued':
    case 'heartbeat.run.status':
    case 'heartbeat.run.silence':
      return { kind: 'run', companyId: event.companyId, runId: event.runId, agentId: event.agentId, issueId: event.issueId, state: event.state };
    case 'heartbeat.run.event':
      return { kind: 'event', companyId: event.companyId, runId: event.runId, seq: event.seq };
    case 'agent.status':
      return { kind: 'agent', companyId: event.companyId, agentId: event.agentId };
    case 'issue.lock':
      return { kind: 'issue', companyId: event.companyId, issueId: event.issueId };
    case 'heartbeat.run.log':
      return null;
  }
}

export interface SignalFilter {
  companyId: string;
  runId?: string;
  agentId?: string;
  issueId?: string;
}

/** Whether a signal concerns a subscriber with this filter. */
export function signalMatches(signal: LiveSignal, filter: SignalFilter): boolean {
  if (signal.companyId !== filter.companyId) return false;
  if (filter.runId && !('runId' in signal && signal.runId === filter.runId)) return false;
  if (filter.agentId && !('agentId' in signal && signal.agentId === filter.agentId)) return false;
  if (filter.issueId && !('issueId' in signal && signal.issueId === filter.issueId)) return false;
  return true;
}

/** Where live signals are delivered to this instance's subscribers. */
export interface LiveFeed {
  /** Calls `listener` for every matching signal until the returned function is called. */
  watch(filter: SignalFilter, listener: (signal: LiveSignal) => void): () => void;
}
