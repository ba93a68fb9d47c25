// This instance's subscribers, indexed by the most specific id they filter on, so a signal only
// visits the subscribers it can concern (10,000 subscribers must not mean 10,000 checks each).
import { type LiveFeed, type LiveSignal, type SignalFilter, signalMatches } from '../../engine/index.ts';

type Listener = { filter: SignalFilter; notify: (signal: LiveSignal) => void };

export class SignalHub implements LiveFeed {
  private readonly byKey = new Map<string, Set<Listener>>();
  /** Subscribers per company, whatever they filter on. */
  private readonly perCompany = new Map<string, number>();
  private count = 0;

  /** Subscribers currently watching (for metrics and tests). */
  get size(): number {
    return this.count;
  }

  /** The companies that have subscribers here. */
  companies(): string[] {
    return [...this.perCompany.keys()];
  }

  watch(filter: SignalFilter, notify: (signal: LiveSignal) => void): () => void {
    const key = filter.runId ? `run:${filter.runId}` : filter.agentId ? `agent:${filter.agentId}` : filter.issueId ? `issue:${filter.issueId}` : `company:${filter.companyId}`;
    const listener: Listener = { filter, notify };
    let set = this.byKey.get(key);
    if (!set) this.byKey.set(key, (set = new Set()));
    set.add(listener);
    this.count += 1;
    this.perCompany.set(filter.companyId, (this.perCompany.get(filter.companyId) ?? 0) + 1);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.count -= 1;
      set.delete(listener);
      if (set.size === 0) this.byKey.delete(key);
      const left = this.perCompany.get(filter.companyId)! - 1;
      if (left === 0) this.perCompany.delete(filter.companyId);
      else this.perCompany.set(filter.companyId, left);
    };
  }

  deliver(signal: LiveSignal): void {
    const keys = [`company:${signal.companyId}`];
    if ('runId' in signal) keys.push(`run:${signal.runId}`);
    if ('agentId' in signal) keys.push(`agent:${signal.agentId}`);
    if ('issueId' in signal && signal.issueId) keys.push(`issue:${signal.issueId}`);
    for (const key of keys) {
      const listeners = this.byKey.get(key);
      if (!listeners) continue;
      for (const listener of listeners) {
        if (!signalMatches(signal, listener.filter)) continue;
        try {
          listener.notify(signal);
        } catch {
          // A subscriber's failure is its own; the others still get the signal.
        }
      }
    }
  }
}
