// Operations on agent task sessions (docs/engine.md §12.8, §12.10): list an agent's sessions, reset
// one task's or all of them, and turn `resumeFromRunId` into the explicit resume the claim honours.
import { and, desc, eq } from 'drizzle-orm';
import { agentRuntimeState, agentTaskSessions } from '../../db/schema.ts';
import type { EngineDeps } from '../model/deps.ts';
import { badInput, notFound } from '../model/errors.ts';
import { SESSION_PARAMS_MAX_BYTES, type SessionParams, sessionParamsFrom, taskKeyOf } from '../rules/sessions.ts';
import type { WakeContext } from '../rules/wake-context.ts';

export type TaskSessionRow = typeof agentTaskSessions.$inferSelect;

/** An agent's task sessions, most recently used first. */
export async function listTaskSessions(deps: EngineDeps, companyId: string, agentId: string): Promise<TaskSessionRow[]> {
  return deps.db
    .select()
    .from(agentTaskSessions)
    .where(and(eq(agentTaskSessions.companyId, companyId), eq(agentTaskSessions.agentId, agentId)))
    .orderBy(desc(agentTaskSessions.updatedAt), agentTaskSessions.taskKey);
}

/**
 * §12.10: forgets the session of one task of the agent, or (no task key) all of them and its fallback
 * session. The next run of that task starts a fresh session. Returns how many sessions were removed.
 */
export async function resetAgentSession(deps: EngineDeps, input: { companyId: string; agentId: string; taskKey?: string | null }): Promise<number> {
  const agent = await deps.db.query.agents.findFirst({ where: { id: input.agentId, companyId: input.companyId }, columns: { id: true } });
  if (!agent) throw notFound('Agent');
  const taskKey = input.taskKey ?? null;
  if (taskKey !== null && (taskKey.trim() === '' || taskKey.length > 500)) throw badInput('taskKey must be 1-500 characters', { field: 'taskKey' });
  return deps.db.transaction(async (tx) => {
    const removed = await tx
      .delete(agentTaskSessions)
      .where(and(eq(agentTaskSessions.agentId, agent.id), ...(taskKey === null ? [] : [eq(agentTaskSessions.taskKey, taskKey)])))
      .returning({ id: agentTaskSessions.id });
    if (taskKey === null) await tx.update(agentRuntimeState).set({ sessionId: null }).where(eq(agentRuntimeState.agentId, agent.id));
    return removed.length;
  });
}

/**
 * §12.8: the context of a wake that resumes the session an earlier run of the same agent left. The
 * task session when it still belongs to that run (its last run, or its display id), else the id the
 * run recorded; the run's issue, task and task key come along. Another agent's or company's run, or a
 * run that left no session, is a typed error.
 */
export async function resumeContextFromRun(deps: EngineDeps, input: { companyId: string; agentId: string; runId: string }): Promise<WakeContext> {
  const run = await deps.db.query.heartbeatRuns.findFirst({ where: { id: input.runId, companyId: input.companyId } });
  if (!run) throw badInput('resumeFromRunId names no run of this company', { field: 'resumeFromRunId' });
  if (run.agentId !== input.agentId) throw badInput('resumeFromRunId names a run of another agent', { field: 'resumeFromRunId' });
  const taskKey = taskKeyOf(run.contextSnapshot);
  const label = run.sessionIdAfter ?? run.sessionIdBefore;
  const stored = taskKey
    ? await deps.db.query.agentTaskSessions.findFirst({ where: { companyId: run.companyId, agentId: run.agentId, taskKey } })
    : undefined;
  const matches = stored && (stored.lastRunId === run.id || (label !== null && stored.sessionDisplayId === label));
  const params: SessionParams | null = matches ? sessionParamsFrom(stored.sessionParams) : label ? { sessionId: label } : null;
  if (!params) throw badInput('The run given as resumeFromRunId left no session to resume', { field: 'resumeFromRunId' });
  if (JSON.stringify(params).length > SESSION_PARAMS_MAX_BYTES) throw badInput('The session params are over 64 KiB', { field: 'resumeFromRunId' });
  const context: WakeContext = { resumeFromRunId: run.id, resumeSessionParams: params };
  if (matches && stored.sessionDisplayId) context.resumeSessionDisplayId = stored.sessionDisplayId;
  for (const key of ['issueId', 'taskId', 'taskKey'] as const) {
    if (typeof run.contextSnapshot[key] === 'string') context[key] = run.contextSnapshot[key];
  }
  return context;
}
