// After runs: their agents' status and heartbeat time (§6.15 finalizeAgentStatus), for one agent
// or many, in one transaction's two statements.
import { sql } from 'drizzle-orm';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { executePrepared, iso, json, type StatementTarget, uuidArray } from '../store/statements.ts';

export type RunOutcomeStatus = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

type LockedAgent = { id: string; company_id: string; status: string; role: string; last_heartbeat_at: string | null };

const statusAfter = (outcome: RunOutcomeStatus) => (outcome === 'succeeded' || outcome === 'cancelled' ? 'idle' : 'error');

/**
 * §6.15 for the agents of `outcomes` (the last outcome of each agent counts), on `target`: an
 * agent with runs still running stays running, else it is idle after a success or a cancel and in
 * error after a failure; its heartbeat time is now. Paused and terminated agents keep their status
 * and heartbeat time; a deleted one has no row. The agents' rows are locked in id order, then
 * updated, two statements sent at once: the update runs once the lock is granted, so its count of
 * running runs sees every claim committed before (a claim takes the same lock to turn the agent
 * running). `firstHeartbeats` gains the agents that never had one. Returns the live events.
 */
export async function finalizeAgents(
  target: StatementTarget,
  outcomes: Array<{ agentId: string; outcome: RunOutcomeStatus }>,
  now: Date,
  firstHeartbeats: Array<{ agentId: string; agentRole: string }>,
): Promise<LiveEvent[]> {
  if (outcomes.length === 0) return [];
  const lastOutcome = new Map<string, RunOutcomeStatus>();
  for (const { agentId, outcome } of outcomes) lastOutcome.set(agentId, outcome);
  const agentIds = [...lastOutcome.keys()].sort();
  const input = agentIds.map((id) => ({ id, final_status: statusAfter(lastOutcome.get(id)!) }));
  const [locked, rows] = await Promise.all([
    executePrepared<LockedAgent>(target, sql`
      select id, company_id, status, role, last_heartbeat_at::text as last_heartbeat_at
      from agents where id = any(${uuidArray(agentIds)}::uuid[]) order by id for no key update`),
    executePrepared<{ id: string; running: number }>(target, sql`
      update agents a
      set status = case when r.running > 0 then 'running'::agent_status else x.final_status end,
          last_heartbeat_at = ${iso(now)}::timestamptz, updated_at = ${iso(now)}::timestamptz
      from jsonb_to_recordset(${json(input)}::jsonb) as x(id uuid, final_status agent_status),
        lateral (select count(*)::int as running from heartbeat_runs h where h.agent_id = x.id and h.status = 'running') r
      where a.id = x.id and a.status not in ('paused', 'terminated')
      returning a.id, r.running`),
  ]);
  const running = new Map(rows.map((row) => [row.id, Number(row.running)]));
  const events: LiveEvent[] = [];
  for (const agent of locked) {
    if (!running.has(agent.id)) continue;
    const outcome = lastOutcome.get(agent.id)!;
    const status = running.get(agent.id)! > 0 ? 'running' : statusAfter(outcome);
    events.push({ type: 'agent.status', companyId: agent.company_id, agentId: agent.id, status, lastHeartbeatAt: iso(now), outcome });
    if (agent.last_heartbeat_at === null) firstHeartbeats.push({ agentId: agent.id, agentRole: agent.role });
  }
  return events;
}

/** finalizeAgents in a transaction of its own, its events published after the commit. */
export async function finalizeAgentStatus(deps: EngineDeps, outcomes: Array<{ agentId: string; outcome: RunOutcomeStatus }>): Promise<void> {
  const firstHeartbeats: Array<{ agentId: string; agentRole: string }> = [];
  await transact(deps, async (tx, events) => {
    events.push(...(await finalizeAgents(tx, outcomes, deps.clock.now(), firstHeartbeats)));
  });
  for (const hook of firstHeartbeats) deps.onFirstHeartbeat?.(hook);
}
