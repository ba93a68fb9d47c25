// After a run: the agent's status and heartbeat time (spec §6.15 finalizeAgentStatus) and its
// runtime-state counters.
import { and, count, eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { AdapterType } from '../db/enums.ts';
import { agentRuntimeState, agents, heartbeatRuns } from '../db/schema.ts';
import { type EngineDeps, transact } from './deps.ts';
import type { RunRow } from './runs.ts';

export type RunOutcomeStatus = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export async function finalizeAgentStatus(deps: EngineDeps, agentId: string, outcome: RunOutcomeStatus): Promise<void> {
  let firstHeartbeat: { agentId: string; agentRole: string } | null = null;
  await transact(deps, async (tx, events) => {
    const [agent] = await tx.select().from(agents).where(eq(agents.id, agentId)).for('update');
    if (!agent || agent.status === 'paused' || agent.status === 'terminated') return;
    const [{ running }] = await tx
      .select({ running: count() })
      .from(heartbeatRuns)
      .where(and(eq(heartbeatRuns.agentId, agentId), eq(heartbeatRuns.status, 'running')));
    const status = running > 0 ? 'running' : outcome === 'succeeded' || outcome === 'cancelled' ? 'idle' : 'error';
    const now = deps.clock.now();
    await tx.update(agents).set({ status, lastHeartbeatAt: now, updatedAt: now }).where(eq(agents.id, agentId));
    if (agent.lastHeartbeatAt === null) firstHeartbeat = { agentId, agentRole: agent.role };
    events.push({
      type: 'agent.status',
      companyId: agent.companyId,
      agentId,
      status,
      lastHeartbeatAt: now.toISOString(),
      outcome,
    });
  });
  if (firstHeartbeat) deps.onFirstHeartbeat?.(firstHeartbeat);
}

const counter = (usage: Record<string, unknown> | null, ...keys: string[]) => {
  for (const key of keys) {
    const value = usage?.[key];
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.floor(value);
  }
  return 0;
};

/** Adds the run's usage to the agent's totals and remembers the last run. */
export async function updateRuntimeState(deps: EngineDeps, run: RunRow, adapterType: AdapterType): Promise<void> {
  await writeRuntimeState(deps.db, run, adapterType, deps.clock.now());
}

/** updateRuntimeState's write, on any executor (the batched finish runs it in its transaction). */
export async function writeRuntimeState(db: Executor, run: RunRow, adapterType: AdapterType, now: Date): Promise<void> {
  const usage = run.usageJson;
  const totals = {
    input: counter(usage, 'inputTokens', 'input_tokens'),
    output: counter(usage, 'outputTokens', 'output_tokens'),
    cached: counter(usage, 'cachedInputTokens', 'cached_input_tokens'),
    cost: counter(usage, 'costCents', 'cost_cents'),
  };
  await db
    .insert(agentRuntimeState)
    .values({
      agentId: run.agentId,
      companyId: run.companyId,
      adapterType,
      lastRunId: run.id,
      lastRunStatus: run.status,
      lastError: run.error,
      totalInputTokens: totals.input,
      totalOutputTokens: totals.output,
      totalCachedInputTokens: totals.cached,
      totalCostCents: totals.cost,
      totalRuns: 1,
      updatedAt: now,
    })
    .onConflictDoUpdate({
      target: agentRuntimeState.agentId,
      set: {
        adapterType,
        lastRunId: run.id,
        lastRunStatus: run.status,
        lastError: run.error,
        totalInputTokens: sql`${agentRuntimeState.totalInputTokens} + ${totals.input}`,
        totalOutputTokens: sql`${agentRuntimeState.totalOutputTokens} + ${totals.output}`,
        totalCachedInputTokens: sql`${agentRuntimeState.totalCachedInputTokens} + ${totals.cached}`,
        totalCostCents: sql`${agentRuntimeState.totalCostCents} + ${totals.cost}`,
        totalRuns: sql`${agentRuntimeState.totalRuns} + 1`,
        updatedAt: now,
      },
    });
}
