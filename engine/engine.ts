// The heartbeat engine of one server instance, as one façade: start and stop, and the API the
// schema calls. It composes the dispatcher (claims and executes runs, execution/dispatcher.ts),
// the periodic loop (execution/periodic-loop.ts), the lease (cluster/leases.ts) and the control
// channel. Everything it decides is decided in SQL; the in-memory state is only what this
// instance is executing right now.
import { type BoundedRetryOutcome, scheduleBoundedRetry, type ScheduleOptions } from './recovery/bounded-retry.ts';
import { backfillIssueLiveness } from './recovery/liveness-backfill.ts';
import { reportRunActivity } from './runs/lost-runs.ts';
import { enqueueManualRetry, type ManualRetryInput } from './recovery/manual-retry.ts';
import type { ReapResult } from './recovery/reaper.ts';
import type { StrandedResult } from './recovery/stranded-issues.ts';
import { finalizeAgentStatus } from './runs/agent-status.ts';
import { agentIdByName, createAgent, type CreateAgentInput, transitionAgentStatus, updateAgent, type UpdateAgentInput } from './agents/agents.ts';
import { sql } from 'drizzle-orm';
import type { RunScope } from './runs/cancel.ts';
import { afterCancel, type Cancellation, cancelRun, cancelRunsInScope } from './execution/cancellation.ts';
import { dismissRunSilence, snoozeRunSilence } from './runs/silence-level.ts';
import type { SilencePassResult } from './recovery/silence.ts';
import { CONTROL_CHANNEL, ControlListeners, type ControlMessage } from './cluster/control-listeners.ts';
import type { EngineDeps } from './model/deps.ts';
import { engineDeps, type EngineOptions } from './engine-options.ts';
import { Dispatcher } from './execution/dispatcher.ts';
import { PeriodicLoop } from './execution/periodic-loop.ts';
import { followUpSteps, type FollowUpSteps } from './execution/follow-up.ts';
import { InstanceLease } from './cluster/leases.ts';
import * as issueService from './issues/issues.ts';
import { importFileLogs } from './runs/file-logs.ts';
import { expireLogs } from './runs/log-retention.ts';
import { type CommentWritePort, commentWriteBatches, writeIssueComment } from './issues/comment-write.ts';
import { type RunRow } from './model/runs.ts';
import { listTaskSessions, resetAgentSession } from './sessions/sessions.ts';
import { type CostFilter, type CostGroup, costSummary, costTotals } from './costs/cost-summary.ts';
import { createProject, listProjects } from './costs/projects.ts';
import { BudgetGate } from './costs/budgets.ts';
import { BudgetControl } from './costs/budget-control.ts';
import { enqueueWakeup, type EnqueueResult, type EnqueueWakeupInput } from './wakeups/enqueue.ts';
import { wakeupSpan } from './telemetry/tracing.ts';

export type { EngineOptions };

export class Engine {
  readonly deps: EngineDeps;
  /** Control messages: a run cancelled on another instance is aborted here too. */
  private readonly control = new ControlListeners(() => this.deps.logger);
  /** The canInvoke port unless the caller gives one: budgets (costs/budgets.ts). */
  private readonly budgetGate = new BudgetGate(() => this.deps);
  /** This instance's lease; whether others are dead is its call (cluster/leases.ts). */
  private readonly lease: InstanceLease;
  /** Claims and executes runs; the runs this instance executes. */
  private readonly dispatcher: Dispatcher;
  /** Reaping, retries, timers, resuming, stranded issues. */
  private readonly loop: PeriodicLoop;
  private unlisten: (() => Promise<void>) | null = null;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private readonly backfilling = new Set<string>();
  /** Log housekeeping (runs/log-retention.ts, runs/file-logs.ts): the retention timer, the import of file logs. */
  private logRetentionTimer: NodeJS.Timeout | null = null;
  private fileLogImport: Promise<void> = Promise.resolve();
  /** Comments, by runs and people: group-committed when run writes are batched (issues/comment-write.ts). */
  private commentWrites: CommentWritePort = (write) => writeIssueComment(this.deps.db, write);

  constructor(private readonly options: EngineOptions) {
    this.deps = engineDeps(options, options.canInvoke ?? this.budgetGate);
    if (this.batching) {
      this.commentWrites = commentWriteBatches(this.deps.db, (error) => this.deps.logger.debug({ err: error }, 'a batch of comments fell back to writing each on its own'));
    }
    const running = () => this.state === 'running';
    // The same dependencies (settings is the same object), with the pipeline's connections.
    const pipeline: EngineDeps | undefined = options.pipelineDb ? { ...this.deps, db: options.pipelineDb } : undefined;
    this.dispatcher = new Dispatcher(this.deps, {
      pipeline,
      batching: this.batching,
      steps: () => this.steps,
      issueActions: (run) => issueService.runIssueActions(this.deps, this.wake, run, this.commentWrites),
      afterSpend: (run) => this.budgets.enforceAfterSpend(run),
      running,
      counters: this.writeCounters,
    });
    this.control.add((message) => {
      if (message.kind === 'cancel') this.dispatcher.abortLocal(message.runId);
      if (message.kind === 'budgets-changed') void this.budgetGate.refresh().catch(() => {});
    });
    this.lease = new InstanceLease({
      db: options.leaseDb ?? options.db,
      clock: this.deps.clock,
      host: options.hostName,
      logger: options.logger,
      onTakenOver: async () => this.dispatcher.abortAll('fenced'),
      onRegistered: (id) => (this.deps.settings.instanceId = id),
      onNextLapse: (at) => this.loop.reapAt(at),
    });
    this.loop = new PeriodicLoop(this.deps, {
      dispatcher: this.dispatcher,
      lease: this.lease,
      steps: () => this.steps,
      enqueueWakeup: this.wake,
      running,
      // A run silent past its agent's limit is cancelled as an operator's cancel is (§17, §6.13).
      cancelSilentRun: async (input) => (await this.cancel(input)).previous !== null,
    });
    // Read early, so that an engine used before start() (tests, tools) takes the hot paths too.
    this.budgetsRead = this.deps.canInvoke === this.budgetGate ? this.budgetGate.refresh().catch(() => {}) : Promise.resolve();
  }

  private readonly budgetsRead: Promise<void>;

  /**
   * Resolves once the engine knows which companies have budgets (start() waits for it too): until
   * then every wakeup is checked against budgets, and none takes the one-transaction fast path.
   */
  ready(): Promise<void> {
    return this.budgetsRead;
  }

  private get batching(): boolean {
    return this.options.batchRunWrites !== false;
  }

  /** What the runs this instance executes wrote, counted for /metrics. */
  private readonly writeCounters = { logBytesWritten: 0 };

  /** Counted for /metrics. */
  get counters(): PeriodicLoop['counters'] & { logBytesWritten: number } {
    return { ...this.loop.counters, logBytesWritten: this.writeCounters.logBytesWritten };
  }

  get instanceId(): string {
    return this.deps.settings.instanceId;
  }

  /** Registers the instance, listens for control messages, resumes queued runs, starts the loop. */
  async start(input: { apiUrl: string }): Promise<void> {
    if (this.state !== 'new') throw new Error(`Engine cannot start from state ${this.state}`);
    await this.lease.register();
    Object.assign(this.deps.settings, { host: this.lease.host, apiUrl: input.apiUrl });
    // Which companies have budgets, known before the first wakeup (the hot paths skip the others).
    if (this.deps.canInvoke === this.budgetGate) await this.budgetGate.refresh();
    const listener = await this.options.sql.listen(CONTROL_CHANNEL, (payload) => this.control.receive(payload));
    this.unlisten = () => listener.unlisten();
    this.state = 'running';
    this.lease.start();
    this.loop.start(this.options.tickIntervalMs ?? 1_000);
    // Startup: what a previous life of this server (or a dead peer) left behind comes first.
    await this.loop.reapOrphanedRuns();
    await this.loop.promoteDueRetries();
    await this.loop.resumeQueuedRuns();
    await this.loop.reconcileStrandedIssues();
    this.startLogHousekeeping();
  }

  /**
   * In the background: this instance's file logs imported into the database (cut short by stop), and
   * with a retention setting, expired logs removed every ten minutes.
   */
  private startLogHousekeeping(): void {
    const running = () => this.state === 'running';
    this.fileLogImport = this.loop.guard('importing file logs', async () => {
      const imported = await importFileLogs(this.deps, () => !running());
      if (imported > 0) this.deps.logger.info({ imported }, 'file logs imported into the database');
    });
    if (!(this.options.logRetentionDays && this.options.logRetentionDays > 0)) return;
    const expire = () => void this.loop.guard('expiring logs', () => this.expireLogs());
    expire();
    this.logRetentionTimer = setInterval(expire, 10 * 60_000);
    this.logRetentionTimer.unref();
  }

  /** Removes the logs past the retention setting (docs/engine.md §6.5); returns how many runs' logs went. */
  expireLogs(now: Date = this.deps.clock.now()): Promise<number> {
    return expireLogs(this.deps, now, this.options.logRetentionDays ?? 0);
  }

  /** Stops claiming, lets in-flight runs finish within the grace, aborts the rest, ends the lease. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    this.loop.stop();
    if (this.logRetentionTimer) clearInterval(this.logRetentionTimer);
    await this.fileLogImport;
    const unfinished = await this.dispatcher.drain(this.options.shutdownGraceMs ?? 10_000);
    // Their processes are stopped: recovery takes them now, each failed as lost and retried once.
    await this.loop.guard('handing unfinished runs to recovery', () => this.loop.handOver(unfinished));
    await this.unlisten?.();
    await this.lease.stop();
    this.state = 'stopped';
  }

  /** Runs the engine is executing on this instance right now. */
  activeRunIds(): string[] {
    return this.dispatcher.activeRunIds();
  }

  async enqueueWakeup(input: EnqueueWakeupInput): Promise<EnqueueResult> {
    // While running, a new run with nothing ahead of it is claimed in the enqueue's transaction;
    // stop() waits for those enqueues like for claims, so what they claimed is executed.
    const work = wakeupSpan(input, () => enqueueWakeup(this.deps, input, { claim: this.state === 'running' && this.batching }));
    this.dispatcher.executeEnqueued(work);
    const { claimed: _claimed, ...result } = await work;
    if (result.startAgentId) void this.startNext(result.startAgentId);
    return result;
  }

  /** startNextQueuedRunForAgent, coalesced per agent on this instance (execution/dispatcher.ts). */
  startNext(agentId: string): Promise<void> {
    return this.dispatcher.startNext(agentId);
  }

  /** startNext for every agent that has queued runs. */
  resumeQueuedRuns(): Promise<void> {
    return this.loop.resumeQueuedRuns();
  }

  /** One pass of the periodic loop (execution/periodic-loop.ts). */
  tick(): Promise<void> {
    return this.loop.tick();
  }

  /** §6.11: fails (and retries once) runs whose process or server is gone; completes follow-ups a dead owner left (§6.11-K). */
  reapOrphanedRuns(): Promise<Pick<ReapResult, 'reaped' | 'runIds'>> {
    return this.loop.reapOrphanedRuns();
  }

  /** §8: classifies the issue's finished runs that never were (in the background, once at a time). */
  backfillIssueLiveness(issueId: string): void {
    if (this.backfilling.has(issueId) || this.state !== 'running') return;
    this.backfilling.add(issueId);
    void backfillIssueLiveness(this.deps, issueId)
      .catch((error: unknown) => this.deps.logger.warn({ err: error, issueId }, 'liveness backfill failed'))
      .finally(() => this.backfilling.delete(issueId));
  }

  /** §6.12: due scheduled retries join the queued pool and are started. */
  promoteDueRetries(now = this.deps.clock.now()) {
    return this.loop.promoteDueRetries(now);
  }

  scheduleBoundedRetry(runId: string, options?: ScheduleOptions): Promise<BoundedRetryOutcome> {
    return scheduleBoundedRetry(this.deps, runId, options);
  }

  /** §6.14. */
  reconcileStrandedIssues(): Promise<StrandedResult> {
    return this.loop.reconcileStrandedIssues();
  }

  reportRunActivity(runId: string) {
    return reportRunActivity(this.deps, runId);
  }

  /** An operator's retry of a finished, unsuccessful run: a new run linked to it by retryOf. */
  retryRun(input: ManualRetryInput): Promise<EnqueueResult> {
    return enqueueManualRetry(this.deps, this.wake, (agentId) => void this.startNext(agentId), input);
  }

  tickTimers(now: Date) {
    return this.loop.tickTimers(now);
  }

  async cancelRun(input: { companyId?: string; runId: string; reason?: string; stopReason?: string }): Promise<RunRow> {
    return (await this.cancel(input)).run;
  }

  /** §6.13 cancelRun; `previous` is set when this call cancelled the run. */
  private async cancel(input: Parameters<typeof cancelRun>[2] & { runId: string }): Promise<Cancellation> {
    const result = await cancelRun(this.deps, input.runId, input);
    if (!result.previous) return result;
    this.dispatcher.abortLocal(result.run.id);
    const promoted = await afterCancel(this.deps, result);
    await finalizeAgentStatus(this.deps, [{ agentId: result.run.agentId, outcome: 'cancelled' }]);
    void this.startNext(result.run.agentId);
    for (const next of promoted) void this.startNext(next.agentId);
    return result;
  }

  /**
   * Silent runs (docs/engine.md §17): one pass of the evaluation the loop runs each tick (levels
   * written and published once per change; runs past their agent's silence limit cancelled).
   */
  evaluateRunSilence(): Promise<SilencePassResult> {
    return this.loop.evaluateRunSilence();
  }

  /** An operator's snooze of a running run's silence warning, until `until` (at most 7 days ahead). */
  snoozeRunSilence(input: { companyId?: string; runId: string; until: Date }): Promise<RunRow> {
    return snoozeRunSilence(this.deps, input);
  }

  /** An operator's dismissal of a running run's silence warning (a false positive) until its next output. */
  dismissRunSilence(input: { companyId?: string; runId: string }): Promise<RunRow> {
    return dismissRunSilence(this.deps, input);
  }

  /** Cancels every run of the agent on its way to execution (§6.13); returns how many. */
  cancelActiveForAgent(agentId: string, reason?: string): Promise<number> {
    return this.cancelActiveInScope({ agentId }, reason);
  }

  /** Cancels every run of the scope on its way to execution (§6.13, §14.3); returns how many. */
  async cancelActiveInScope(scope: RunScope, reason?: string, stopReason?: string): Promise<number> {
    const cancelled = await cancelRunsInScope(this.deps, scope, reason, stopReason);
    for (const cancellation of cancelled) {
      this.dispatcher.abortLocal(cancellation.run.id);
      for (const next of await afterCancel(this.deps, cancellation)) void this.startNext(next.agentId);
    }
    return cancelled.length;
  }

  /** The id of the company's agent with this name (any case); NOT_FOUND naming `field` otherwise. */
  agentIdByName(companyId: string, name: string, field?: string): Promise<string> {
    return agentIdByName(this.deps, companyId, name, field);
  }

  async createAgent(input: CreateAgentInput) {
    const agent = await createAgent(this.deps, input);
    this.loop.agentPolicyChanged();
    return agent;
  }

  async updateAgent(input: UpdateAgentInput) {
    const agent = await updateAgent(this.deps, input);
    this.loop.agentPolicyChanged();
    return agent;
  }

  async pauseAgent(input: { companyId: string; agentId: string }) {
    const agent = await transitionAgentStatus(this.deps, input, 'paused', ['active', 'idle', 'running', 'error']);
    await this.cancelActiveForAgent(agent.id);
    return agent;
  }

  async resumeAgent(input: { companyId: string; agentId: string }) {
    const agent = await transitionAgentStatus(this.deps, input, 'idle', ['paused']);
    void this.startNext(agent.id);
    return agent;
  }

  /** Budgets (docs/engine.md §14); only admins change them (the schema checks). */
  readonly budgets = new BudgetControl(() => this.deps, this.budgetGate, (scope, reason, stopReason) => this.cancelActiveInScope(scope, reason, stopReason));

  /** Agent task sessions (docs/engine.md §12.10). */
  readonly sessions = {
    list: (companyId: string, agentId: string) => listTaskSessions(this.deps, companyId, agentId),
    reset: (input: { companyId: string; agentId: string; taskKey?: string | null }) => resetAgentSession(this.deps, input),
  };

  /** The cost ledger and projects (docs/engine.md §13). */
  readonly costs = {
    summary: (companyId: string, filter: CostFilter, groupBy: readonly CostGroup[]) => costSummary(this.deps, companyId, filter, groupBy),
    totals: (companyId: string, filter: CostFilter) => costTotals(this.deps, companyId, filter),
    createProject: (input: { companyId: string; name: string }) => createProject(this.deps, input),
    listProjects: (companyId: string) => listProjects(this.deps, companyId),
  };

  readonly issues = {
    create: (input: issueService.CreateIssueInput, actor: Parameters<typeof issueService.createIssue>[3]) =>
      issueService.createIssue(this.deps, this.wake, input, actor),
    update: (input: issueService.UpdateIssueInput) => issueService.updateIssue(this.deps, this.wake, input),
    assign: (input: Parameters<typeof issueService.assignIssue>[2], actor: Parameters<typeof issueService.assignIssue>[3]) =>
      issueService.assignIssue(this.deps, this.wake, input, actor),
    addComment: (input: Parameters<typeof issueService.addIssueComment>[2], actor: Parameters<typeof issueService.addIssueComment>[3]) =>
      issueService.addIssueComment(this.deps, this.wake, input, actor, this.commentWrites),
    putDocument: (input: Parameters<typeof issueService.putIssueDocument>[1], actor: Parameters<typeof issueService.putIssueDocument>[2]) =>
      issueService.putIssueDocument(this.deps, input, actor),
    addBlocker: (input: Parameters<typeof issueService.addIssueBlocker>[1]) => issueService.addIssueBlocker(this.deps, input),
  };

  private readonly wake = (input: EnqueueWakeupInput) => this.enqueueWakeup(input);

  /** Built once: the same follow-up steps serve every run. */
  private followUpSteps: FollowUpSteps | null = null;

  private get steps(): FollowUpSteps {
    return (this.followUpSteps ??= followUpSteps(this.deps, this.wake));
  }

  /** Control messages between instances (cancel, key revocation) for the server's own use. */
  onControl(listener: (message: ControlMessage) => void): () => void {
    return this.control.add(listener);
  }
}
