// Live events (spec §7 and Decisions 8): what the engine tells subscribers after a change commits.
// Payloads are compact; subscribers re-read rows for full state.
import type { AgentStatus, LivenessState, RunStatus, TriggerDetail, WakeupSource } from '../../db/enums.ts';

/** A run's changing columns at the moment of a change, so subscribers see every state, not just the latest. */
export interface RunStateSnapshot {
  status: RunStatus;
  createdAt: string;
  error: string | null;
  errorCode: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  settledAt: string | null;
  updatedAt: string;
  livenessState: LivenessState | null;
  scheduledRetryAt: string | null;
  scheduledRetryAttempt: number;
}

export type LiveEvent =
  | {
      type: 'heartbeat.run.queued';
      companyId: string;
      runId: string;
      agentId: string;
      issueId: string | null;
      invocationSource: WakeupSource;
      triggerDetail: TriggerDetail | null;
      wakeupRequestId: string | null;
      state: RunStateSnapshot;
    }
  | {
      type: 'heartbeat.run.status';
      companyId: string;
      runId: string;
      agentId: string;
      issueId: string | null;
      status: RunStatus;
      invocationSource: WakeupSource;
      triggerDetail: TriggerDetail | null;
      error: string | null;
      errorCode: string | null;
      startedAt: string | null;
      finishedAt: string | null;
      state: RunStateSnapshot;
    }
  | {
      type: 'heartbeat.run.event';
      companyId: string;
      runId: string;
      agentId: string;
      seq: number;
      eventType: string;
      stream: string | null;
      level: string | null;
      color: string | null;
      message: string | null;
      payload: unknown;
    }
  | {
      type: 'heartbeat.run.log';
      companyId: string;
      runId: string;
      agentId: string;
      ts: string;
      stream: string;
      chunk: string;
      truncated: boolean;
    }
  | {
      /**
       * A running run's output-silence level changed (docs/engine.md §17): once per change. `state`
       * is the run's state with the change (its `updatedAt` moved), so runStatus subscribers re-read it.
       */
      type: 'heartbeat.run.silence';
      companyId: string;
      runId: string;
      agentId: string;
      issueId: string | null;
      level: 'ok' | 'suspicious' | 'critical' | 'snoozed';
      previousLevel: 'ok' | 'suspicious' | 'critical' | 'snoozed';
      silentSince: string;
      seconds: number;
      state: RunStateSnapshot;
    }
  | {
      type: 'agent.status';
      companyId: string;
      agentId: string;
      status: AgentStatus;
      lastHeartbeatAt: string | null;
      outcome: string;
    }
  | {
      type: 'issue.lock';
      companyId: string;
      issueId: string;
      executionRunId: string | null;
    };

export type LiveEventType = LiveEvent['type'];

/** The pubsub port. Implementations deliver to every subscriber of every instance that shares the database. */
export interface LiveEventBus {
  publish(events: readonly LiveEvent[]): void;
  subscribe(listener: (event: LiveEvent) => void): () => void;
}

/** Delivers within this process only. */
export function createInProcessEventBus(): LiveEventBus {
  const listeners = new Set<(event: LiveEvent) => void>();
  return {
    publish(events) {
      for (const event of events) {
        for (const listener of listeners) listener(event);
      }
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
