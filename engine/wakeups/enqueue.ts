// enqueueWakeup (spec §6.1): a wakeup request becomes a queued run, is folded into a run already
// on its way (coalesced), waits behind another agent's run on the same issue (deferred), is skipped
// by a policy gate, or is recognised as a duplicate of an earlier request with the same key. One
// that brings a run already executing something it did not receive becomes (or joins) that run's
// follow-up instead (runs/queue.ts needsFollowup). This file reads the request and picks the
// path: enqueue-on-issue.ts or enqueue-without-issue.ts.
import { HOST_ADAPTERS_REFUSED, hostAdapterRefusalToRun } from '../rules/host-adapters.ts';
import { sql } from 'drizzle-orm';
import type { ClaimedRun } from '../runs/claim.ts';
import type { EngineDeps } from '../model/deps.ts';
import { badInput, conflict, HeartbeatError, notFound } from '../model/errors.ts';
import { enqueueOnIssue } from './enqueue-on-issue.ts';
import { enqueuePipelined, enqueueWithoutIssue } from './enqueue-without-issue.ts';
import { isInvokable, readHeartbeatPolicy } from '../rules/heartbeat-policy.ts';
import { agentRowFromDriver, executePrepared } from '../store/statements.ts';
import { enrichWakeContext, type WakeContext, wakeScopeKey } from '../rules/wake-context.ts';
import { type Agent, type EnqueueResult, type EnqueueWakeupInput, insertSkipped, type PreparedWakeup } from '../runs/queue.ts';
import { isUuid } from '../../db/columns.ts';
import { resumeContextFromRun } from '../sessions/sessions.ts';
import { withTraceparent } from '../telemetry/tracing.ts';

export type { EnqueueOutcome, EnqueueResult, EnqueueWakeupInput } from '../runs/queue.ts';

const str = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : null);

export interface EnqueueOptions {
  /**
   * The engine is running and will execute what this returns in `claimed`: a new run of an agent
   * without an issue is claimed and started in the enqueue's own transaction when nothing else is
   * queued for the agent and a slot is free (claim.ts claimNewRun), saving a transaction.
   */
  claim?: boolean;
}

export async function enqueueWakeup(
  deps: EngineDeps,
  request: EnqueueWakeupInput,
  options: EnqueueOptions = {},
): Promise<EnqueueResult & { claimed?: ClaimedRun }> {
  const input = await withSessionRequest(deps, request);
  // A blank key would dedupe every keyless-looking request against the first; there is no
  // sensible reading of it, so it is refused before anything is written.
  if (input.idempotencyKey != null && input.idempotencyKey.trim() === '') {
    throw badInput('idempotencyKey must not be empty', { field: 'idempotencyKey' });
  }
  try {
    return await enqueue(deps, input, options);
  } catch (error) {
    // Decisions 5: whichever insert met the key's unique index (a new run, a skipped or deferred
    // wakeup, a concurrent request), the answer is the wakeup that holds the key, never an error.
    if (input.idempotencyKey && isUniqueViolation(error, 'wakeups_idempotency_uq')) {
      const earlier = await findDuplicate(deps, input);
      if (earlier) return earlier;
      throw conflict('A wakeup with this idempotencyKey is being written; try again', { field: 'idempotencyKey' });
    }
    throw error;
  }
}

/** A wake's session request (forceFreshSession, resumeFromRunId) as the context the claim reads (§12.3, §12.8). */
async function withSessionRequest(deps: EngineDeps, input: EnqueueWakeupInput): Promise<EnqueueWakeupInput> {
  if (!input.forceFreshSession && input.resumeFromRunId == null) return input;
  if (input.forceFreshSession && input.resumeFromRunId != null) {
    throw badInput('Ask for a fresh session or to resume a run, not both', { field: 'resumeFromRunId' });
  }
  let context: WakeContext = { ...(input.context ?? {}) };
  if (input.forceFreshSession) context.forceFreshSession = true;
  if (input.resumeFromRunId != null) {
    if (!isUuid(input.resumeFromRunId)) throw badInput('resumeFromRunId must be a run id', { field: 'resumeFromRunId' });
    context = { ...context, ...(await resumeContextFromRun(deps, { companyId: input.companyId, agentId: input.agentId, runId: input.resumeFromRunId })) };
  }
  return { ...input, context };
}

async function enqueue(deps: EngineDeps, input: EnqueueWakeupInput, options: EnqueueOptions): Promise<EnqueueResult & { claimed?: ClaimedRun }> {
  const now = deps.clock.now();
  const source = input.source ?? 'on_demand';
  const payload = input.payload ?? null;
  // With tracing on, the run's trace continues from the enqueue's span (telemetry/tracing.ts).
  const ctx = withTraceparent(enrichWakeContext(input.context ?? {}, {
    source,
    triggerDetail: input.triggerDetail ?? null,
    reason: input.reason ?? null,
    payload,
  }));
  const issueId = str(ctx.issueId) ?? str(payload?.issueId);
  // payload.issueId routes the wakeup to an issue (spec §6.1 step 1): a raw issue id, which an API
  // caller only ever sets by mistake (the API's issueId argument takes the Issue's global id).
  if (issueId !== null && !isUuid(issueId)) {
    throw badInput('payload.issueId must be an issue id; pass the issue as issueId instead', { field: 'payload.issueId' });
  }
  const prepare = (agent: Agent): PreparedWakeup => ({ input, agent, source, payload, ctx, now });
  if (!issueId) {
    const enqueued = await enqueuePipelined(deps, input, prepare, wakeScopeKey(ctx), options.claim === true, ctx);
    if (enqueued) return enqueued;
  }

  const [agentRaw] = await executePrepared<Record<string, unknown>>(deps.db, sql`select * from agents where id = ${input.agentId} and company_id = ${input.companyId}`);
  if (!agentRaw) throw notFound('Agent');
  const agent = agentRowFromDriver(agentRaw);

  if (input.idempotencyKey) {
    const earlier = await findDuplicate(deps, input);
    if (earlier) return earlier;
  }
  const prepared = prepare(agent);

  // Stored skipped, then refused, as a budget's refusal is: the request is on record, and the
  // caller learns which setting stops the agent.
  const hostRefusal = hostAdapterRefusalToRun(deps.settings.hostAdapters, agent.adapterType, agent.adapterConfig);
  if (hostRefusal) {
    await insertSkipped(deps, prepared, HOST_ADAPTERS_REFUSED);
    throw new HeartbeatError('FORBIDDEN', hostRefusal, { reason: HOST_ADAPTERS_REFUSED });
  }
  const gate = await deps.canInvoke.check({ companyId: agent.companyId, agentId: agent.id, issueId });
  if (!gate.allowed) {
    // Stored skipped, then refused: the caller learns which budget blocks it (§14.2).
    await insertSkipped(deps, prepared, 'budget.blocked');
    if (gate.block) throw new HeartbeatError('BUDGET_EXCEEDED', gate.reason, { ...gate.block, reason: 'budget.blocked' });
    throw conflict(gate.reason, { reason: 'budget.blocked' });
  }
  if (!isInvokable(agent.status)) throw conflict(`Agent is ${agent.status} and cannot be woken`);
  const policy = readHeartbeatPolicy(agent.runtimeConfig, deps.settings);
  if (source === 'timer' && !policy.enabled) return insertSkipped(deps, prepared, 'heartbeat.disabled');
  if (source !== 'timer' && !policy.wakeOnDemand) {
    return insertSkipped(deps, prepared, 'heartbeat.wakeOnDemand.disabled');
  }
  return issueId ? enqueueOnIssue(deps, prepared, issueId) : enqueueWithoutIssue(deps, prepared, options.claim === true);
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  return (cause as { code?: string; constraint_name?: string })?.code === '23505' &&
    (cause as { constraint_name?: string }).constraint_name === constraint;
}

async function findDuplicate(deps: EngineDeps, input: EnqueueWakeupInput): Promise<EnqueueResult | null> {
  const wake = await deps.db.query.wakeupRequests.findFirst({
    where: { companyId: input.companyId, agentId: input.agentId, idempotencyKey: input.idempotencyKey! },
  });
  if (!wake) return null;
  const run = wake.runId ? ((await deps.db.query.heartbeatRuns.findFirst({ where: { id: wake.runId } })) ?? null) : null;
  return { outcome: 'duplicate', wakeupRequest: wake, run, startAgentId: null };
}
