// executeRun (spec §6.4): from a claimed run to its terminal row. The adapter's callbacks are
// synchronous; the writes they cause go through one queue per run so events keep their order.
import { and, eq, inArray } from 'drizzle-orm';
import { agents, heartbeatRuns, issues } from '../db/schema.ts';
import type { AdapterResult } from './adapters/types.ts';
import type { ClaimedRun } from './claim.ts';
import { type EngineDeps, transact } from './deps.ts';
import { type FinalizeSteps, runFollowUpSteps, writeTerminalStatus } from './finalize.ts';
import { readinessOf } from './issue-readiness.ts';
import type { RunIssueActions } from './issues.ts';
import { appendRunEvent } from './run-events.ts';
import { RunOutput } from './run-output.ts';
import { type RunRow, settleRun } from './runs.ts';
import { withTransientRetry } from './transient.ts';

export interface ActiveRun {
  runId: string;
  agentId: string;
  controller: AbortController;
  /** Set when the abort comes from a shutdown rather than a cancel. */
  abortReason: 'cancel' | 'shutdown' | null;
}

export interface ExecuteHooks {
  stepsFor(adapterType: (typeof agents.$inferSelect)['adapterType']): FinalizeSteps;
  issueActions(run: RunRow): RunIssueActions;
}

/** Serialises async writes while keeping the callbacks that cause them synchronous. */
class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly onError: (error: unknown) => void) {}
  push(write: () => Promise<unknown>): void {
    this.tail = this.tail.then(write).then(
      () => {},
      (error) => this.onError(error),
    );
  }
  drain(): Promise<void> {
    return this.tail;
  }
}

const SHUTDOWN_RESULT: AdapterResult = {
  exitCode: null,
  errorMessage: 'Process lost -- server shut down before the run finished',
  errorCode: 'process_lost',
};

/** Returns the runs its follow-up steps queued (promotions, recoveries), which the caller starts. */
export async function executeClaimedRun(
  deps: EngineDeps,
  { run, runToken }: ClaimedRun,
  active: ActiveRun,
  hooks: ExecuteHooks,
): Promise<RunRow[]> {
  const agent = await deps.db.query.agents.findFirst({ where: { id: run.agentId } });
  if (!agent) {
    // Spec §6.4 step 1: record the failure and release the issue; there is no agent to update.
    const steps = hooks.stepsFor('script');
    const missing = { id: run.agentId, adapterType: 'script' as const, adapterConfig: {} };
    const result = { errorMessage: 'Agent not found', errorCode: 'agent_not_found' };
    const { run: failed } = await writeTerminalStatus(deps, { runId: run.id, agent: missing, result, output: null }, steps);
    const promoted = failed ? await steps.releaseIssueExecution(failed) : null;
    await transact(deps, (tx, events) => settleRun(tx, events, run.id, deps.clock.now()));
    return promoted ? [promoted] : [];
  }
  const steps = hooks.stepsFor(agent.adapterType);
  const adapter = deps.adapters[agent.adapterType];
  let output: RunOutput | null = null;
  try {
    const config = adapter.parseConfig(agent.adapterConfig);
    const context = await autoCheckout(deps, run, agent.id);
    output = new RunOutput(deps, run);
    const logRef = output.logRef;
    await transact(deps, async (tx, events) => {
      const now = deps.clock.now();
      await tx.update(heartbeatRuns).set({ contextSnapshot: context, logStore: 'file', logRef, updatedAt: now }).where(eq(heartbeatRuns.id, run.id));
      const [running] = await tx
        .update(agents)
        .set({ status: 'running', updatedAt: now })
        .where(and(eq(agents.id, agent.id), inArray(agents.status, ['active', 'idle', 'running', 'error'])))
        .returning();
      if (running) {
        events.push({ type: 'agent.status', companyId: agent.companyId, agentId: agent.id, status: 'running', lastHeartbeatAt: running.lastHeartbeatAt?.toISOString() ?? null, outcome: 'running' });
      }
      await appendRunEvent(tx, events, { runId: run.id, eventType: 'lifecycle', level: 'info', message: 'run started', payload: { adapterType: agent.adapterType, invocationSource: run.invocationSource, wakeReason: context.wakeReason ?? null } }, now);
    });

    const writes = new WriteQueue((error) => deps.logger.error({ err: error, runId: run.id }, 'run write failed'));
    const event = (e: Parameters<typeof appendRunEvent>[2]) =>
      writes.push(() => transact(deps, (tx, events) => appendRunEvent(tx, events, e, deps.clock.now())));
    const runOutput = output;
    let result = await adapter.execute({
      runId: run.id,
      companyId: run.companyId,
      agentId: agent.id,
      agentName: agent.name,
      issueId: run.issueId,
      context,
      config,
      runToken,
      apiUrl: deps.settings.apiUrl,
      apiIds: {
        runId: deps.encodeApiId('HeartbeatRun', run.id),
        agentId: deps.encodeApiId('Agent', agent.id),
        issueId: run.issueId ? deps.encodeApiId('Issue', run.issueId) : null,
      },
      signal: active.controller.signal,
      onLog: (stream, chunk) => {
        if (runOutput.append(stream, chunk)) writes.push(() => runOutput.persistProgress());
      },
      onEvent: (e) => event({ runId: run.id, eventType: e.type, message: e.message, level: e.level, stream: e.stream, color: e.color, payload: e.payload }),
      onSpawn: (info) =>
        writes.push(() =>
          deps.db
            .update(heartbeatRuns)
            .set({ processPid: info.pid, processGroupId: info.processGroupId, processStartedAt: deps.clock.now() })
            .where(eq(heartbeatRuns.id, run.id)),
        ),
      onMeta: (meta) => event({ runId: run.id, eventType: 'adapter.invoke', level: 'info', message: 'adapter invoked', payload: meta }),
      issue: hooks.issueActions(run),
    });
    await writes.drain();
    if (active.abortReason === 'shutdown') result = SHUTDOWN_RESULT;
    return await finish(deps, steps, run.id, agent, result, await output.finish(), false);
  } catch (error) {
    deps.logger.warn({ err: error, runId: run.id }, 'adapter failed before finishing the run');
    const message = error instanceof Error ? error.message : String(error);
    const summary = output ? await output.finish() : null;
    return finish(deps, steps, run.id, agent, { exitCode: null, errorMessage: message, errorCode: 'adapter_failed' }, summary, true);
  }
}

async function finish(
  deps: EngineDeps,
  steps: FinalizeSteps,
  runId: string,
  agent: { id: string; adapterType: (typeof agents.$inferSelect)['adapterType']; adapterConfig: Record<string, unknown> },
  result: AdapterResult,
  output: Awaited<ReturnType<RunOutput['finish']>> | null,
  crashed: boolean,
): Promise<RunRow[]> {
  // The outcome is what matters most: its write is retried through a database hiccup.
  const { run, finalized } = await withTransientRetry(() => writeTerminalStatus(deps, { runId, agent, result, output, crashed }, steps), 8);
  if (!run || !finalized) return [];
  const queued = await runFollowUpSteps(steps, run, crashed);
  await withTransientRetry(() => transact(deps, (tx, events) => settleRun(tx, events, run.id, deps.clock.now())));
  return queued;
}

/**
 * Spec §6.4 step 2: an assigned, ready issue in an open state is checked out to the run; the
 * context records whether that worked.
 */
async function autoCheckout(deps: EngineDeps, run: RunRow, agentId: string): Promise<Record<string, unknown>> {
  const context = { ...run.contextSnapshot };
  const reason = typeof context.wakeReason === 'string' ? context.wakeReason : null;
  if (!run.issueId || !reason || reason === 'issue_comment_mentioned' || reason.startsWith('execution_')) return context;
  const issue = await deps.db.query.issues.findFirst({ where: { id: run.issueId } });
  if (!issue || issue.assigneeAgentId !== agentId) return context;
  if (!['todo', 'backlog', 'blocked', 'in_progress'].includes(issue.status)) return context;
  if (!(await readinessOf(deps.db, issue.id)).isDependencyReady) return context;
  const [checkedOut] = await deps.db
    .update(issues)
    .set({ status: 'in_progress', checkoutRunId: run.id, updatedAt: deps.clock.now() })
    .where(and(eq(issues.id, issue.id), inArray(issues.status, ['todo', 'backlog', 'blocked'])))
    .returning({ id: issues.id });
  context.issueCheckedOut = !!checkedOut;
  return context;
}
