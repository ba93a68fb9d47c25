// Liveness continuation (spec §6.8): a run on an issue that only planned, or said nothing, wakes
// its agent again to do the work, at most twice; then a comment says the engine gave up.
import { markContinuation, setLivenessReason } from '../runs/annotations.ts';
import { issueComments } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { Wake } from '../issues/issues.ts';
import type { RunRow } from '../model/runs.ts';

export const MAX_CONTINUATION_ATTEMPTS = 2;
const DEFAULT_INSTRUCTION = 'Continue the work on this issue: take the next concrete step and report what changed.';
const EXHAUSTED_PREFIX = 'Bounded liveness continuation exhausted';

/** Whether a continuation may follow the run: it worked on an issue and only planned or said nothing. */
export const mayContinue = (run: Pick<RunRow, 'livenessState' | 'issueId'>) =>
  (run.livenessState === 'plan_only' || run.livenessState === 'empty_response') && run.issueId !== null;

export async function enqueueLivenessContinuation(deps: EngineDeps, wake: Wake, run: RunRow): Promise<void> {
  if (!mayContinue(run) || !run.issueId) return;
  const issue = await deps.db.query.issues.findFirst({ where: { id: run.issueId, companyId: run.companyId } });
  const agent = await deps.db.query.agents.findFirst({ where: { id: run.agentId, companyId: run.companyId } });
  if (!issue || !agent) return;
  if (issue.assigneeAgentId !== run.agentId || !['todo', 'in_progress'].includes(issue.status) || issue.executionState) return;
  if (!['active', 'idle', 'running', 'error'].includes(agent.status)) return;
  if (!(await deps.canInvoke.check({ companyId: run.companyId, agentId: run.agentId, issueId: run.issueId })).allowed) return;

  const next = run.continuationAttempt + 1;
  if (run.continuationAttempt >= MAX_CONTINUATION_ATTEMPTS) {
    await markExhausted(deps, run);
    return;
  }
  const key = `run_liveness_continuation:${issue.id}:${run.id}:${run.livenessState}:${next}`;
  const duplicate = await deps.db.query.wakeupRequests.findFirst({
    // The company leads the idempotency index.
    where: { companyId: run.companyId, agentId: run.agentId, idempotencyKey: key, status: { in: ['queued', 'deferred_issue_execution', 'completed'] } },
    columns: { id: true },
  });
  if (duplicate) return;
  const instruction = run.nextAction ?? DEFAULT_INSTRUCTION;
  const result = await wake({
    companyId: run.companyId,
    agentId: run.agentId,
    source: 'automation',
    triggerDetail: 'system',
    reason: 'run_liveness_continuation',
    idempotencyKey: key,
    actor: { type: 'system', id: 'heartbeat' },
    payload: {
      issueId: issue.id,
      sourceRunId: run.id,
      livenessState: run.livenessState,
      livenessReason: run.livenessReason,
      continuationAttempt: next,
      maxContinuationAttempts: MAX_CONTINUATION_ATTEMPTS,
      instruction,
    },
    context: {
      issueId: issue.id,
      taskId: issue.id,
      taskKey: issue.id,
      wakeReason: 'run_liveness_continuation',
      livenessContinuationAttempt: next,
      livenessContinuationMaxAttempts: MAX_CONTINUATION_ATTEMPTS,
      livenessContinuationSourceRunId: run.id,
      livenessContinuationState: run.livenessState,
      livenessContinuationReason: run.livenessReason,
      livenessContinuationInstruction: instruction,
    },
  });
  // A wakeup merged into a run already on its way still makes that run the continuation.
  if (result.run && result.run.status === 'queued' && result.run.continuationAttempt < next) {
    await markContinuation(deps.db, result.run.id, next);
  }
}

/** The reason says so, and one comment per run tells a person what to do next. */
async function markExhausted(deps: EngineDeps, run: RunRow): Promise<void> {
  const base = run.livenessReason ?? 'Run ended without concrete progress';
  if (!base.endsWith('; continuation attempts exhausted')) {
    await setLivenessReason(deps.db, run.id, `${base}; continuation attempts exhausted`);
  }
  const existing = await deps.db.query.issueComments.findFirst({ where: { createdByRunId: run.id, body: { like: `${EXHAUSTED_PREFIX}%` } }, columns: { id: true } });
  if (existing || !run.issueId) return;
  const now = deps.clock.now();
  await deps.db.insert(issueComments).values({
    companyId: run.companyId,
    issueId: run.issueId,
    body:
      `${EXHAUSTED_PREFIX}: the last run ended as ${run.livenessState}. ` +
      `Attempts used: ${run.continuationAttempt}/${MAX_CONTINUATION_ATTEMPTS}. Reason: ${base}. ` +
      'Next step: a person should look at the issue, clarify what is needed, and wake the agent again.',
    authorUserId: 'system',
    createdByRunId: run.id,
    createdAt: now,
    updatedAt: now,
  });
}
