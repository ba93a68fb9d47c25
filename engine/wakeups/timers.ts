// tickTimers (spec §6.15): agents whose heartbeat interval elapsed get a timer wakeup.
import { and, notInArray, sql } from 'drizzle-orm';
import { agents } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';
import { NON_INVOKABLE_AGENT_STATUSES, readHeartbeatPolicy } from '../rules/heartbeat-policy.ts';
import type { EnqueueResult, EnqueueWakeupInput } from './enqueue.ts';

export interface TimerTick {
  checked: number;
  enqueued: number;
  skipped: number;
}

export async function tickTimers(
  deps: EngineDeps,
  now: Date,
  enqueue: (input: EnqueueWakeupInput) => Promise<EnqueueResult>,
): Promise<TimerTick> {
  const candidates = await deps.db
    .select({
      id: agents.id,
      companyId: agents.companyId,
      runtimeConfig: agents.runtimeConfig,
      lastHeartbeatAt: agents.lastHeartbeatAt,
      createdAt: agents.createdAt,
      // A timer wakeup would only coalesce into this run; skipping it saves a row per tick.
      busy: sql<boolean>`exists (select 1 from heartbeat_runs r where r.agent_id = agents.id
        and r.status in ('queued', 'running', 'scheduled_retry')
        and coalesce(r.context_snapshot->>'taskKey', r.context_snapshot->>'taskId', r.context_snapshot->>'issueId') is null)`,
    })
    .from(agents)
    .where(and(notInArray(agents.status, [...NON_INVOKABLE_AGENT_STATUSES])));
  const tick: TimerTick = { checked: 0, enqueued: 0, skipped: 0 };
  for (const agent of candidates) {
    const policy = readHeartbeatPolicy(agent.runtimeConfig, deps.settings);
    if (!policy.enabled || policy.intervalSec <= 0) continue;
    tick.checked += 1;
    const since = (agent.lastHeartbeatAt ?? agent.createdAt).getTime();
    if (now.getTime() - since < policy.intervalSec * 1000) continue;
    if (agent.busy) {
      tick.skipped += 1;
      continue;
    }
    const result = await enqueue({
      companyId: agent.companyId,
      agentId: agent.id,
      source: 'timer',
      triggerDetail: 'system',
      reason: 'heartbeat_timer',
      actor: { type: 'system', id: 'heartbeat_scheduler' },
      context: { source: 'scheduler', reason: 'interval_elapsed', now: now.toISOString() },
    });
    if (result.outcome === 'queued') tick.enqueued += 1;
    else tick.skipped += 1;
  }
  return tick;
}
