// The dispatcher of one instance: claims runs for agents whose queues changed (one claim
// transaction per agent at a time, many agents per transaction) and executes what it claimed,
// keeping the set of runs this instance executes. It is the only in-memory state the engine has.
import { and, inArray, ne } from 'drizzle-orm';
import { heartbeatRuns } from '../../db/schema.ts';
import type { RunIssueActions } from '../issues/issues.ts';
import type { EngineDeps } from '../model/deps.ts';
import type { RunRow } from '../model/runs.ts';
import type { ClaimedRun } from '../runs/claim.ts';
import { isDatabaseUnavailable } from '../store/database-unavailable.ts';
import { type ActiveRun, executeClaimedRun } from './execute-run.ts';
import type { FollowUpSteps } from './follow-up.ts';
import { claimBatcher, runBatchPorts } from './run-write-batches.ts';

export interface DispatcherOptions {
  /** Write the events and finishes of many runs together (run-write-batches.ts); off, each run's own. */
  batching: boolean;
  steps(): FollowUpSteps;
  issueActions(run: RunRow): RunIssueActions;
  /** After a finished run that cost money: the budgets it may have spent act (§14.3). */
  afterSpend?(run: RunRow): Promise<void>;
  /** Whether the engine is running: claims stop when it is not. */
  running(): boolean;
  /** What the runs it executes wrote, counted for /metrics. */
  counters?: { logBytesWritten: number };
  /** The engine's dependencies with the run pipeline's connections (EngineOptions.pipelineDb), for the group commits. */
  pipeline?: EngineDeps;
}

export class Dispatcher {
  private readonly active = new Map<string, ActiveRun>();
  private readonly executing = new Set<Promise<unknown>>();
  private readonly starting = new Map<string, Promise<void>>();
  private readonly startAgain = new Set<string>();
  private readonly claimingEnqueues = new Set<Promise<unknown>>();
  /** Runs whose executor gave up on the database (the reaper retries them). */
  readonly abandoned = new Set<string>();
  private readonly onBatchFailure = (error: unknown) => this.deps.logger.debug({ err: error }, 'a batched write fell back to the write of its one item');
  /** Agents whose last claim left queued runs another transaction held, and how often in a row. */
  private readonly skippedInARow = new Map<string, number>();
  private readonly claimAgainTimers = new Map<string, NodeJS.Timeout>();
  /** Agents whose queues changed at about the same time, claimed in one transaction. */
  private readonly claims = claimBatcher(() => this.options.pipeline ?? this.deps, this.onBatchFailure, { onSkipped: (agentIds) => this.claimAgainSoon(agentIds) });
  /** Events and finishes of many runs, each written for a batch of runs at once. */
  private readonly runBatches = runBatchPorts(() => this.options.pipeline ?? this.deps, this.onBatchFailure);

  constructor(
    private readonly deps: EngineDeps,
    private readonly options: DispatcherOptions,
  ) {}

  /** Runs this instance is executing right now. */
  activeRunIds(): string[] {
    return [...this.active.keys()];
  }

  /** startNextQueuedRunForAgent, coalesced per agent on this instance: one claim transaction at a time. */
  startNext(agentId: string): Promise<void> {
    if (!this.options.running()) return Promise.resolve();
    const inFlight = this.starting.get(agentId);
    if (inFlight) {
      this.startAgain.add(agentId);
      return inFlight;
    }
    const work = (async () => {
      do {
        this.startAgain.delete(agentId);
        const skippedBefore = this.skippedInARow.get(agentId);
        const claimed = await this.claims.submit(agentId);
        // A claim that skipped nothing ends the series of pauses (claimAgainSoon).
        if (skippedBefore !== undefined && this.skippedInARow.get(agentId) === skippedBefore) this.skippedInARow.delete(agentId);
        for (const run of claimed) this.execute(run);
      } while (this.startAgain.has(agentId) && this.options.running());
    })()
      .catch((error: unknown) => this.deps.logger.error({ err: error, agentId }, 'claiming runs failed'))
      .finally(() => this.starting.delete(agentId));
    this.starting.set(agentId, work);
    return work;
  }

  /**
   * A claim skipped queued runs of these agents because another transaction held them. That
   * transaction may be one that does not claim after its commit (one that annotates a queued run),
   * so the agent is claimed for again after a pause: 10 ms, doubling while it keeps happening, at
   * most a second (the periodic loop's resume would find the runs by then anyway).
   */
  private claimAgainSoon(agentIds: string[]): void {
    for (const agentId of agentIds) {
      const inARow = (this.skippedInARow.get(agentId) ?? 0) + 1;
      this.skippedInARow.set(agentId, inARow);
      if (this.claimAgainTimers.has(agentId) || !this.options.running()) continue;
      const timer = setTimeout(() => {
        this.claimAgainTimers.delete(agentId);
        void this.startNext(agentId);
      }, Math.min(1_000, 10 * 2 ** (inARow - 1)));
      timer.unref();
      this.claimAgainTimers.set(agentId, timer);
    }
  }

  /** Executes what an enqueue claimed in its own transaction; stop() waits for those like for claims. */
  executeEnqueued(work: Promise<{ claimed?: ClaimedRun }>): void {
    const claiming = work.then(({ claimed }) => claimed && this.execute(claimed), () => {});
    this.claimingEnqueues.add(claiming);
    void claiming.finally(() => this.claimingEnqueues.delete(claiming));
  }

  /**
   * Executes a claimed run. The agent's next runs are claimed once its finish has committed (while
   * its follow-up is written, if it has one) or else when it ends; those its follow-ups queued, then.
   */
  execute(claimed: ClaimedRun): void {
    const active: ActiveRun = { runId: claimed.run.id, agentId: claimed.run.agentId, controller: new AbortController(), abortReason: null };
    this.active.set(active.runId, active);
    let slotFreed = false;
    const work = executeClaimedRun(this.deps, claimed, active, {
      steps: this.options.steps(),
      issueActions: (run) => this.options.issueActions(run),
      afterSpend: this.options.afterSpend,
      batches: this.options.batching ? this.runBatches : undefined,
      counters: this.options.counters,
      finished: () => {
        slotFreed = true;
        void this.startNext(active.agentId);
      },
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
        if (!slotFreed) void this.startNext(active.agentId);
      });
    this.executing.add(work);
  }

  /**
   * At stop: waits for claims in flight, lets the runs finish within `graceMs`, then stops the
   * rest. Returns the runs that had not finished (their processes are stopped).
   */
  async drain(graceMs: number): Promise<string[]> {
    for (const timer of this.claimAgainTimers.values()) clearTimeout(timer);
    this.claimAgainTimers.clear();
    await Promise.allSettled([...this.starting.values(), ...this.claimingEnqueues]);
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled([...this.executing]), graceOver]);
    clearTimeout(graceTimer);
    const unfinished = this.activeRunIds();
    this.abortAll('shutdown');
    await Promise.allSettled([...this.executing]);
    return unfinished;
  }

  /** Stops every run this instance executes: at shutdown, or when another instance declared it dead. */
  abortAll(reason: 'shutdown' | 'fenced'): void {
    for (const run of this.active.values()) {
      run.abortReason ??= reason;
      run.controller.abort();
    }
  }

  /** Stops the run if this instance executes it (a cancel). */
  abortLocal(runId: string): void {
    const run = this.active.get(runId);
    if (!run) return;
    run.abortReason ??= 'cancel';
    run.controller.abort();
  }

  /** Catches cancels whose NOTIFY this instance missed (e.g. while its listener reconnected). */
  async sweepCancelledRuns(): Promise<void> {
    const ids = this.activeRunIds();
    if (ids.length === 0) return;
    const ended = await this.deps.db
      .select({ id: heartbeatRuns.id })
      .from(heartbeatRuns)
      .where(and(inArray(heartbeatRuns.id, ids), ne(heartbeatRuns.status, 'running')));
    for (const { id } of ended) this.abortLocal(id);
  }
}
