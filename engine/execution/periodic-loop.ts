// The periodic loop of one instance (docs/engine.md §6.11-§6.14): every tick it catches missed
// cancels, reaps lost runs, promotes due retries, fires timers, resumes queued runs, now and
// then reconciles stranded issues, and evaluates silent runs (§17). A reaper pass also runs when
// another instance's lease lapses.
import { eq } from 'drizzle-orm';
import { heartbeatRuns } from '../../db/schema.ts';
import { LEASE_TTL_MS } from '../cluster/instances.ts';
import type { InstanceLease } from '../cluster/leases.ts';
import type { EngineDeps } from '../model/deps.ts';
import { promoteDueScheduledRetries } from '../recovery/bounded-retry.ts';
import { runningRunsById } from '../recovery/process-loss.ts';
import { reapOrphanedRuns, type ReaperHooks, type ReapResult, reapRuns } from '../recovery/reaper.ts';
import { reconcileStrandedAssignedIssues, type StrandedResult } from '../recovery/stranded-issues.ts';
import { type SilenceCancel, type SilencePassResult, SilenceWatch } from '../recovery/silence.ts';
import { settleRun } from '../runs/settle.ts';
import { transact } from '../model/deps.ts';
import type { EnqueueResult, EnqueueWakeupInput } from '../wakeups/enqueue.ts';
import { tickTimers } from '../wakeups/timers.ts';
import type { Dispatcher } from './dispatcher.ts';
import { completeTakenOverFollowUp, type FollowUpSteps } from './follow-up.ts';

/** Stranded-issue reconciliation scans every open issue: it runs less often than the tick. */
const RECONCILE_INTERVAL_MS = 30_000;

export interface PeriodicLoopOptions {
  dispatcher: Dispatcher;
  lease: InstanceLease;
  steps(): FollowUpSteps;
  enqueueWakeup(input: EnqueueWakeupInput): Promise<EnqueueResult>;
  /** Whether the engine is running: passes stop when it is not. */
  running(): boolean;
  /** Cancels a run silent past its agent's limit (§17) through the engine's cancel (§6.13). */
  cancelSilentRun: SilenceCancel;
}

export class PeriodicLoop {
  /** Counted for /metrics. */
  readonly counters = { runsReaped: 0, instancesDeclaredDead: 0, followUpsTakenOver: 0 };
  private timer: NodeJS.Timeout | null = null;
  private reapTimer: NodeJS.Timeout | null = null;
  private ticking = false;
  private reconciledAt = 0;
  /** One reaper pass at a time (the tick's and the lease-lapse timer's take turns). */
  private reaping: Promise<unknown> = Promise.resolve();
  /** Silent runs (§17). */
  private readonly silence: SilenceWatch;

  constructor(
    private readonly deps: EngineDeps,
    private readonly options: PeriodicLoopOptions,
  ) {
    this.silence = new SilenceWatch(deps, options.cancelSilentRun);
  }

  /** Ticks every `intervalMs` (0: never). */
  start(intervalMs: number): void {
    if (intervalMs > 0) this.timer = setInterval(() => void this.guard('engine tick', () => this.tick()), intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.reapTimer) clearTimeout(this.reapTimer);
    this.timer = this.reapTimer = null;
  }

  /** One pass, in this order: missed cancels, reap, promote due retries, timers, resume, reconcile, silent runs. */
  async tick(): Promise<void> {
    if (!this.options.running() || this.ticking) return;
    this.ticking = true;
    try {
      await this.options.dispatcher.sweepCancelledRuns();
      await this.reapOrphanedRuns();
      await this.promoteDueRetries();
      await this.tickTimers(this.deps.clock.now());
      await this.resumeQueuedRuns();
      const now = this.deps.clock.now().getTime();
      if (now - this.reconciledAt >= RECONCILE_INTERVAL_MS) await this.reconcileStrandedIssues();
      // Its own failure does not stop the tick's other steps (it comes last, and is logged).
      await this.guard('silent-run evaluation', () => this.evaluateRunSilence());
    } finally {
      this.ticking = false;
    }
  }

  /** §6.11: fails (and retries once) runs whose process or server is gone; completes follow-ups a dead owner left (§6.11-K). */
  reapOrphanedRuns(): Promise<Pick<ReapResult, 'reaped' | 'runIds'>> {
    const pass = this.reaping.then(() => this.reapPass());
    this.reaping = pass.catch(() => {});
    return pass;
  }

  /** At stop: the runs this instance could not finish are failed as lost, each retried once. */
  async handOver(runIds: string[]): Promise<void> {
    const candidates = await runningRunsById(this.deps, runIds, 'the server shut down before the run finished');
    const { runIds: reaped } = await reapRuns(this.deps, this.reaperHooks(new Set(runIds)), candidates);
    this.counters.runsReaped += reaped.length;
  }

  /**
   * A reaper pass when another instance's lease lapses (if it has not renewed by then), so that a
   * dead instance's runs are reaped within the lease plus a moment, not plus a tick.
   */
  reapAt(at: Date): void {
    const ms = at.getTime() - this.deps.clock.now().getTime() + 50;
    if (this.reapTimer || ms <= 0 || ms > LEASE_TTL_MS + 1_000 || !this.options.running()) return;
    this.reapTimer = setTimeout(() => {
      this.reapTimer = null;
      if (this.options.running()) void this.guard('reaping', () => this.reapOrphanedRuns());
    }, ms);
  }

  /** §6.12: due scheduled retries join the queued pool and are started. */
  async promoteDueRetries(now = this.deps.clock.now()) {
    const result = await promoteDueScheduledRetries(this.deps, now);
    for (const agentId of result.agentIds) void this.options.dispatcher.startNext(agentId);
    return result;
  }

  tickTimers(now: Date) {
    return tickTimers(this.deps, now, (input) => this.options.enqueueWakeup(input));
  }

  /** startNext for every agent that has queued runs. */
  async resumeQueuedRuns(): Promise<void> {
    const rows = await this.deps.db.selectDistinct({ agentId: heartbeatRuns.agentId }).from(heartbeatRuns).where(eq(heartbeatRuns.status, 'queued'));
    await Promise.all(rows.map((row) => this.options.dispatcher.startNext(row.agentId)));
  }

  /**
   * §17: one statement reads the running runs whose silence level would change or whose agent's
   * silence limit is reached (none in the common case); changes are written, limits cancel.
   */
  evaluateRunSilence(): Promise<SilencePassResult> {
    return this.silence.evaluate();
  }

  /** An agent was created or changed here: its silence limit is read again on the next pass. */
  agentPolicyChanged(): void {
    this.silence.invalidateLimits();
  }

  /** §6.14. */
  async reconcileStrandedIssues(): Promise<StrandedResult> {
    this.reconciledAt = this.deps.clock.now().getTime();
    return reconcileStrandedAssignedIssues(this.deps, (input) => this.options.enqueueWakeup(input));
  }

  private async reapPass(): Promise<Pick<ReapResult, 'reaped' | 'runIds'>> {
    const { abandoned } = this.options.dispatcher;
    const result = await reapOrphanedRuns(this.deps, this.reaperHooks(abandoned));
    for (const runId of [...result.runIds, ...result.followedUp]) abandoned.delete(runId);
    this.counters.runsReaped += result.reaped;
    this.counters.instancesDeclaredDead += result.declaredDead.length;
    this.counters.followUpsTakenOver += result.followedUp.length;
    return { reaped: result.reaped, runIds: result.runIds };
  }

  private reaperHooks(abandoned: ReadonlySet<string>): ReaperHooks {
    const { dispatcher, lease } = this.options;
    return {
      activeRunIds: new Set(dispatcher.activeRunIds()),
      steps: this.options.steps(),
      settle: (runId) => transact(this.deps, async (tx, events) => void (await settleRun(tx, events, runId, this.deps.clock.now()))),
      startNext: (agentId) => void dispatcher.startNext(agentId),
      judge: (ownerInstanceId, owner) => lease.judge(ownerInstanceId, owner, this.deps.settings.instanceId),
      abandoned,
      executing: () => new Set(dispatcher.activeRunIds()),
      completeFollowUp: (taken) => completeTakenOverFollowUp(this.deps, this.options.steps(), taken),
    };
  }

  /** Runs `work`, logging (not throwing) its failure: the loop goes on. */
  async guard(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.deps.logger.error({ err: error }, `${what} failed`);
    }
  }
}
