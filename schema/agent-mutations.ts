// Creating, changing, pausing and resuming agents, and forgetting their task sessions.
import { notFound } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import type { HeartbeatContext } from './context.ts';
import { AdapterTypeEnum } from './enums.ts';
import { SessionPolicyInput } from './task-sessions.ts';
import { apiKeyOf, operatorCompanyIdOf } from './tenancy.ts';

type AgentRow = Awaited<ReturnType<HeartbeatContext['engine']['pauseAgent']>>;

export const HeartbeatPolicyInput = builder.inputType('HeartbeatPolicyInput', {
  description: "When the agent is woken: its timer and its concurrency limit; and how long a run of it may stay silent.",
  fields: (t) => ({
    enabled: t.boolean({ description: 'Wake on a timer every intervalSec seconds.' }),
    intervalSec: t.int({ description: 'Timer interval in seconds (>= 0; 0 = no timer).' }),
    wakeOnDemand: t.boolean({ description: 'Accept wakeups other than the timer (default true).' }),
    maxConcurrentRuns: t.int({ description: 'Runs that may execute at once (1 up to the server limit, default 1).' }),
    silenceTimeoutSec: t.int({
      description: 'Cancel a running run that printed nothing for this many seconds (60 to 2592000; 0 or absent = never). Its error and stop reason (output_silence) name the silence.',
    }),
  }),
});

/** Drops unset fields so they keep their defaults instead of being stored as null. */
const definedOnly = (value: Record<string, unknown> | null | undefined) =>
  value == null ? undefined : Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined));

const CreateAgentInput = builder.inputType('CreateAgentInput', {
  fields: (t) => ({
    name: t.string({ required: true }),
    role: t.string(),
    adapterType: t.field({ type: AdapterTypeEnum, required: true }),
    adapterConfig: t.field({ type: 'JSON', description: 'Adapter settings; validated for the adapter type.' }),
    heartbeat: t.field({ type: HeartbeatPolicyInput }),
    sessionPolicy: t.field({ type: SessionPolicyInput, description: 'When its sessions are rotated (default: never).' }),
  }),
});

const UpdateAgentInput = builder.inputType('UpdateAgentInput', {
  fields: (t) => ({
    id: t.globalID({ required: true, for: [AgentRef] }),
    name: t.string(),
    role: t.string(),
    adapterType: t.field({ type: AdapterTypeEnum }),
    adapterConfig: t.field({ type: 'JSON' }),
    heartbeat: t.field({ type: HeartbeatPolicyInput, description: 'Replaces the whole policy.' }),
    sessionPolicy: t.field({ type: SessionPolicyInput, description: 'Replaces the whole policy (absent limits off); null turns rotation off.' }),
  }),
});

const ResetAgentSessionInput = builder.inputType('ResetAgentSessionInput', {
  fields: (t) => ({
    agentId: t.globalID({ required: true, for: [AgentRef] }),
    taskKey: t.string({ description: "Only this task's session (1 to 500 characters); absent: all of the agent's sessions." }),
  }),
});

const ResetAgentSessionPayload = builder.objectRef<{ agent: AgentRow; removed: number }>('ResetAgentSessionPayload').implement({
  fields: (t) => ({
    agent: t.field({ type: AgentRef, resolve: (payload) => payload.agent }),
    removed: t.exposeInt('removed', { description: 'How many task sessions were forgotten (0: there was none).' }),
  }),
});

builder.mutationFields((t) => ({
  createAgent: t.field({
    type: AgentRef,
    args: { input: t.arg({ type: CreateAgentInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.engine.createAgent({
        companyId: operatorCompanyIdOf(ctx),
        callerRole: apiKeyOf(ctx, 'operator').role,
        name: input.name,
        role: input.role,
        adapterType: input.adapterType,
        adapterConfig: input.adapterConfig ?? {},
        heartbeat: definedOnly(input.heartbeat),
        sessionPolicy: definedOnly(input.sessionPolicy),
      }),
  }),
  updateAgent: t.field({
    type: AgentRef,
    args: { input: t.arg({ type: UpdateAgentInput, required: true }) },
    resolve: (_root, { input }, ctx) =>
      ctx.engine.updateAgent({
        companyId: operatorCompanyIdOf(ctx),
        callerRole: apiKeyOf(ctx, 'operator').role,
        agentId: input.id.id,
        name: input.name,
        role: input.role,
        adapterType: input.adapterType,
        adapterConfig: input.adapterConfig === null ? {} : input.adapterConfig,
        heartbeat: input.heartbeat === undefined ? undefined : definedOnly(input.heartbeat) ?? {},
        sessionPolicy: input.sessionPolicy === undefined ? undefined : (definedOnly(input.sessionPolicy) ?? null),
      }),
  }),
  pauseAgent: t.field({
    type: AgentRef,
    description: 'Pauses the agent and cancels its queued, scheduled and running runs.',
    args: { id: t.arg.globalID({ required: true, for: [AgentRef] }) },
    resolve: (_root, { id }, ctx) => ctx.engine.pauseAgent({ companyId: operatorCompanyIdOf(ctx), agentId: id.id }),
  }),
  resumeAgent: t.field({
    type: AgentRef,
    description: 'Makes a paused agent invokable again.',
    args: { id: t.arg.globalID({ required: true, for: [AgentRef] }) },
    resolve: (_root, { id }, ctx) => ctx.engine.resumeAgent({ companyId: operatorCompanyIdOf(ctx), agentId: id.id }),
  }),
  resetAgentSession: t.field({
    type: ResetAgentSessionPayload,
    description:
      "Forgets the session of one task of the agent, or (no taskKey) all of them and its fallback session: the next run of that task starts a fresh session.",
    args: { input: t.arg({ type: ResetAgentSessionInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const companyId = operatorCompanyIdOf(ctx);
      const agentId = input.agentId.id;
      // The engine refuses an agent of another company (NOT_FOUND) before it removes anything.
      const removed = await ctx.engine.sessions.reset({ companyId, agentId, taskKey: input.taskKey ?? null });
      const agent = await ctx.db.query.agents.findFirst({ where: { id: agentId, companyId } });
      if (!agent) throw notFound('Agent');
      return { agent, removed };
    },
  }),
}));
