// The heartbeat engine of one server instance: claims and executes runs, listens for cross-
// instance control messages, keeps its lease, and runs the periodic loop. Everything it decides
// is decided in SQL; the in-memory state is only what this instance is executing right now.
import type { Logger } from 'pino';
import type postgres from 'postgres';
import { and, eq, inArray, ne } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import type { AdapterType } from '../db/enums.ts';
import { heartbeatRuns } from '../db/schema.ts';
import { type BoundedRetryOutcome, promoteDueScheduledRetries, scheduleBoundedRetry, type ScheduleOptions } from './bounded-retry.ts';
import { backfillIssueLiveness } from './liveness-backfill.ts';
import { reportRunActivity, runningRunsById } from './process-loss.ts';
import { enqueueManualRetry, type ManualRetryInput } from './manual-retry.ts';
import { reapOrphanedRuns, type ReaperHooks, type ReapResult, reapRuns } from './reaper.ts';
import { reconcileStrandedAssignedIssues, type StrandedResult } from './stranded.ts';
import { builtInAdapters } from './adapters/index.ts';
import type { Adapter } from './adapters/types.ts';
import { finalizeAgentStatus } from './agent-status.ts';
import { createAgent, type CreateAgentInput, transitionAgentStatus, updateAgent, type UpdateAgentInput } from './agents.ts';
import { cancelActiveRunRecordsForAgent, cancelRunRecord, CONTROL_CHANNEL, type ControlMessage } from './cancel.ts';
import { ControlListeners } from './control-listeners.ts';
import type { ClaimedRun } from './claim.ts';
import { type Clock, systemClock } from './clock.ts';
import { allowAll, type CanInvokePort, type EngineDeps, transact } from './deps.ts';
import { type ActiveRun, executeClaimedRun } from './execute.ts';
import { claimBatcher, runBatchPorts } from './engine-batches.ts';
import type { FinalizeSteps } from './finalize.ts';
import { engineFinalizeSteps } from './engine-steps.ts';
import { LEASE_TTL_MS } from './instances.ts';
import { isDatabaseUnavailable } from './database-unavailable.ts';
import { InstanceLease } from './leases.ts';
import * as issueService from './issues.ts';
import { createInProcessEventBus, type LiveEventBus } from './live-events.ts';
import { releaseIssueExecutionAndPromote } from './release.ts';
import { type RunRow, settleRun } from './runs.ts';
import { tickTimers } from './timers.ts';
import { enqueueWakeup, type EnqueueResult, type EnqueueWakeupInput } from './wakeups.ts';

/** Stranded-issue reconciliation scans every open issue: it runs less often than the tick. */
const RECONCILE_INTERVAL_MS = 30_000;

export interface EngineOptions {
  db: Database;
  /** postgres.js client of `db`, for LISTEN. */
  sql: postgres.Sql;
  logger: Logger;
  logDir: string;
  clock?: Clock;
  bus?: LiveEventBus;
  /** Replace built-in adapters (tests wrap them to observe executions). */
  adapters?: Partial<Record<AdapterType, Adapter<any>>>;
  canInvoke?: CanInvokePort;
  maxConcurrentRunsLimit?: number;
  /** Period of the loop (timers, resuming queued runs, cancel sweep). 0 disables the loop. */
  tickIntervalMs?: number;
  /** A connection of the lease's own (see leases.ts); the engine's pool when not given. */
  leaseDb?: Database;
  /** The name of this host in the lease (default: the OS hostname); see leases.ts. */
  hostName?: string;
  /** How long run writes wait out an unreachable database (EngineSettings.databaseOutageMs); default 5 minutes. */
  databaseOutageMs?: number;
  /** How long stop() lets in-flight runs finish before aborting them. */
  shutdownGraceMs?: number;
  onFirstHeartbeat?: EngineDeps['onFirstHeartbeat'];
  encodeApiId?: EngineDeps['encodeApiId'];
  /**
   * Write run starts, events and finishes of many runs together (engine-batches.ts); default true.
   * Off, every run writes on its own: the same rows and events, one transaction per step.
   */
  batchRunWrites?: boolean;
}

export class Engine {
  readonly deps: EngineDeps;
  private readonly active = new Map<string, ActiveRun>();
  private readonly executing = new Set<Promise<unknown>>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly startAgain = new Set<string>();
  private readonly claimingEnqueues = new Set<Promise<unknown>>();
  private get batching(): boolean {
    return this.options.batchRunWrites !== false;
  }
  private readonly onBatchFailure = (error: unknown) => this.deps.logger.debug({ err: error }, 'a batched write fell back to per-run writes');
  /** Agents whose queues changed at about the same time, claimed in one transaction. */
  /** Control messages: a run cancelled on another instance is aborted here too. */
  private readonly control = new ControlListeners(() => this.deps.logger);
  private readonly claims = claimBatcher(() => this.deps, this.onBatchFailure);
  /** Run starts, events and finishes of many runs, each written for a batch of runs at once. */
  private readonly runBatches = runBatchPorts(() => this.deps, this.onBatchFailure);
  private timers: NodeJS.Timeout[] = [];
  private unlisten: (() => Promise<void>) | null = null;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private ticking = false;
  private readonly backfilling = new Set<string>();
  private reconciledAt = 0;

  constructor(private readonly options: EngineOptions) {
    this.deps = {
      db: options.db,
      clock: options.clock ?? systemClock,
      bus: options.bus ?? createInProcessEventBus(),
      logger: options.logger,
      settings: {
        maxConcurrentRunsLimit: options.maxConcurrentRunsLimit ?? 10,
        logDir: options.logDir,
        instanceId: '',
        host: '',
        apiUrl: '',
        databaseOutageMs: options.databaseOutageMs ?? 5 * 60_000,
      },
      adapters: { ...builtInAdapters, ...options.adapters } as EngineDeps['adapters'],
      canInvoke: options.canInvoke ?? allowAll,
      onFirstHeartbeat: options.onFirstHeartbeat,
      encodeApiId: options.encodeApiId ?? ((_typename, id) => id),
    };
    this.control.add((message) => {
      if (message.kind === 'cancel') this.abortLocal(message.runId);
    });
    this.lease = new InstanceLease({
      db: options.leaseDb ?? options.db,
      clock: this.deps.clock,
      host: options.hostName,
      logger: options.logger,
      onTakenOver: async () => this.abortAll('fenced'),
      onRegistered: (id) => (this.deps.settings.instanceId = id),
      onNextLapse: (at) => this.reapAt(at),
    });
  }

  /** This instance's lease; whether others are dead is its call (leases.ts). */
  private readonly lease: InstanceLease;
  /** Counted for /metrics. */
  readonly counters = { runsReaped: 0, instancesDeclaredDead: 0 };

  get instanceId(): string {
    return this.deps.settings.instanceId;
  }

  /** Registers the instance, listens for control messages, resumes queued runs, starts the loop. */
  async start(input: { apiUrl: string }): Promise<void> {
    if (this.state !== 'new') throw new Error(`Engine cannot start from state ${this.state}`);
    await this.lease.register();
    Object.assign(this.deps.settings, { host: this.lease.host, apiUrl: input.apiUrl });
    const listener = await this.options.sql.listen(CONTROL_CHANNEL, (payload) => this.control.receive(payload));
    this.unlisten = () => listener.unlisten();
    this.state = 'running';
    this.lease.start();
    const tickMs = this.options.tickIntervalMs ?? 1_000;
    if (tickMs > 0) this.timers.push(setInterval(() => void this.guard('engine tick', () => this.tick()), tickMs));
    // Startup: what a previous life of this server (or a dead peer) left behind comes first.
    await this.reapOrphanedRuns();
    await this.promoteDueRetries();
    await this.resumeQueuedRuns();
    await this.reconcileStrandedIssues();
  }

  /** Stops claiming, lets in-flight runs finish within the grace, aborts the rest, ends the lease. */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    if (this.reapTimer) clearTimeout(this.reapTimer);
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await Promise.allSettled([...this.starting.values(), ...this.claimingEnqueues]);
    const grace = this.options.shutdownGraceMs ?? 10_000;
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, grace)));
    await Promise.race([Promise.allSettled([...this.executing]), graceOver]);
    clearTimeout(graceTimer);
    const unfinished = [...this.active.keys()];
    this.abortAll('shutdown');
    await Promise.allSettled([...this.executing]);
    // Their processes are stopped: recovery takes them now, each failed as lost and retried once.
    await this.guard('handing unfinished runs to recovery', () => this.handOver(unfinished));
    await this.unlisten?.();
    await this.lease.stop();
    this.state = 'stopped';
  }

  /** Runs the engine is executing on this instance right now. */
  activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  async enqueueWakeup(input: EnqueueWakeupInput): Promise<EnqueueResult> {
    // While running, a new run with nothing ahead of it is claimed in the enqueue's transaction;
    // stop() waits for those enqueues like for claims, so what they claimed is executed.
    const work = enqueueWakeup(this.deps, input, { claim: this.state === 'running' && this.batching });
    const claiming = work.then(({ claimed }) => claimed && this.execute(claimed), () => {});
    this.claimingEnqueues.add(claiming);
    void claiming.finally(() => this.claimingEnqueues.delete(claiming));
    const { claimed: _claimed, ...result } = await work;
    if (result.startAgentId) void this.startNext(result.startAgentId);
    return result;
  }

  /** startNextQueuedRunForAgent, coalesced per agent on this instance: one claim transaction at a time. */
  startNext(agentId: string): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    const inFlight = this.starting.get(agentId);
    if (inFlight) {
      this.startAgain.add(agentId);
      return inFlight;
    }
    const work = (async () => {
      do {
        this.startAgain.delete(agentId);
        const claimed = await this.claims.submit(agentId);
        for (const run of claimed) this.execute(run);
      } while (this.startAgain.has(agentId) && this.state === 'running');
    })()
      .catch((error: unknown) => this.deps.logger.error({ err: error, agentId }, 'claiming runs failed'))
      .finally(() => this.starting.delete(agentId));
    this.starting.set(agentId, work);
    return work;
  }

  /** startNext for every agent that has queued runs. */
  async resumeQueuedRuns(): Promise<void> {
    const rows = await this.deps.db.selectDistinct({ agentId: heartbeatRuns.agentId }).from(heartbeatRuns).where(eq(heartbeatRuns.status, 'queued'));
    await Promise.all(rows.map((row) => this.startNext(row.agentId)));
  }

  /** One pass of the periodic loop, in spec order: reap, promote due retries, resume, reconcile. */
  async tick(): Promise<void> {
    if (this.state !== 'running' || this.ticking) return;
    this.ticking = true;
    try {
      await this.sweepCancelledRuns();
      await this.reapOrphanedRuns();
      await this.promoteDueRetries();
      await this.tickTimers(this.deps.clock.now());
      await this.resumeQueuedRuns();
      const now = this.deps.clock.now().getTime();
      if (now - this.reconciledAt >= RECONCILE_INTERVAL_MS) await this.reconcileStrandedIssues();
    } finally {
      this.ticking = false;
    }
  }

  /** Spec §6.11: fails (and retries once) runs whose process or server is gone. */
  reapOrphanedRuns(): Promise<Pick<ReapResult, 'reaped' | 'runIds'>> {
    // One pass at a time (the tick's and the lease-lapse timer's take turns).
    const pass = this.reaping.then(() => this.reapPass());
    this.reaping = pass.catch(() => {});
    return pass;
  }

  private async handOver(runIds: string[]): Promise<void> {
    const candidates = await runningRunsById(this.deps, runIds, 'the server shut down before the run finished');
    const { runIds: reaped } = await reapRuns(this.deps, this.reaperHooks(new Set(runIds)), candidates);
    this.counters.runsReaped += reaped.length;
  }

  private reaping: Promise<unknown> = Promise.resolve();
  private reaperHooks(abandoned: ReadonlySet<string>): ReaperHooks {
    return {
      activeRunIds: new Set(this.active.keys()),
      steps: this.steps,
      settle: (runId) => this.settle(runId),
      startNext: (agentId) => void this.startNext(agentId),
      judge: (ownerInstanceId, owner) => this.lease.judge(ownerInstanceId, owner, this.deps.settings.instanceId),
      abandoned,
    };
  }

  /** Runs whose executor gave up on the database (reaper.ts retries them). */
  private readonly abandoned = new Set<string>();

  private async reapPass(): Promise<Pick<ReapResult, 'reaped' | 'runIds'>> {
    const result = await reapOrphanedRuns(this.deps, this.reaperHooks(this.abandoned));
    for (const runId of result.runIds) this.abandoned.delete(runId);
    this.counters.runsReaped += result.reaped;
    this.counters.instancesDeclaredDead += result.declaredDead.length;
    return { reaped: result.reaped, runIds: result.runIds };
  }

  /** Spec §8: classifies the issue's finished runs that never were (in the background, once at a time). */
  backfillIssueLiveness(issueId: string): void {
    if (this.backfilling.has(issueId) || this.state !== 'running') return;
    this.backfilling.add(issueId);
    void backfillIssueLiveness(this.deps, issueId)
      .catch((error: unknown) => this.deps.logger.warn({ err: error, issueId }, 'liveness backfill failed'))
      .finally(() => this.backfilling.delete(issueId));
  }

  /** Spec §6.12: due scheduled retries join the queued pool and are started. */
  async promoteDueRetries(now = this.deps.clock.now()) {
    const result = await promoteDueScheduledRetries(this.deps, now);
    for (const agentId of result.agentIds) void this.startNext(agentId);
    return result;
  }

  scheduleBoundedRetry(runId: string, options?: ScheduleOptions): Promise<BoundedRetryOutcome> {
    return scheduleBoundedRetry(this.deps, runId, options);
  }

  /** Spec §6.14. */
  async reconcileStrandedIssues(): Promise<StrandedResult> {
    this.reconciledAt = this.deps.clock.now().getTime();
    return reconcileStrandedAssignedIssues(this.deps, this.wake);
  }

  reportRunActivity(runId: string) {
    return reportRunActivity(this.deps, runId);
  }

  /** An operator's retry of a finished, unsuccessful run: a new run linked to it by retryOf. */
  retryRun(input: ManualRetryInput): Promise<EnqueueResult> {
    return enqueueManualRetry(this.deps, this.wake, (agentId) => void this.startNext(agentId), input);
  }

  tickTimers(now: Date) {
    return tickTimers(this.deps, now, (input) => this.enqueueWakeup(input));
  }

  async cancelRun(input: { companyId?: string; runId: string; reason?: string }): Promise<RunRow> {
    const { run, previous } = await cancelRunRecord(this.deps, input.runId, input);
    if (!previous) return run;
    this.abortLocal(run.id);
    // Released with the row as it was before the cancel: a person stopped it, so no recovery run.
    const promoted = (await releaseIssueExecutionAndPromote(this.deps, previous)).promoted;
    await finalizeAgentStatus(this.deps, [{ agentId: run.agentId, outcome: 'cancelled' }]);
    await this.settleCancelled(previous);
    void this.startNext(run.agentId);
    if (promoted) void this.startNext(promoted.agentId);
    return run;
  }

  /** Cancels every run of the agent on its way to execution (spec §6.13); returns how many. */
  async cancelActiveForAgent(agentId: string, reason?: string): Promise<number> {
    const cancelled = await cancelActiveRunRecordsForAgent(this.deps, agentId, reason);
    for (const { run, previous } of cancelled) {
      this.abortLocal(run.id);
      // Released with the row as it was before the cancel, so no recovery is attempted for it.
      const { promoted } = await releaseIssueExecutionAndPromote(this.deps, previous!);
      await this.settleCancelled(previous!);
      if (promoted) void this.startNext(promoted.agentId);
    }
    return cancelled.length;
  }

  createAgent(input: CreateAgentInput) {
    return createAgent(this.deps, input);
  }

  updateAgent(input: UpdateAgentInput) {
    return updateAgent(this.deps, input);
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

  readonly issues = {
    create: (input: issueService.CreateIssueInput, actor: Parameters<typeof issueService.createIssue>[3]) =>
      issueService.createIssue(this.deps, this.wake, input, actor),
    update: (input: issueService.UpdateIssueInput) => issueService.updateIssue(this.deps, this.wake, input),
    assign: (input: Parameters<typeof issueService.assignIssue>[2], actor: Parameters<typeof issueService.assignIssue>[3]) =>
      issueService.assignIssue(this.deps, this.wake, input, actor),
    addComment: (input: Parameters<typeof issueService.addIssueComment>[2], actor: Parameters<typeof issueService.addIssueComment>[3]) =>
      issueService.addIssueComment(this.deps, this.wake, input, actor),
    putDocument: (input: Parameters<typeof issueService.putIssueDocument>[1], actor: Parameters<typeof issueService.putIssueDocument>[2]) =>
      issueService.putIssueDocument(this.deps, input, actor),
    addBlocker: (input: Parameters<typeof issueService.addIssueBlocker>[1]) => issueService.addIssueBlocker(this.deps, input),
  };

  private readonly wake = (input: EnqueueWakeupInput) => this.enqueueWakeup(input);

  /** Built once (engine-steps.ts): the same follow-up steps serve every run. */
  private followUpSteps: FinalizeSteps | null = null;

  protected get steps(): FinalizeSteps {
    return (this.followUpSteps ??= engineFinalizeSteps(this.deps, this.wake));
  }

  private execute(claimed: ClaimedRun): void {
    const active: ActiveRun = { runId: claimed.run.id, agentId: claimed.run.agentId, controller: new AbortController(), abortReason: null };
    this.active.set(active.runId, active);
    const work = executeClaimedRun(this.deps, claimed, active, {
      steps: this.steps,
      issueActions: (run) => issueService.runIssueActions(this.deps, this.wake, run),
      batches: this.batching ? this.runBatches : undefined,
    })
      .then((queued) => {
        for (const run of queued) void this.startNext(run.agentId);
      })
      .catch((error: unknown) => {
        // The database stayed away past the bound: the reaper fails the run and retries it.
        if (isDatabaseUnavailable(error)) this.abandoned.add(active.runId);
        this.deps.logger.error({ err: error, runId: active.runId }, 'run execution failed');
      })
      .finally(() => {
        this.active.delete(active.runId);
        this.executing.delete(work);
        void this.startNext(active.agentId);
      });
    this.executing.add(work);
  }

  private settle(runId: string): Promise<void> {
    return transact(this.deps, async (tx, events) => void (await settleRun(tx, events, runId, this.deps.clock.now())));
  }

  /**
   * A cancelled run that never started settles now. One that was running settles once its
   * executor has stopped the process and recorded what it left (execute.ts finish), or, if that
   * executor is gone, when the reaper finds it (reaper.ts).
   */
  private async settleCancelled(previous: RunRow): Promise<void> {
    if (previous.status !== 'running') await this.settle(previous.id);
  }

  private reapTimer: NodeJS.Timeout | null = null;

  /**
   * A reaper pass when another instance's lease lapses (if it has not renewed by then), so that a
   * dead instance's runs are reaped within the lease plus a moment, not plus a tick.
   */
  private reapAt(at: Date): void {
    const ms = at.getTime() - this.deps.clock.now().getTime() + 50;
    if (this.reapTimer || ms <= 0 || ms > LEASE_TTL_MS + 1_000 || this.state !== 'running') return;
    this.reapTimer = setTimeout(() => {
      this.reapTimer = null;
      if (this.state === 'running') void this.guard('reaping', () => this.reapOrphanedRuns());
    }, ms);
  }

  /** Stops every run this instance executes: at shutdown, or when another instance declared it dead. */
  private abortAll(reason: 'shutdown' | 'fenced'): void {
    for (const run of this.active.values()) {
      run.abortReason ??= reason;
      run.controller.abort();
    }
  }

  private abortLocal(runId: string): void {
    const run = this.active.get(runId);
    if (!run) return;
    run.abortReason ??= 'cancel';
    run.controller.abort();
  }

  /** Control messages between instances (cancel, key revocation) for the server's own use. */
  onControl(listener: (message: ControlMessage) => void): () => void {
    return this.control.add(listener);
  }

  /** Catches cancels whose NOTIFY this instance missed (e.g. while its listener reconnected). */
  private async sweepCancelledRuns(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    const ended = await this.deps.db
      .select({ id: heartbeatRuns.id })
      .from(heartbeatRuns)
      .where(and(inArray(heartbeatRuns.id, ids), ne(heartbeatRuns.status, 'running')));
    for (const { id } of ended) this.abortLocal(id);
  }

  private async guard(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.deps.logger.error({ err: error }, `${what} failed`);
    }
  }
}
