// Executing one claimed run (docs/engine.md §6.4): the adapter runs, its output and events are
// written as they come (one queue per run, so events keep their order), then the run is finished
// (runs/finish.ts) and, if it needs them, its follow-up steps run and it is settled.
import { runSandbox } from '../adapters/run-sandbox.ts';
import { companySlotOf } from '../agents/company-slot.ts';
import { HostAdapterRefused, runnableConfig } from '../agents/runnable-config.ts';
import { recordRunProcess } from '../runs/annotations.ts';
import { agentDirectory } from '../adapters/agent-directory.ts';
import type { AdapterResult } from '../adapters/types.ts';
import type { ClaimedRun } from '../runs/claim.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { continueAndSettle, type FollowUp, followUpInFinish, type FollowUpSteps, writeFollowUps } from './follow-up.ts';
import { finishRuns, type FollowUpInFinish, type RunFinish, type RunFinished } from '../runs/finish.ts';
import { finalizeAgentStatus } from '../runs/agent-status.ts';
import type { RunIssueActions } from '../issues/issues.ts';
import { appendExecutorEvent, type EventGroup, type NewRunEvent } from '../runs/events.ts';
import { FIRST_PROGRESS_DELAY_MS, RunOutput } from '../runs/output.ts';
import { type LogChunk, writeLogChunks } from '../runs/run-log.ts';
import { type RunRow } from '../model/runs.ts';
import { settleRun } from '../runs/settle.ts';
import { isDatabaseUnavailable } from '../store/database-unavailable.ts';
import { withOutageRetry } from '../store/database-retry.ts';
import { runSessionOf, sessionLogLines } from '../runs/task-sessions.ts';
import { executionSpan } from '../telemetry/tracing.ts';

export interface ActiveRun {
  runId: string;
  agentId: string;
  controller: AbortController;
  /** Set when the abort comes from a shutdown rather than a cancel. */
  abortReason: 'cancel' | 'shutdown' | 'fenced' | null;
}

export interface ExecuteHooks {
  /** What follows the finish of a run that needs it (follow-up.ts). */
  steps: FollowUpSteps;
  issueActions(run: RunRow): RunIssueActions;
  /** After a finished run that cost money: the budgets it may have spent act (§14.3). */
  afterSpend?(run: RunRow): Promise<void>;
  /**
   * Where the engine batches the writes of many runs (run-write-batches.ts). Each takes the write of
   * the one item as well, which it uses for what the batch did not write. Without it, every write
   * is that of its one item.
   */
  batches?: RunBatchPorts;
  /** Counts what this instance wrote, for /metrics: bytes of log. */
  counters?: { logBytesWritten: number };
  /**
   * The run's finish committed and it has a follow-up to write: it no longer counts against its
   * agent's limit (only running runs do), so the agent's next run may start while that is written.
   */
  finished?(): void;
}

export interface RunBatchPorts {
  events(group: EventGroup, one: () => Promise<void>): Promise<void>;
  /** Pieces of one run's log (runs/run-log.ts), written with other runs'. */
  logs(pieces: LogChunk[], one: () => Promise<void>): Promise<void>;
  finish(item: RunFinish, one: () => Promise<RunFinished>): Promise<RunFinished>;
  followUp(item: FollowUp, one: () => Promise<{ queued: RunRow[]; settled: boolean }>): Promise<{ queued: RunRow[]; settled: boolean }>;
}

/** Events a run may have queued but not written before its adapter is asked to stop reading. */
export const EVENT_BACKLOG = { high: 2_000, low: 500 } as const;
/** The same for its log (bytes): held in memory until the database has it. */
export const LOG_BACKLOG = { high: 8 * 1024 * 1024, low: 2 * 1024 * 1024 } as const;

/** Serialises async writes while keeping the callbacks that cause them synchronous. */
export class WriteQueue {
  private tail: Promise<void> = Promise.resolve();
  /** Events queued behind the last write and not yet being written: later events join them. */
  private group: NewRunEvent[] | null = null;
  /** Events queued and not yet written, and who waits for them to come down (backlog). */
  private pendingEvents = 0;
  /** Bytes of log queued and not yet written. */
  private pendingLogBytes = 0;
  private caughtUp: { promise: Promise<void>; resolve: () => void } | null = null;
  constructor(private readonly onError: (error: unknown) => void) {}
  /** `events`: how many events the write stores (for the backlog). */
  push(write: () => Promise<unknown>, events = 0): void {
    this.group = null;
    this.pendingEvents += events;
    this.tail = this.tail.then(write).then(
      () => this.written(events),
      (error) => {
        this.written(events);
        this.onError(error);
      },
    );
  }
  /** A write of `bytes` of the run's log: counted until written, for the backlog. */
  pushLog(write: () => Promise<unknown>, bytes: number): void {
    this.pendingLogBytes += bytes;
    this.push(() => write().finally(() => this.logWritten(bytes)));
  }
  private logWritten(bytes: number): void {
    this.pendingLogBytes -= bytes;
    this.written(0);
  }
  /** See AdapterExecution.backlog. */
  backlog(): Promise<void> | null {
    if (this.pendingEvents <= EVENT_BACKLOG.high && this.pendingLogBytes <= LOG_BACKLOG.high) return this.caughtUp?.promise ?? null;
    if (!this.caughtUp) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.caughtUp = { promise, resolve };
    }
    return this.caughtUp.promise;
  }
  private written(events: number): void {
    this.pendingEvents -= events;
    if (this.caughtUp && this.pendingEvents <= EVENT_BACKLOG.low && this.pendingLogBytes <= LOG_BACKLOG.low) {
      this.caughtUp.resolve();
      this.caughtUp = null;
    }
  }
  /** Groups handed to the run's finish by takeEvents: not written here. */
  private readonly taken = new WeakSet<NewRunEvent[]>();
  /**
   * Queues an event; consecutive events are written together by `writeGroup`, still in order. A
   * group waits one turn of the event loop before its write starts, so that a run that finishes
   * meanwhile hands its last events to its finish (takeEvents): one transaction instead of two.
   */
  pushEvent(event: NewRunEvent, writeGroup: (events: NewRunEvent[]) => Promise<unknown>): void {
    this.pendingEvents += 1;
    if (this.group) {
      this.group.push(event);
      return;
    }
    const group = [event];
    this.group = group;
    const done = () => (this.taken.has(group) ? undefined : this.written(group.length));
    this.tail = this.tail
      .then(() => new Promise<void>((resolve) => setImmediate(resolve)))
      .then(() => {
        if (this.group === group) this.group = null;
        return this.taken.has(group) ? undefined : writeGroup(group);
      })
      .then(done, (error) => {
        done();
        this.onError(error);
      });
  }
  /** The events queued last whose write has not started, which the caller now writes instead. */
  takeEvents(): NewRunEvent[] {
    const group = this.group;
    if (!group) return [];
    this.group = null;
    this.taken.add(group);
    this.written(group.length); // the caller writes them now
    return group;
  }
  drain(): Promise<void> {
    return this.tail;
  }
}

/** Returns the runs its follow-up steps queued (promotions, recoveries), which the caller starts. */
export async function executeClaimedRun(
  deps: EngineDeps,
  claimed: ClaimedRun,
  active: ActiveRun,
  hooks: ExecuteHooks,
): Promise<RunRow[]> {
  const { run, runToken } = claimed;
  // The claim read the agent under its lock a moment ago; a claim from elsewhere did not.
  const agent = claimed.agent ?? (await deps.db.query.agents.findFirst({ where: { id: run.agentId } }));
  if (!agent) {
    // §6.4 step 1: record the failure and release the issue; there is no agent to update.
    const missing = { id: run.agentId, adapterType: 'script' as const, adapterConfig: {} };
    const result = { errorMessage: 'Agent not found', errorCode: 'agent_not_found' };
    const [answer] = await finishRuns(deps, [{ runId: run.id, agent: missing, result, output: null, crashed: false, events: [] }], { wait: true });
    if (answer.kind !== 'finished' || !answer.followUp) return [];
    const promoted = await hooks.steps.releaseIssueExecution(answer.run);
    await settle(deps, answer.run.id);
    return promoted ? [promoted] : [];
  }
  const adapter = deps.adapters[agent.adapterType];
  // A run's own writes wait out a database outage (up to settings.databaseOutageMs), holding what
  // they carry: the agent is never stopped, nor its outcome lost, because the database was away.
  const durably = <T>(write: () => Promise<T>) => withOutageRetry(write, deps.settings.databaseOutageMs);
  let output: RunOutput | null = null;
  // Set once the run's output is complete: a first-progress timer that fires later writes nothing.
  let outputEnded = false;
  let firstProgressTimer: NodeJS.Timeout | undefined;
  const endOutput = () => {
    outputEnded = true;
    clearTimeout(firstProgressTimer);
  };
  try {
    const config = runnableConfig(deps, agent);
    // The claim started the run (claim.ts): its issue checked out, its log file, `run started`.
    if (!claimed.started) throw new Error('The run was claimed without being started');
    const { context } = claimed.started;
    output = new RunOutput(deps, run);

    const writes = new WriteQueue((error) => deps.logger.error({ err: error, runId: run.id }, 'run write failed'));
    const eventOne = (e: NewRunEvent) => durably(() => transact(deps, (tx, events) => appendExecutorEvent(tx, events, e, deps.clock.now())));
    const batches = hooks.batches;
    const event = (e: NewRunEvent) => {
      if (!batches) return writes.push(() => eventOne(e), 1);
      writes.pushEvent(e, (group) =>
        batches.events({ runId: run.id, events: group }, async () => {
          // On its own, each event is its own write, as if it had never been batched.
          for (const single of group) {
            await eventOne(single).catch((error: unknown) => deps.logger.error({ err: error, runId: run.id }, 'run write failed'));
          }
        }),
      );
    };
    const runOutput = output;
    // The log goes to the database a batch at a time: what the run printed during one turn of the
    // event loop is one write (with other runs' when batched), queued in order with its other writes.
    const logOne = (pieces: LogChunk[]) => durably(() => writeLogChunks(deps.db, pieces));
    const writeLog = () => {
      const pieces = runOutput.takePending();
      if (pieces.length === 0) return;
      const bytes = pieces.reduce((sum, piece) => sum + piece.bytes, 0);
      writes.pushLog(async () => {
        await (batches ? batches.logs(pieces, () => logOne(pieces)) : logOne(pieces));
        if (hooks.counters) hooks.counters.logBytesWritten += bytes;
      }, bytes);
    };
    let logWriteDue = false;
    const writeProgress = () => {
      const write = runOutput.progressWrite();
      writes.push(() => durably(write));
    };
    const logged = (progressDue: boolean) => {
      if (progressDue) writeProgress();
      else if (firstProgressTimer === undefined && runOutput.firstProgressPending) {
        // The first progress write waits a second (runs/output.ts): only a run still going gets it.
        firstProgressTimer = setTimeout(() => {
          if (!outputEnded && runOutput.firstProgressPending) writeProgress();
        }, FIRST_PROGRESS_DELAY_MS);
        firstProgressTimer.unref();
      }
      if (logWriteDue) return;
      logWriteDue = true;
      setImmediate(() => {
        logWriteDue = false;
        writeLog();
      });
    };
    // The session it resumes (null: a fresh one), and the engine's lines saying why not the stored one.
    const session = runSessionOf(context);
    for (const line of sessionLogLines(context)) logged(runOutput.append('stdout', `${line}\n`));
    // A process-type agent is spawned in the sandbox, as its company's user when the server is root.
    const { agentSandbox } = deps.settings;
    const sandbox =
      agentSandbox && adapter.localChild
        ? runSandbox(agentSandbox, { companyId: run.companyId, companySlot: await companySlotOf(deps, run.companyId), dataDir: deps.settings.dataDir })
        : undefined;
    // The agent's traceparent is the execution span's (telemetry/tracing.ts; undefined while tracing is off).
    let result = await executionSpan(run, agent.adapterType, (traceparent) => adapter.execute({
      runId: run.id,
      companyId: run.companyId,
      agentId: agent.id,
      agentName: agent.name,
      issueId: run.issueId,
      context: { ...context, session },
      session,
      config,
      agentDir: agentDirectory(deps.settings.dataDir, run.companyId, agent.id),
      outbound: deps.settings.outbound,
      sandbox,
      runToken,
      apiUrl: deps.settings.apiUrl,
      apiIds: {
        runId: deps.encodeApiId('HeartbeatRun', run.id),
        agentId: deps.encodeApiId('Agent', agent.id),
        issueId: run.issueId ? deps.encodeApiId('Issue', run.issueId) : null,
        companyId: deps.encodeApiId('Company', run.companyId),
      },
      signal: active.controller.signal,
      onLog: (stream, chunk) => logged(runOutput.append(stream, chunk)),
      onEvent: (e) => event({ runId: run.id, eventType: e.type, message: e.message, level: e.level, stream: e.stream, color: e.color, payload: e.payload }),
      backlog: () => writes.backlog(),
      onSpawn: (info) => writes.push(() => durably(() => recordRunProcess(deps.db, run.id, info, deps.clock.now()))),
      onMeta: (meta) => event({ runId: run.id, eventType: 'adapter.invoke', level: 'info', message: 'adapter invoked', payload: meta }),
      issue: hooks.issueActions(run),
      traceparent,
    }));
    // The finish writes the run's last events, if their own write has not started, with it; its log
    // is all written before it.
    endOutput();
    writeLog();
    const lastEvents = writes.takeEvents();
    await writes.drain();
    // Declared dead by another instance, which reaped the run (and retried it), or stopping, which
    // hands the run to recovery (engine.ts stop): nothing to record here.
    if (active.abortReason === 'fenced' || active.abortReason === 'shutdown') return [];
    const summary = output.finish();
    return await finish(deps, hooks, { runId: run.id, issueId: run.issueId, agent, result, output: summary, crashed: false, events: lastEvents });
  } catch (error) {
    // The database stayed away past the bound: the run is left to recovery, which retries it.
    if (isDatabaseUnavailable(error) || active.abortReason === 'fenced' || active.abortReason === 'shutdown') throw error;
    endOutput();
    deps.logger.warn({ err: error, runId: run.id }, 'adapter failed before finishing the run');
    const message = error instanceof Error ? error.message : String(error);
    const pieces = output?.takePending() ?? [];
    if (pieces.length > 0) await withOutageRetry(() => writeLogChunks(deps.db, pieces), deps.settings.databaseOutageMs);
    const summary = output ? output.finish() : null;
    const errorCode = error instanceof HostAdapterRefused ? error.runErrorCode : 'adapter_failed';
    return finish(deps, hooks, { runId: run.id, issueId: run.issueId, agent, result: { exitCode: null, errorMessage: message, errorCode }, output: summary, crashed: true, events: [] });
  }
}

/** Finishes the run (finish.ts), then runs its follow-up steps and settles it if it needs them. */
async function finish(deps: EngineDeps, hooks: ExecuteHooks, item: RunFinish): Promise<RunRow[]> {
  // The outcome is what matters most: its write waits out a database outage, up to the bound.
  const write = (one: RunFinish, followUp?: FollowUpInFinish) =>
    withOutageRetry(async () => (await finishRuns(deps, [one], { wait: true, followUp }))[0], deps.settings.databaseOutageMs);
  const finishOne = async (): Promise<RunFinished> => {
    try {
      return await write(item, followUpInFinish).catch((error: unknown) => {
        // What the database refused may be the follow-up the finish wrote with it: the finish alone
        // then records the outcome, and the follow-up is written (or fails) on its own.
        if (isDatabaseUnavailable(error)) throw error;
        return write(item);
      });
    } catch (error) {
      // Still away after the bound: the run stays running until recovery takes it over and retries it.
      if (isDatabaseUnavailable(error)) throw error;
      // The database refuses what the run produced: the run still ends, without it, rather than
      // stay running until it is reaped as lost (and retried, though it did its work).
      deps.logger.error({ err: error, runId: item.runId }, 'the run outcome could not be recorded; recording it failed without its output');
      for (const e of item.events) {
        await withOutageRetry(() => transact(deps, (tx, events) => appendExecutorEvent(tx, events, e, deps.clock.now())), deps.settings.databaseOutageMs).catch(
          (refused: unknown) => deps.logger.error({ err: refused, runId: item.runId }, 'run write failed'),
        );
      }
      return write({ ...item, result: unrecordedOutcome(item.result, error), output: null, crashed: true, events: [] });
    }
  };
  const answer = await (hooks.batches ? hooks.batches.finish(item, finishOne) : finishOne());
  // A run that cost money may have spent a budget: its scope's work stops before any follow-up (§14.3).
  if (answer.kind === 'finished' && hooks.afterSpend && Number(answer.run.usageJson?.costCents ?? 0) > 0) {
    await hooks.afterSpend(answer.run).catch((error: unknown) => deps.logger.error({ err: error, runId: item.runId }, 'budget enforcement failed'));
  }
  // Ended meanwhile (cancelled), and an issue's lock still names it: its canceller has not released
  // it (it died first, or is slower than the process). Released first, then settled (§6.13).
  if (answer.kind === 'ended' && answer.run.status === 'cancelled' && answer.run.settledAt === null) {
    const promoted = await withOutageRetry(() => hooks.steps.releaseCancelled(answer.run), deps.settings.databaseOutageMs);
    await settle(deps, answer.run.id);
    // Nor may it have set the agent's status (§6.13).
    await withOutageRetry(() => finalizeAgentStatus(deps, [{ agentId: answer.run.agentId, outcome: 'cancelled' }]), deps.settings.databaseOutageMs);
    return promoted ? [promoted] : [];
  }
  // Ended meanwhile (cancelled: its follow-up was the cancel's), gone, or settled with its finish
  // (with its follow-up, when the finish wrote that too: the runs it queued are started).
  if (answer.kind !== 'finished') return [];
  if (!answer.followUp) return answer.queued ?? [];
  hooks.finished?.();
  const { run } = answer;
  // §6.4 step 8, in order: a bounded retry, then the steps written with other runs' (follow-up.ts).
  if (!item.crashed) await hooks.steps.scheduleTransientRetry(run);
  const followUp: FollowUp = { run, crashed: item.crashed, evidence: answer.evidence };
  const writeOne = async () => (await withOutageRetry(() => writeFollowUps(deps, [followUp]), deps.settings.databaseOutageMs))[0];
  const { queued, settled } = await (hooks.batches ? hooks.batches.followUp(followUp, writeOne) : writeOne());
  // The continuation and the settle wait out an outage like the run's own writes.
  if (!settled) await continueAndSettle(deps, hooks.steps, run, (write) => withOutageRetry(write, deps.settings.databaseOutageMs));
  return queued;
}

/** Settles a run whose follow-up steps ran: its events and state are final. */
function settle(deps: EngineDeps, runId: string): Promise<unknown> {
  return withOutageRetry(() => transact(deps, (tx, events) => settleRun(tx, events, runId, deps.clock.now())), deps.settings.databaseOutageMs);
}

/**
 * What is recorded when the adapter's outcome cannot be: how the run ended, and why its outcome is
 * missing, in words the caller can read (the database's reason, never the refused statement).
 */
export function unrecordedOutcome(result: AdapterResult, error: unknown): AdapterResult {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as { code?: unknown })?.code;
  const message = cause instanceof Error && !cause.message.startsWith('Failed query') ? cause.message : 'the database refused it';
  const reason = `${message}${typeof code === 'string' ? ` (${code})` : ''}`.slice(0, 300);
  const ended = result.signal ? `signal ${result.signal}` : result.exitCode != null ? `exit code ${result.exitCode}` : 'no exit code';
  return {
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    timedOut: result.timedOut,
    errorMessage: `The run ended (${ended}) but its outcome could not be recorded: ${reason}`,
    errorCode: result.errorCode === 'cancelled' ? 'cancelled' : 'outcome_not_recorded',
  };
}
