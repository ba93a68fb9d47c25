// runEvents and runStatus. Both are pull-based: a signal only says "look again", and the rows are
// read from the database, so a subscriber on any instance sees exactly what was committed, in
// order, without gaps or duplicates, however it connected or reconnected.
import { eq } from 'drizzle-orm';
import { heartbeatRuns, runEvents } from '../db/schema.ts';
import { badInput, HeartbeatError, notFound } from '../engine/index.ts';
import type { RunRow } from '../engine/index.ts';
import { isTerminal, runStateSnapshot } from '../engine/index.ts';
import type { RunStateSnapshot } from '../engine/index.ts';
import type { LiveSignal, SignalFilter } from '../engine/index.ts';
import { AgentRef } from './agent.ts';
import { builder } from './builder.ts';
import type { HeartbeatContext } from './context.ts';
import { IssueRef } from './issue.ts';
import { argumentInRange, HeartbeatRunRef, RunEventRef } from './run.ts';
import { queryKey, readMoment, readOnceInFlight, readOnceInFlightByKey, readOncePerChange } from './shared-reads.ts';
import { companyIdOf } from './tenancy.ts';

const EVENT_PAGE = 500;
/** Without any signal, subscribers look again this often (covers a lost cross-instance batch). */
const POLL_MS = 5_000;
/** A run whose follow-up never settled (its server died mid-way) counts as settled after this. */
const SETTLE_FALLBACK_MS = 30_000;
/**
 * How long the transport may take to hand one item to a subscriber. graphql-ws pulls the next
 * item only once the previous one is written to the socket, so a client that stopped reading
 * stalls its subscription here: then the subscription ends (with a resume point), and what the
 * server holds for it stays bounded to what is already in the socket's buffers.
 */
const STALL_TIMEOUT_MS = 10_000;

/** Wakes a waiting loop; a wake-up that arrives before the wait is not lost. Aborting wakes it too. */
class Wakeup {
  private pending = false;
  private resolve: (() => void) | null = null;
  /** When it was last woken (readMoment): a shared read that started earlier may miss why. */
  notifiedAt = readMoment();
  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener('abort', () => this.resolve?.(), { once: true });
  }
  notify = () => {
    this.pending = true;
    this.notifiedAt = readMoment();
    this.resolve?.();
  };
  async wait(ms: number): Promise<void> {
    if (!this.pending && !this.signal.aborted) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        this.resolve = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.pending = false;
    this.resolve = null;
  }
}

/**
 * The subscriptions whose last item is out with the transport, and since when (ms). One sweep a
 * second looks for those it has not come back from within STALL_TIMEOUT_MS: a timer per item
 * handed out was thousands of timers a second under agent output.
 */
const handedOut = new Map<() => void, number>();
let stallSweep: NodeJS.Timeout | null = null;

function watchHandedOut(onStall: () => void): void {
  handedOut.set(onStall, Date.now());
  if (stallSweep) return;
  stallSweep = setInterval(() => {
    const now = Date.now();
    for (const [stall, since] of handedOut) if (now - since >= STALL_TIMEOUT_MS) stall();
    if (handedOut.size === 0 && stallSweep) {
      clearInterval(stallSweep);
      stallSweep = null;
    }
  }, 1_000);
  stallSweep.unref();
}

/**
 * Wraps a subscription's generator for two things an async generator cannot do itself:
 * - return() while the generator awaits (an idle subscription may never reach its next yield):
 *   the abort signal wakes its waits, so a client that leaves releases its watcher at once;
 * - noticing a subscriber that stopped reading: if the transport does not come back for the next
 *   item within STALL_TIMEOUT_MS (give or take the sweep's second), the generator is closed and
 *   the next item handed out is a SLOW_CONSUMER error naming where to resume, followed by completion.
 */
function guarded<T>(
  start: (signal: AbortSignal) => AsyncGenerator<T>,
  resumeHint: (last: T | undefined) => Record<string, unknown>,
): AsyncGenerator<T | HeartbeatError> {
  const controller = new AbortController();
  const inner = start(controller.signal);
  let last: T | undefined;
  let stalled: HeartbeatError | null = null;
  let finished = false;
  const close = () => {
    handedOut.delete(onStall);
    controller.abort();
    return inner.return(undefined);
  };
  function onStall() {
    handedOut.delete(onStall);
    stalled = new HeartbeatError('SLOW_CONSUMER', 'The subscriber stopped reading; subscribe again to resume', resumeHint(last));
    void close();
  }
  const outer = {
    async next(): Promise<IteratorResult<T | HeartbeatError>> {
      handedOut.delete(onStall);
      if (stalled) {
        const error = stalled;
        stalled = null;
        finished = true;
        return { value: error, done: false };
      }
      if (finished) return { value: undefined, done: true };
      const result = await inner.next();
      if (result.done) {
        finished = true;
        return result;
      }
      last = result.value;
      watchHandedOut(onStall);
      return result;
    },
    async return(): Promise<IteratorResult<T | HeartbeatError>> {
      finished = true;
      await close();
      return { value: undefined, done: true };
    },
    async throw(error: unknown): Promise<IteratorResult<T | HeartbeatError>> {
      finished = true;
      await close();
      throw error;
    },
    [Symbol.asyncIterator]() {
      return outer;
    },
  };
  return outer as AsyncGenerator<T | HeartbeatError>;
}

/** Subscription items are values, or the error that ends the subscription (sent, then completed). */
function unwrap<T>(item: T | HeartbeatError): T {
  if (item instanceof HeartbeatError) throw item;
  return item;
}

const settled = (run: Pick<RunRow, 'status' | 'settledAt' | 'finishedAt'>, now = Date.now()) =>
  isTerminal(run.status) && (run.settledAt !== null || (run.finishedAt !== null && now - run.finishedAt.getTime() > SETTLE_FALLBACK_MS));

/** The events of a run after `seq`, up to EVENT_PAGE, in seq order. */
/** The events after `afterSeq`, from a read that started after `notBefore` (readOnceInFlight). */
type EventPage = (afterSeq: number, notBefore: number) => Promise<RunEventRow[]>;
type RunEventRow = typeof runEvents.$inferSelect;

async function* runEventStream(ctx: HeartbeatContext, runId: string, companyId: string, afterSeq: number, page: EventPage, abort: AbortSignal) {
  const wakeup = new Wakeup(abort);
  const unwatch = ctx.live.watch({ companyId, runId }, wakeup.notify);
  try {
    let last = afterSeq;
    for (;;) {
      const rows = await page(last, wakeup.notifiedAt);
      for (const row of rows) {
        yield row;
        last = row.seq;
      }
      if (rows.length === EVENT_PAGE) continue;
      // Every subscriber of the run asks this after its page: one read answers those woken together.
      const [run] = await readOnceInFlight(ctx.db, { runEventsState: runId }, wakeup.notifiedAt, () =>
        ctx.db
          .select({ status: heartbeatRuns.status, settledAt: heartbeatRuns.settledAt, finishedAt: heartbeatRuns.finishedAt, lastEventSeq: heartbeatRuns.lastEventSeq })
          .from(heartbeatRuns)
          .where(eq(heartbeatRuns.id, runId)),
      );
      if (!run || (settled(run) && run.lastEventSeq <= last)) return;
      await wakeup.wait(POLL_MS);
      if (abort.aborted) return;
    }
  } finally {
    unwatch();
  }
}

/** The changing columns as they were at the change a signal reports. */
function asOf(state: RunStateSnapshot): Partial<RunRow> {
  const date = (value: string | null) => (value ? new Date(value) : null);
  return {
    status: state.status,
    error: state.error,
    errorCode: state.errorCode,
    startedAt: date(state.startedAt),
    finishedAt: date(state.finishedAt),
    settledAt: date(state.settledAt),
    updatedAt: new Date(state.updatedAt),
    livenessState: state.livenessState,
    scheduledRetryAt: date(state.scheduledRetryAt),
    scheduledRetryAttempt: state.scheduledRetryAttempt,
  };
}

/**
 * What runStatus hands its resolver: which run changed and its state then (null: as it is now).
 * `replay`: a state read after a gap in signals (see LiveSignal).
 */
type RunChange = { runId: string; state: RunStateSnapshot | null; replay?: true };

/** Changes not yet sent to a subscriber; bounded so a burst cannot pile up. */
const MAX_PENDING = 1_000;

const isSettledState = (state: RunStateSnapshot) =>
  settled({ status: state.status, settledAt: state.settledAt ? new Date(state.settledAt) : null, finishedAt: state.finishedAt ? new Date(state.finishedAt) : null });

async function* runStatusStream(ctx: HeartbeatContext, filter: SignalFilter, abort: AbortSignal): AsyncGenerator<RunChange> {
  const wakeup = new Wakeup(abort);
  let pending: RunChange[] = [];
  const unwatch = ctx.live.watch(filter, (signal: LiveSignal) => {
    if (signal.kind !== 'run') return;
    pending.push({ runId: signal.runId, state: signal.state, replay: signal.replay });
    if (pending.length > MAX_PENDING) pending = pending.slice(-MAX_PENDING);
    wakeup.notify();
  });
  const current = async (id: string) => {
    const row = await ctx.db.query.heartbeatRuns.findFirst({ where: { id, companyId: filter.companyId } });
    return row ? runStateSnapshot(row) : null;
  };
  const sent = new Map<string, { version: string; updatedAt: string }>();
  /**
   * Each distinct state once per run, in the order the changes happened. A replayed state older
   * than the one last sent is not news: live signals got there first (ISO times compare as text).
   */
  const fresh = (change: { runId: string; state: RunStateSnapshot; replay?: true }) => {
    const { state } = change;
    const version = `${state.updatedAt}|${state.status}|${state.settledAt}|${state.livenessState}|${state.scheduledRetryAt}`;
    const last = sent.get(change.runId);
    if (last?.version === version) return false;
    if (change.replay && last && state.updatedAt < last.updatedAt) return false;
    sent.set(change.runId, { version, updatedAt: state.updatedAt });
    return true;
  };
  try {
    if (filter.runId) {
      const state = await current(filter.runId);
      if (!state) return;
      fresh({ runId: filter.runId, state });
      yield { runId: filter.runId, state: null };
      if (isSettledState(state)) return;
    }
    for (;;) {
      await wakeup.wait(POLL_MS);
      if (abort.aborted) return;
      const batch = pending;
      pending = [];
      if (batch.length === 0 && filter.runId) {
        // No signal for a while: look anyway, in case one was lost between instances.
        batch.push({ runId: filter.runId, state: await current(filter.runId) });
      }
      for (const change of batch) {
        if (!change.state || !fresh({ ...change, state: change.state })) continue;
        yield change;
        if (filter.runId && isSettledState(change.state)) return;
      }
    }
  } finally {
    unwatch();
  }
}

builder.subscriptionType({});

builder.subscriptionFields((t) => ({
  runEvents: t.field({
    type: RunEventRef,
    description:
      'The run\'s events after `afterSeq`: the stored ones, then live ones as they happen, each exactly once in `seq` order. Completes when the run has finished and its last event was sent. Reconnect with the last `seq` you saw to miss nothing.',
    args: {
      runId: t.arg.globalID({ required: true, for: [HeartbeatRunRef] }),
      afterSeq: t.arg.int({ defaultValue: 0 }),
    },
    subscribe: async (_root, { runId, afterSeq }, ctx, info) => {
      argumentInRange('afterSeq', afterSeq, 0);
      const companyId = companyIdOf(ctx);
      const run = await ctx.db.query.heartbeatRuns.findFirst({ where: { id: runId.id, companyId }, columns: { id: true } });
      if (!run) throw notFound('Run');
      const from = afterSeq ?? 0;
      // Pages planned from the subscriber's selection: the events (and their run, if selected) in
      // one statement, rather than each event loaded again by the plugin when it is resolved.
      // (RunEvent declares no `select`, so every column is loaded: `seq` is always there.)
      // Subscribers with the same selection at the same position share one read (readOnceInFlight).
      // Planned once per subscription: the pages differ only in the position in their `where`.
      const where = (after: number) => ({ runId: run.id, seq: { gt: after } });
      const planned = t.drizzleQueryFromInfo('runEvents', { context: ctx, info, where: where(from), orderBy: { seq: 'asc' }, limit: EVENT_PAGE });
      const plannedKey = queryKey({ ...planned, where: null });
      const samePlan = plannedKey !== null && queryKey(planned.where) === queryKey(where(from));
      const page: EventPage = (after, notBefore) => {
        const query = samePlan
          ? { ...planned, where: where(after) }
          : t.drizzleQueryFromInfo('runEvents', { context: ctx, info, where: where(after), orderBy: { seq: 'asc' }, limit: EVENT_PAGE });
        const read = () => ctx.db.query.runEvents.findMany(query) as unknown as Promise<RunEventRow[]>;
        return samePlan ? readOnceInFlightByKey(ctx.db, `${plannedKey}\n${run.id}\n${after}`, notBefore, read) : readOnceInFlight(ctx.db, query, notBefore, read);
      };
      return guarded((abort) => runEventStream(ctx, run.id, companyId, from, page, abort), (last) => ({ resumeAfterSeq: last?.seq ?? from }));
    },
    resolve: (item: RunEventRow | HeartbeatError) => unwrap(item),
  }),
  runStatus: t.field({
    type: HeartbeatRunRef,
    description:
      'A run on every change (status, liveness, retry state). With `runId`: its current state first, and completion once it has finished and settled. With `agentId` or `issueId`: their runs. With no argument: every run of your company. Give at most one of the three.',
    args: {
      runId: t.arg.globalID({ for: [HeartbeatRunRef] }),
      agentId: t.arg.globalID({ for: [AgentRef] }),
      issueId: t.arg.globalID({ for: [IssueRef] }),
    },
    subscribe: async (_root, args, ctx) => {
      // One run, one agent's runs or one issue's runs: a second one would contradict the first
      // (or, as a filter, be silently ignored by the run's own state), so it is refused.
      const given = (['runId', 'agentId', 'issueId'] as const).filter((name) => args[name] != null);
      if (given.length > 1) throw badInput(`Give at most one of runId, agentId and issueId (got ${given.join(' and ')})`, { arguments: given });
      const companyId = companyIdOf(ctx);
      const filter: SignalFilter = { companyId };
      if (args.runId) {
        if (!(await ctx.db.query.heartbeatRuns.findFirst({ where: { id: args.runId.id, companyId }, columns: { id: true } }))) throw notFound('Run');
        filter.runId = args.runId.id;
      }
      if (args.agentId) {
        if (!(await ctx.db.query.agents.findFirst({ where: { id: args.agentId.id, companyId }, columns: { id: true } }))) throw notFound('Agent');
        filter.agentId = args.agentId.id;
      }
      if (args.issueId) {
        if (!(await ctx.db.query.issues.findFirst({ where: { id: args.issueId.id, companyId }, columns: { id: true } }))) throw notFound('Issue');
        filter.issueId = args.issueId.id;
      }
      return guarded((abort) => runStatusStream(ctx, filter, abort), () => ({}));
    },
    // The row is loaded here, planned from the subscriber's selection (no per-field queries), and
    // shown as it was at the change the subscriber is being told about. The subscribers told about
    // one change with the same selection share one read of it.
    resolve: async (item: RunChange | HeartbeatError, _args, ctx, info) => {
      const change = unwrap(item);
      const query = t.drizzleQueryFromInfo('heartbeatRuns', { context: ctx, info, where: { id: change.runId, companyId: companyIdOf(ctx) } });
      const read = () => ctx.db.query.heartbeatRuns.findFirst(query).execute();
      const row = await (change.state ? readOncePerChange(ctx.db, change.state, query, read) : read());
      if (!row) throw notFound('Run');
      // A copy: the row read may be shared with other subscribers of this change.
      return (change.state ? { ...row, ...asOf(change.state) } : row) as RunRow;
    },
  }),
}));
