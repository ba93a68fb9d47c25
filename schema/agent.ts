import { redactAdapterConfig } from '../engine/index.ts';
import { readHeartbeatPolicy, readSessionPolicy, type HeartbeatPolicy } from '../engine/index.ts';
import { builder } from './builder.ts';
import { cursorFieldsOf, relatedRunsOptions, RUN_CURSORS } from './connection-cursors.ts';
import { argumentInRange, HeartbeatRunRef } from './run.ts';
import { AgentTaskSessionRef, SessionPolicyRef, TASK_SESSIONS_DEFAULT, TASK_SESSIONS_MAX } from './task-sessions.ts';
import { AdapterTypeEnum, AgentStatusEnum, RunStatusEnum } from './enums.ts';
import { CostTotalsRef } from './cost-types.ts';

const HeartbeatPolicyRef = builder.objectRef<HeartbeatPolicy>('HeartbeatPolicy').implement({
  description: 'When the agent is woken, with defaults applied.',
  fields: (t) => ({
    enabled: t.exposeBoolean('enabled', { description: 'Whether the timer wakes the agent.' }),
    intervalSec: t.exposeInt('intervalSec'),
    wakeOnDemand: t.exposeBoolean('wakeOnDemand', { description: 'Whether wakeups other than the timer are accepted.' }),
    maxConcurrentRuns: t.exposeInt('maxConcurrentRuns', { description: 'Runs that may execute at once; never exceeded.' }),
    silenceTimeoutSec: t.exposeInt('silenceTimeoutSec', { description: 'A running run silent this many seconds is cancelled (0 = never).' }),
  }),
});

export const AgentRuntimeStateRef = builder.drizzleObject('agentRuntimeState', {
  name: 'AgentRuntimeState',
  description: "Counters the engine keeps across the agent's runs.",
  fields: (t) => ({
    lastRun: t.relation('lastRun', { nullable: true }),
    lastRunStatus: t.expose('lastRunStatus', { type: RunStatusEnum, nullable: true }),
    lastError: t.exposeString('lastError', { nullable: true }),
    totalRuns: t.exposeInt('totalRuns'),
    totalInputTokens: t.exposeFloat('totalInputTokens'),
    totalOutputTokens: t.exposeFloat('totalOutputTokens'),
    totalCachedInputTokens: t.exposeFloat('totalCachedInputTokens'),
    totalCostCents: t.exposeFloat('totalCostCents'),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

export const AgentRef = builder.drizzleNode('agents', {
  name: 'Agent',
  description: 'Something that can be woken to do work: a process, an HTTP endpoint or a script.',
  id: { column: (agent) => agent.id },
  // Adapter and runtime config (JSON) are read only when selected; the narrow columns come with
  // every agent, as for runs.
  select: {
    columns: { id: true, name: true, role: true, status: true, adapterType: true, lastHeartbeatAt: true, createdAt: true, updatedAt: true },
  },
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.exposeString('role'),
    status: t.expose('status', { type: AgentStatusEnum }),
    adapterType: t.expose('adapterType', { type: AdapterTypeEnum }),
    adapterConfig: t.field({
      type: 'JSON',
      description: 'Adapter settings; values of env and headers, and the query values of url, are redacted.',
      select: { columns: { adapterConfig: true } },
      resolve: (agent) => redactAdapterConfig(agent.adapterConfig),
    }),
    heartbeat: t.field({
      type: HeartbeatPolicyRef,
      select: { columns: { runtimeConfig: true } },
      resolve: (agent, _args, ctx) => readHeartbeatPolicy(agent.runtimeConfig, ctx.engine.deps.settings),
    }),
    sessionPolicy: t.field({
      type: SessionPolicyRef,
      select: { columns: { runtimeConfig: true } },
      resolve: (agent) => readSessionPolicy(agent.runtimeConfig),
    }),
    taskSessions: t.field({
      type: [AgentTaskSessionRef],
      description: `The sessions its tasks resume, most recently used first (at most \`first\`, 1 to ${TASK_SESSIONS_MAX}, default ${TASK_SESSIONS_DEFAULT}).`,
      args: { first: t.arg.int({ defaultValue: TASK_SESSIONS_DEFAULT }) },
      // Planned with the agent; `first` is checked when the field resolves (as Run.events does), so
      // that an error names this field.
      select: (args, _ctx, nestedSelection) => ({
        with: {
          taskSessions: nestedSelection({
            orderBy: { updatedAt: 'desc', taskKey: 'asc' },
            limit: Math.min(TASK_SESSIONS_MAX, Math.max(1, args.first ?? TASK_SESSIONS_DEFAULT)),
          }),
        },
      }),
      resolve: (agent, args) => {
        argumentInRange('first', args.first, 1, TASK_SESSIONS_MAX);
        return agent.taskSessions;
      },
    }),
    runtimeState: t.relation('runtimeState', { nullable: true }),
    cost: t.field({
      type: CostTotalsRef,
      description: "What the agent's runs cost from `from` (inclusive) to `to` (exclusive); without them, all time.",
      args: { from: t.arg({ type: 'DateTime' }), to: t.arg({ type: 'DateTime' }) },
      select: { columns: { companyId: true } },
      resolve: (agent, { from, to }, ctx) => ctx.engine.costs.totals(agent.companyId, { agentId: agent.id, from, to }),
    }),
    activeRun: t.field({
      type: HeartbeatRunRef,
      nullable: true,
      description: 'The latest run executing now, if any.',
      select: (_args, _ctx, nestedSelection) => ({
        with: { runs: nestedSelection({ where: { status: 'running' }, orderBy: { startedAt: 'desc', id: 'desc' }, limit: 1 }) },
      }),
      resolve: (agent) => agent.runs[0] ?? null,
    }),
    runs: t.relatedConnection(
      'runs',
      relatedRunsOptions("The agent's runs, newest first."),
      cursorFieldsOf(RUN_CURSORS).connection,
      cursorFieldsOf(RUN_CURSORS).edge,
    ),
    lastHeartbeatAt: t.expose('lastHeartbeatAt', { type: 'DateTime', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    company: t.relation('company'),
  }),
});
