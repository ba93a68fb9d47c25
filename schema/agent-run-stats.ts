// Agent.runStats: how an agent's recent runs went (its cost is Agent.cost).
import { AGENT_RUN_STATS_DEFAULT_DAYS, agentRunStats, type AgentRunStats } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import { READS_OUTSIDE_DATABASE } from './context.ts';

const AgentRunStatsRef = builder.objectRef<AgentRunStats>('AgentRunStats').implement({
  description: "An agent's runs created in a window, by status now.",
  fields: (t) => ({
    total: t.exposeInt('total'),
    succeeded: t.exposeInt('succeeded'),
    failed: t.exposeInt('failed'),
    cancelled: t.exposeInt('cancelled'),
    timedOut: t.exposeInt('timedOut'),
    running: t.exposeInt('running'),
    queued: t.exposeInt('queued', { description: 'QUEUED or SCHEDULED_RETRY.' }),
    successRate: t.exposeFloat('successRate', {
      nullable: true,
      description: 'succeeded / finished (SUCCEEDED, FAILED, CANCELLED or TIMED_OUT), 0 to 1; null when none finished.',
    }),
    p95DurationMs: t.exposeFloat('p95DurationMs', {
      nullable: true,
      description: 'The 95th percentile (interpolated) of finishedAt - startedAt of the finished runs that had started; null when none.',
    }),
  }),
});

builder.drizzleObjectField(AgentRef, 'runStats', (t) =>
  t.field({
    type: AgentRunStatsRef,
    description: `The agent's runs created at or after \`since\` (default: ${AGENT_RUN_STATS_DEFAULT_DAYS} days ago), counted by status, with their success rate and duration.`,
    args: { since: t.arg({ type: 'DateTime' }) },
    select: { columns: { companyId: true } },
    // The default window ends now, by the engine's clock, which the response cache cannot see move.
    extensions: { [READS_OUTSIDE_DATABASE]: true },
    resolve: (agent, { since }, ctx) => agentRunStats(ctx.engine.deps, { companyId: agent.companyId, agentId: agent.id, since }),
  }),
);
