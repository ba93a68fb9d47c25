import { sql } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  boolean,
  check,
  index,
  integer,
  jsonb,
  text,
  uuid,
} from 'drizzle-orm/pg-core';
import { pgTable } from './table.ts';
import { agents } from './agents.ts';
import { createdAt, primaryId, timestamptz, updatedAt } from './columns.ts';
import { companyRef } from './companies.ts';
import {
  issueCommentStatusEnum,
  livenessStateEnum,
  runStatusEnum,
  triggerDetailEnum,
  wakeupSourceEnum,
} from './enums.ts';
import { issues } from './issues.ts';

/** One execution of an agent (engine-spec §1, heartbeat_runs), plus this project's additions. */
export const heartbeatRuns = pgTable(
  'heartbeat_runs',
  {
    id: primaryId(),
    companyId: companyRef(),
    agentId: uuid()
      .notNull()
      .references(() => agents.id, { onDelete: 'cascade' }),
    /**
     * Mirrors `context_snapshot->>'issueId'` as a real column so runs can be filtered, joined and
     * paged by issue through an index and a foreign key.
     */
    issueId: uuid().references(() => issues.id, { onDelete: 'set null' }),
    invocationSource: wakeupSourceEnum().notNull().default('on_demand'),
    triggerDetail: triggerDetailEnum(),
    status: runStatusEnum().notNull().default('queued'),
    startedAt: timestamptz(),
    finishedAt: timestamptz(),
    error: text(),
    errorCode: text(),
    wakeupRequestId: uuid(),
    exitCode: integer(),
    signal: text(),
    usageJson: jsonb().$type<Record<string, unknown>>(),
    resultJson: jsonb().$type<Record<string, unknown>>(),
    contextSnapshot: jsonb().$type<Record<string, unknown>>().notNull().default({}),
    sessionIdBefore: text(),
    sessionIdAfter: text(),
    logStore: text(),
    logRef: text(),
    logSha256: text(),
    logBytes: bigint({ mode: 'number' }),
    logCompressed: boolean().notNull().default(false),
    /** When the log retention setting removed this run's log (docs/engine.md §6.5): it is expired, not empty. */
    logExpiredAt: timestamptz(),
    stdoutExcerpt: text(),
    stderrExcerpt: text(),
    externalRunId: text(),
    processPid: integer(),
    processGroupId: integer(),
    processStartedAt: timestamptz(),
    lastOutputAt: timestamptz(),
    lastOutputSeq: integer().notNull().default(0),
    lastOutputStream: text(),
    lastOutputBytes: bigint({ mode: 'number' }),
    retryOfRunId: uuid().references((): AnyPgColumn => heartbeatRuns.id, { onDelete: 'set null' }),
    processLossRetryCount: integer().notNull().default(0),
    scheduledRetryAt: timestamptz(),
    scheduledRetryAttempt: integer().notNull().default(0),
    scheduledRetryReason: text(),
    issueCommentStatus: issueCommentStatusEnum().notNull().default('not_applicable'),
    issueCommentSatisfiedByCommentId: uuid(),
    issueCommentRetryQueuedAt: timestamptz(),
    livenessState: livenessStateEnum(),
    livenessReason: text(),
    nextAction: text(),
    continuationAttempt: integer().notNull().default(0),
    lastUsefulActionAt: timestamptz(),
    /**
     * The engine instance executing the run; its lapsed lease makes the run an orphan (Decisions 9).
     * From the finish to the settle: the instance that owes the run's follow-up (docs/engine.md §6.11-K).
     */
    ownerInstanceId: uuid(),
    /** Host the run's process lives on: pid checks only make sense on that host. */
    ownerHost: text(),
    /** Last allocated event seq; events take `last_event_seq + 1` atomically (Decisions 3). */
    lastEventSeq: integer().notNull().default(0),
    /**
     * Set once a terminal run's follow-up work (retry scheduling, release, continuations, agent
     * status) is done: after it the run's event stream and state no longer change.
     */
    settledAt: timestamptz(),
    /** SHA-256 of the run's bearer token; the token is valid only while the run is active. */
    runTokenHash: text(),
    /**
     * Silent runs (docs/engine.md §17): the output-silence level last published for the running
     * run (`suspicious`, `critical`, `snoozed`; null = ok), so each change is told once; an
     * operator's snooze (the level is `snoozed` until then) and dismissal (the silence that began
     * before it is not flagged; new output re-arms it).
     */
    outputSilenceLevel: text().$type<'suspicious' | 'critical' | 'snoozed'>(),
    outputSilenceSnoozedUntil: timestamptz(),
    outputSilenceDismissedAt: timestamptz(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // A run has no start time until it is claimed and no liveness until it has finished: the
    // versions of its row before then cost these two indexes nothing.
    index('runs_company_agent_started_idx').on(t.companyId, t.agentId, t.startedAt).where(sql`${t.startedAt} is not null`),
    // Runs by when they finished, for the activity charts (engine/runs/run-activity.ts): only the
    // finished versions of a row are in it, so the claim and the writes of a running run skip it.
    index('runs_company_finished_idx').on(t.companyId, t.finishedAt).where(sql`${t.finishedAt} is not null`),
    index('runs_company_liveness_created_idx').on(t.companyId, t.livenessState, t.createdAt).where(sql`${t.livenessState} is not null`),
    index('runs_company_status_output_idx').on(t.companyId, t.status, t.lastOutputAt),
    // Partial indexes: the engine's own lookups only ever ask for active runs, and lookups by issue
    // or retried run only for runs that have one. A run outside a predicate costs that index
    // nothing, so the claim and terminal writes (the hot path's widest updates) touch fewer indexes.
    index('runs_status_retry_due_idx').on(t.status, t.scheduledRetryAt).where(sql`${t.status} = 'scheduled_retry'`),
    index('runs_agent_status_idx').on(t.agentId, t.status).where(sql`${t.status} in ('queued', 'running', 'scheduled_retry')`),
    // Whether an agent's queue holds an issue run at all (then its claim order must be ranked).
    index('runs_agent_queued_issue_idx').on(t.agentId).where(sql`${t.status} = 'queued' and ${t.issueId} is not null`),
    // Claim order for an agent whose queue holds no issue run: oldest first, read straight off the index.
    index('runs_agent_queued_plain_idx').on(t.agentId, t.createdAt, t.id).where(sql`${t.status} = 'queued' and ${t.issueId} is null`),
    index('runs_company_created_idx').on(t.companyId, t.createdAt, t.id),
    index('runs_issue_created_idx').on(t.issueId, t.createdAt).where(sql`${t.issueId} is not null`),
    index('runs_retry_of_idx').on(t.retryOfRunId).where(sql`${t.retryOfRunId} is not null`),
    // The runs that left a session, for its rotation (docs/engine.md §7.9): only runs with one.
    index('runs_agent_session_after_idx').on(t.agentId, t.sessionIdAfter, t.createdAt).where(sql`${t.sessionIdAfter} is not null`),
    index('runs_owner_status_idx').on(t.ownerInstanceId, t.status).where(sql`${t.status} = 'running'`),
    // Runs cancelled while running whose executor has not settled them yet: the reaper looks for
    // those whose executor is gone on every pass (engine/recovery/process-loss.ts findAbandonedCancels).
    index('runs_cancelled_unsettled_idx').on(t.ownerInstanceId).where(sql`${t.status} = 'cancelled' and ${t.settledAt} is null`),
    // Runs finished (by their executor, or failed by the reaper) whose follow-up is not written yet:
    // in the index only between the finish and the settle. The reaper looks on every pass for those
    // whose owner died before writing it (engine/recovery/process-loss.ts findAbandonedFollowUps).
    index('runs_finished_unsettled_idx')
      .on(t.ownerInstanceId)
      .where(sql`${t.status} in ('succeeded', 'failed', 'timed_out') and ${t.settledAt} is null`),
    // Runs changed since a moment (live catch-up after a gap in signals, engine/live/live-catch-up.ts).
    // A BRIN index keeps only a range summary per block of pages, so the run writes barely pay for
    // it: rows are appended in about the order they change. Pages not summarized yet are always
    // read; autosummarize has autovacuum summarize each range as soon as it is full.
    index('runs_updated_brin_idx').using('brin', t.updatedAt).with({ autosummarize: 'on' }),
    check('runs_output_silence_level', sql`${t.outputSilenceLevel} in ('suspicious', 'critical', 'snoozed')`),
    // Silent runs (docs/engine.md §17), for the loop's one statement per tick: running runs by
    // (a lower bound of) the start of their silence, so only those silent long enough are read...
    // (process_started_at is left out: it is never before started_at, and keeping it out keeps
    // the pid write a HOT update), ...
    index('runs_running_silence_idx')
      .on(sql`(coalesce(${t.lastOutputAt}, ${t.startedAt}, ${t.createdAt}))`)
      .where(sql`${t.status} = 'running'`),
    // ... and the running runs flagged now, which may have to go back to ok.
    index('runs_running_silence_flagged_idx').on(t.id).where(sql`${t.status} = 'running' and ${t.outputSilenceLevel} is not null`),
  ],
);
