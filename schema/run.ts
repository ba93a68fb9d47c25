// HeartbeatRun and its parts: events, liveness and retry state.
import { badInput } from '../engine/index.ts';
import { LOG_WINDOW_MAX_BYTES, type LogWindow, runLogWindow } from '../engine/index.ts';
import { BOUNDED_RETRY_MAX_ATTEMPTS, RETRY_EXHAUSTED_PREFIX, safeResultJson } from '../engine/index.ts';
import { taskKeyOf } from '../engine/index.ts';
import { builder } from './builder.ts';
import { READS_OUTSIDE_DATABASE } from './context.ts';
import { LivenessStateEnum, RunStatusEnum, TriggerDetailEnum, WakeupSourceEnum } from './enums.ts';
import { outputSilence } from '../engine/index.ts';
import { RunOutputSilenceRef } from './run-silence.ts';

const EVENTS_DEFAULT = 200;
const EVENTS_MAX = 1000;

/**
 * Refuses an integer argument outside min..max as BAD_USER_INPUT naming it and its range, as the
 * connections do with a negative `first`. Null or absent (the argument's default) passes.
 */
export function argumentInRange(argument: string, value: number | null | undefined, min: number, max?: number): void {
  if (value == null || (value >= min && (max === undefined || value <= max))) return;
  const range = max === undefined ? `at least ${min}` : `between ${min} and ${max}`;
  throw badInput(`${argument} must be ${range}, got ${value}`, { argument });
}

/** The window arguments of a log read, refused out of range as BAD_USER_INPUT naming them. */
function logArguments(args: { offset?: number | null; limitBytes?: number | null; tailBytes?: number | null }): void {
  argumentInRange('offset', args.offset, 0);
  argumentInRange('limitBytes', args.limitBytes, 1, LOG_WINDOW_MAX_BYTES);
  argumentInRange('tailBytes', args.tailBytes, 1, LOG_WINDOW_MAX_BYTES);
  if (args.tailBytes != null && args.offset != null) throw badInput('Give offset or tailBytes, not both', { argument: 'tailBytes' });
}

export const LogStreamEnum = builder.enumType('LogStream', {
  values: { STDOUT: { value: 'stdout' }, STDERR: { value: 'stderr' } } as const,
});

const LogWindowRef = builder.objectRef<LogWindow>('LogWindow').implement({
  description: "A window of a run's log, in bytes of UTF-8: a window never starts or ends inside a character.",
  fields: (t) => ({
    text: t.exposeString('text'),
    offset: t.exposeFloat('offset', { description: 'Where this window starts.' }),
    nextOffset: t.exposeFloat('nextOffset', { description: 'Where the next window starts (follow a running log from here).' }),
    totalBytes: t.exposeFloat('totalBytes', { description: 'The size of the log (or of the stream) so far.' }),
    expired: t.exposeBoolean('expired', { description: 'The log was removed by the retention setting: it is not empty, it is gone.' }),
  }),
});

/** The columns a log read needs of its run. */
const LOG_COLUMNS = { logStore: true, logRef: true, logExpiredAt: true } as const;

export const RunEventRef = builder.drizzleObject('runEvents', {
  name: 'RunEvent',
  description: "One entry of a run's event stream, in strictly increasing `seq` order.",
  fields: (t) => ({
    seq: t.exposeInt('seq'),
    eventType: t.exposeString('eventType', { description: 'lifecycle, adapter.invoke, error, or a type the agent reported.' }),
    stream: t.exposeString('stream', { nullable: true }),
    level: t.exposeString('level', { nullable: true }),
    color: t.exposeString('color', { nullable: true }),
    message: t.exposeString('message', { nullable: true }),
    payload: t.expose('payload', { type: 'JSON', nullable: true }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    run: t.relation('run'),
  }),
});

/** Liveness as its own type over the same row: did the run make real progress? */
const RunLivenessRef = builder.drizzleObject('heartbeatRuns', {
  variant: 'RunLiveness',
  select: { columns: { livenessState: true, livenessReason: true, nextAction: true, lastUsefulActionAt: true, continuationAttempt: true } },
  description: 'Whether a finished run made real progress, only planned, or said nothing (engine-spec §6.7).',
  fields: (t) => ({
    state: t.expose('livenessState', { type: LivenessStateEnum, nullable: true, description: 'Null until the run is classified.' }),
    reason: t.exposeString('livenessReason', { nullable: true }),
    nextAction: t.exposeString('nextAction', { nullable: true }),
    lastUsefulActionAt: t.expose('lastUsefulActionAt', { type: 'DateTime', nullable: true }),
    continuationAttempt: t.exposeInt('continuationAttempt'),
  }),
});

/** Retry state as its own type over the same row, with the lineage both ways. */
const RunRetryStateRef = builder.drizzleObject('heartbeatRuns', {
  variant: 'RunRetryState',
  select: { columns: { scheduledRetryAt: true, scheduledRetryAttempt: true, scheduledRetryReason: true, processLossRetryCount: true } },
  description: "A run's place in its retry lineage and its bounded-retry schedule.",
  fields: (t) => ({
    retryOf: t.relation('retryOf', { nullable: true, description: 'The run this one retries.' }),
    retries: t.relation('retries', { description: 'Runs that retry this one.', query: { orderBy: { createdAt: 'asc', id: 'asc' } } }),
    scheduledAt: t.expose('scheduledRetryAt', { type: 'DateTime', nullable: true, description: 'When a scheduled retry becomes due.' }),
    attempt: t.exposeInt('scheduledRetryAttempt', { description: 'Bounded-retry attempt number (0 = not a bounded retry).' }),
    maxAttempts: t.int({ select: {}, resolve: () => BOUNDED_RETRY_MAX_ATTEMPTS }),
    reason: t.exposeString('scheduledRetryReason', { nullable: true }),
    exhaustedReason: t.string({
      nullable: true,
      description: 'Why no further automatic retry will be queued, once the bounded retries are used up.',
      select: {
        with: {
          events: {
            columns: { message: true },
            where: { eventType: 'lifecycle', message: { like: `${RETRY_EXHAUSTED_PREFIX}%` } },
            orderBy: { seq: 'desc' },
            limit: 1,
          },
        },
      },
      resolve: (run) => run.events[0]?.message ?? null,
    }),
    processLossRetryCount: t.exposeInt('processLossRetryCount'),
  }),
});

export const HeartbeatRunRef = builder.drizzleNode('heartbeatRuns', {
  name: 'HeartbeatRun',
  description: 'One execution of an agent, from claim to a terminal status.',
  id: { column: (run) => run.id },
  // A run row is wide (JSON context, result and usage, two 32 KiB output excerpts): those are read
  // only when selected, and a page of runs does not load and parse them. The narrow columns come
  // with every run, so their fields resolve straight off the row (see the plugin-drizzle patch).
  select: {
    columns: {
      id: true,
      status: true,
      invocationSource: true,
      triggerDetail: true,
      createdAt: true,
      startedAt: true,
      finishedAt: true,
      settledAt: true,
      updatedAt: true,
      exitCode: true,
      signal: true,
      error: true,
      errorCode: true,
      lastEventSeq: true,
      logBytes: true,
      logSha256: true,
      lastOutputAt: true,
      processPid: true,
    },
  },
  fields: (t) => ({
    status: t.expose('status', { type: RunStatusEnum }),
    agent: t.relation('agent'),
    issue: t.relation('issue', { nullable: true }),
    wakeupRequest: t.relation('wakeupRequest', { nullable: true }),
    invocationSource: t.expose('invocationSource', { type: WakeupSourceEnum }),
    triggerDetail: t.expose('triggerDetail', { type: TriggerDetailEnum, nullable: true }),
    context: t.expose('contextSnapshot', { type: 'JSON', description: 'What the run was woken with (reason, issue, comments, ...).' }),
    taskKey: t.string({
      nullable: true,
      description: 'The task whose session the run resumes and leaves (its taskKey, taskId or issue, or `__heartbeat__` for a timer wake); null: it has none and uses the agent\'s fallback session.',
      select: { columns: { contextSnapshot: true } },
      resolve: (run) => taskKeyOf(run.contextSnapshot),
    }),
    sessionIdBefore: t.exposeString('sessionIdBefore', {
      nullable: true,
      description: 'The session the run was given to resume (its display id, else its id); null: it started a fresh one.',
    }),
    sessionIdAfter: t.exposeString('sessionIdAfter', {
      nullable: true,
      description: 'The session the run left for the next run of its task; null while it runs, or when it left none.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true }),
    settledAt: t.expose('settledAt', { type: 'DateTime', nullable: true, description: 'Set once nothing about the finished run changes any more.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
    exitCode: t.exposeInt('exitCode', { nullable: true }),
    signal: t.exposeString('signal', { nullable: true }),
    error: t.exposeString('error', { nullable: true }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    liveness: t.variant(RunLivenessRef),
    retry: t.variant(RunRetryStateRef),
    events: t.field({
      type: [RunEventRef],
      description: `Events after \`afterSeq\`, oldest first (at most \`first\`, 1 to ${EVENTS_MAX}, default ${EVENTS_DEFAULT}).`,
      args: { afterSeq: t.arg.int({ defaultValue: 0 }), first: t.arg.int({ defaultValue: EVENTS_DEFAULT }) },
      // Planned with the run; the arguments are checked when the field resolves, so that an error
      // names this field (a plan is built for the whole query, above it).
      select: (args, _ctx, nestedSelection) => ({
        with: {
          events: nestedSelection({
            where: { seq: { gt: Math.max(0, args.afterSeq ?? 0) } },
            orderBy: { seq: 'asc' },
            limit: Math.min(EVENTS_MAX, Math.max(1, args.first ?? EVENTS_DEFAULT)),
          }),
        },
      }),
      resolve: (run, args) => {
        argumentInRange('afterSeq', args.afterSeq, 0);
        argumentInRange('first', args.first, 1, EVENTS_MAX);
        return run.events;
      },
    }),
    lastEventSeq: t.exposeInt('lastEventSeq'),
    stdoutExcerpt: t.exposeString('stdoutExcerpt', { nullable: true, description: 'The last 32 KiB of stdout.' }),
    stderrExcerpt: t.exposeString('stderrExcerpt', { nullable: true, description: 'The last 32 KiB of stderr.' }),
    log: t.string({
      nullable: true,
      description: `The text of a window of the run's output as stored (any instance serves it, live and after): both streams interleaved, or one; from \`offset\`, or its last \`tailBytes\`; at most \`limitBytes\` (default and most ${LOG_WINDOW_MAX_BYTES}). Null for a run that has not started, and for a log removed by retention (see logExpiredAt, logWindow).`,
      args: {
        stream: t.arg({ type: LogStreamEnum }),
        offset: t.arg.float({ description: 'Where the window starts, in bytes (default 0).' }),
        limitBytes: t.arg.int({ description: `The window's size at most, in bytes (1 to ${LOG_WINDOW_MAX_BYTES}).` }),
        tailBytes: t.arg.int({ description: `Only the last this many bytes (1 to ${LOG_WINDOW_MAX_BYTES}).` }),
      },
      select: { columns: LOG_COLUMNS },
      // Another table, which the response cache cannot see change.
      extensions: { [READS_OUTSIDE_DATABASE]: true },
      resolve: async (run, args, ctx) => {
        logArguments(args);
        if (!run.logRef && !run.logExpiredAt) return null;
        const window = await runLogWindow(ctx.engine.deps, run, args);
        return window.expired ? null : window.text;
      },
    }),
    logWindow: t.field({
      type: LogWindowRef,
      description: "A window of the run's log with where it sits in it: page with nextOffset, follow a running log from it.",
      args: {
        stream: t.arg({ type: LogStreamEnum }),
        offset: t.arg.float({ description: 'Where the window starts, in bytes (default 0).' }),
        limitBytes: t.arg.int({ description: `The window's size at most, in bytes (1 to ${LOG_WINDOW_MAX_BYTES}).` }),
      },
      select: { columns: LOG_COLUMNS },
      extensions: { [READS_OUTSIDE_DATABASE]: true },
      resolve: (run, args, ctx) => {
        logArguments(args);
        return runLogWindow(ctx.engine.deps, run, args);
      },
    }),
    logExpiredAt: t.expose('logExpiredAt', { type: 'DateTime', nullable: true, description: 'When the log retention setting removed the log.' }),
    logBytes: t.exposeFloat('logBytes', { nullable: true }),
    logSha256: t.exposeString('logSha256', { nullable: true }),
    lastOutputAt: t.expose('lastOutputAt', { type: 'DateTime', nullable: true }),
    outputSilence: t.field({
      type: RunOutputSilenceRef,
      nullable: true,
      description:
        'How long the run has printed nothing and the level that makes (OK, SUSPICIOUS, CRITICAL, SNOOZED), as of now; null for a run that is not running. See snoozeRunSilence and dismissRunSilence.',
      select: { columns: { processStartedAt: true, outputSilenceSnoozedUntil: true, outputSilenceDismissedAt: true } },
      // Computed from the row and the engine's clock, which the response cache cannot see move: an
      // answer holding it is never served again (its seconds, and its level, would be as of then).
      extensions: { [READS_OUTSIDE_DATABASE]: true },
      resolve: (run, _args, ctx) => outputSilence(run, ctx.engine.deps.clock.now(), ctx.engine.deps.settings),
    }),
    usage: t.expose('usageJson', { type: 'JSON', nullable: true }),
    cost: t.relation('costEvent', { nullable: true, description: 'Its entry in the cost ledger; null while it runs, and for a run that used no tokens and cost nothing.' }),
    result: t.field({
      type: 'JSON',
      nullable: true,
      description: 'The result as stored, or a bounded summary when it is larger than 64 KiB.',
      select: { columns: { resultJson: true } },
      resolve: (run) => safeResultJson(run.resultJson),
    }),
    processPid: t.exposeInt('processPid', { nullable: true }),
  }),
});
