// Waking agents and stopping runs.
import { Buffer } from 'node:buffer';
import { badInput } from '../engine/index.ts';
import type { EnqueueResult } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import type { HeartbeatContext } from './context.ts';
import { TriggerDetailEnum, WakeupSourceEnum } from './enums.ts';
import { IssueRef } from './issue.ts';
import { HeartbeatRunRef } from './run.ts';
import { rethrowWithApiIds } from './budgets.ts';
import { apiKeyOf, operatorCompanyIdOf } from './tenancy.ts';
import { WakeupRequestRef } from './wakeup.ts';

const MAX_PAYLOAD_BYTES = 64 * 1024;

export const EnqueueOutcomeEnum = builder.enumType('EnqueueOutcome', {
  description: 'What enqueueWakeup did with the request.',
  values: {
    QUEUED: { value: 'queued', description: 'A new run was queued.' },
    COALESCED: { value: 'coalesced', description: 'Merged into a run already on its way.' },
    DEFERRED: { value: 'deferred', description: "Waits until another run on the issue ends." },
    SKIPPED: { value: 'skipped', description: 'Not run: a policy or issue gate said no (see the wakeup reason).' },
    DUPLICATE: { value: 'duplicate', description: 'The idempotency key was used before: the first request is returned.' },
  } as const,
});

const EnqueueWakeupInput = builder.inputType('EnqueueWakeupInput', {
  fields: (t) => ({
    agentId: t.globalID({ for: [AgentRef], description: 'The agent to wake. Give this or agentName, not both.' }),
    agentName: t.string({ description: "The name of the agent to wake, in place of agentId (names are unique in a company, whatever their case). NOT_FOUND when the company has no agent of that name." }),
    source: t.field({ type: WakeupSourceEnum, defaultValue: 'on_demand' }),
    triggerDetail: t.field({ type: TriggerDetailEnum, defaultValue: 'manual' }),
    reason: t.string({ description: 'Why the agent is woken, e.g. issue_assigned.' }),
    payload: t.field({ type: 'JSON', description: 'Free-form JSON object (at most 64 KiB) handed to the run as `context.payload`; merged key by key, the later winning, when wakeups merge.' }),
    issueId: t.globalID({ for: [IssueRef], description: 'The issue the run works on.' }),
    idempotencyKey: t.string({ description: 'A second request with the same key (per agent) creates nothing. Must not be blank.' }),
    forceFreshSession: t.boolean({ description: "Start a fresh session instead of resuming the task's. Not together with resumeFromRunId." }),
    resumeFromRunId: t.globalID({
      for: [HeartbeatRunRef],
      description: "Resume the session this earlier run of the same agent left (its issue and task come along). BAD_USER_INPUT for another agent's run or one that left no session.",
    }),
  }),
});

export const EnqueueWakeupPayload = builder.objectRef<EnqueueResult>('EnqueueWakeupPayload').implement({
  fields: (t) => ({
    outcome: t.expose('outcome', { type: EnqueueOutcomeEnum }),
    wakeupRequest: t.field({ type: WakeupRequestRef, resolve: (result) => result.wakeupRequest }),
    run: t.field({
      type: HeartbeatRunRef,
      nullable: true,
      description: 'The run the wakeup became or joined; null when deferred or skipped.',
      resolve: (result) => result.run,
    }),
  }),
});

function payloadObject(value: unknown): Record<string, unknown> | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput('payload must be a JSON object', { field: 'payload' });
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_PAYLOAD_BYTES) {
    throw badInput(`payload is larger than ${MAX_PAYLOAD_BYTES} bytes`, { field: 'payload' });
  }
  return value as Record<string, unknown>;
}

const WAKEUP_TEXT_LIMIT = 200;
const CANCEL_REASON_LIMIT = 500;
/**
 * A string argument or input field at most `limit` characters long. The error names it as the
 * caller sent it: `{ field }` inside an input object, `{ argument }` for a field's own argument.
 */
function bounded(name: { field: string } | { argument: string }, limit: number, value: string | null | undefined): string | null {
  if (value == null) return null;
  if (value.length > limit) throw badInput(`${'field' in name ? name.field : name.argument} is longer than ${limit} characters`, name);
  return value;
}

/** The agent an enqueueWakeup names: by id or by name, exactly one of them. */
async function agentToWake(ctx: HeartbeatContext, companyId: string, input: { agentId?: { id: string } | null; agentName?: string | null }): Promise<string> {
  if (input.agentId && input.agentName != null) throw badInput('Give agentId or agentName, not both', { field: 'agentName' });
  if (input.agentId) return input.agentId.id;
  if (input.agentName == null) throw badInput('Give the agent to wake: agentId or agentName', { field: 'agentId' });
  return ctx.engine.agentIdByName(companyId, input.agentName);
}

builder.mutationFields((t) => ({
  enqueueWakeup: t.field({
    type: EnqueueWakeupPayload,
    description: 'Asks for an agent to be woken. The outcome says whether a run was queued, merged, deferred or skipped.',
    args: { input: t.arg({ type: EnqueueWakeupInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const key = apiKeyOf(ctx, 'operator');
      const payload = payloadObject(input.payload);
      const issueId = input.issueId?.id ?? null;
      const agentId = await agentToWake(ctx, key.companyId, input);
      return ctx.engine.enqueueWakeup({
        companyId: key.companyId,
        agentId,
        source: input.source ?? 'on_demand',
        triggerDetail: input.triggerDetail ?? 'manual',
        reason: bounded({ field: 'reason' }, WAKEUP_TEXT_LIMIT, input.reason),
        payload: issueId ? { ...(payload ?? {}), issueId } : payload,
        idempotencyKey: bounded({ field: 'idempotencyKey' }, WAKEUP_TEXT_LIMIT, input.idempotencyKey),
        forceFreshSession: input.forceFreshSession ?? false,
        resumeFromRunId: input.resumeFromRunId?.id ?? null,
        actor: { type: 'user', id: key.keyId },
      }).catch(rethrowWithApiIds);
    },
  }),
  retryRun: t.field({
    type: EnqueueWakeupPayload,
    description: 'Queues a new run of a failed, timed out or cancelled run (linked to it by retry.retryOf). If an automatic retry of it is already scheduled, that retry is moved up to run now and returned (COALESCED).',
    args: { id: t.arg.globalID({ required: true, for: [HeartbeatRunRef] }) },
    resolve: (_root, { id }, ctx) => {
      const key = apiKeyOf(ctx, 'operator');
      return ctx.engine.retryRun({ companyId: key.companyId, runId: id.id, actor: { type: 'user', id: key.keyId } }).catch(rethrowWithApiIds);
    },
  }),
  cancelRun: t.field({
    type: HeartbeatRunRef,
    description: 'Cancels a queued, scheduled or running run; a finished run is returned unchanged.',
    args: {
      id: t.arg.globalID({ required: true, for: [HeartbeatRunRef] }),
      reason: t.arg.string(),
    },
    resolve: (_root, { id, reason }, ctx) =>
      ctx.engine.cancelRun({ companyId: operatorCompanyIdOf(ctx), runId: id.id, reason: bounded({ argument: 'reason' }, CANCEL_REASON_LIMIT, reason) ?? undefined }),
  }),
  snoozeRunSilence: t.field({
    type: HeartbeatRunRef,
    description:
      "Snoozes a running run's output-silence warning until `until` (in the future, at most 7 days ahead): its outputSilence level is SNOOZED until then, then evaluated again. Replaces a dismissal. BAD_USER_INPUT naming `until`; CONFLICT for a run that is not running.",
    args: {
      id: t.arg.globalID({ required: true, for: [HeartbeatRunRef] }),
      until: t.arg({ type: 'DateTime', required: true }),
    },
    resolve: (_root, { id, until }, ctx) => ctx.engine.snoozeRunSilence({ companyId: operatorCompanyIdOf(ctx), runId: id.id, until }),
  }),
  dismissRunSilence: t.field({
    type: HeartbeatRunRef,
    description:
      "Dismisses a running run's output-silence warning as a false positive: it is not flagged again while this silence lasts; its next output re-arms it. Ends a snooze. CONFLICT for a run that is not running.",
    args: { id: t.arg.globalID({ required: true, for: [HeartbeatRunRef] }) },
    resolve: (_root, { id }, ctx) => ctx.engine.dismissRunSilence({ companyId: operatorCompanyIdOf(ctx), runId: id.id }),
  }),
}));
