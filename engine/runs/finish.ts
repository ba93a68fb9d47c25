// The finish of runs (docs/engine.md §6.4 steps 6-7 and the settle), for one run or many, with an
// issue or without, in one transaction: pipelined (pipelined-transaction.ts: BEGIN travels with the
// reads, COMMIT with the writes), or plain when it may write follow-ups. For every run: its last
// events (those whose own write had not started, execution/execute-run.ts takeEvents), the terminal
// row with its liveness (§6.7, from what it left behind), its wakeup, the terminal event, the
// agent's runtime counters and status (§6.15); the statement itself is terminal-write.ts. A run that
// nothing follows (no issue, no lock, no retry to schedule) is settled in the same statement, as is
// the common run on an issue whose follow-up the finish writes itself (FollowUpInFinish); the others
// are settled by their caller once their follow-up steps ran (execution/follow-up.ts). The engine
// batches finishes; without batching, or for a run a batch could not take, this same function is
// called with that one run.
import { sql } from 'drizzle-orm';
import type { AdapterType } from '../../db/enums.ts';
import type { AdapterResult } from '../adapters/types.ts';
import { finalizeAgents } from './agent-status.ts';
import type { LiveEvent } from '../live/live-events.ts';
import type { Transaction } from '../../db/client.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import type { CommentAnswer } from './settle.ts';
import { classifyLiveness } from '../rules/liveness.ts';
import { collectEvidence, livenessInputFrom, type RunEvidence, runEvidence, withPendingTools } from './liveness-evidence.ts';
import { pipelinedTransaction } from '../store/pipelined-transaction.ts';
import { transientContract } from '../rules/retry-schedule.ts';
import { liveRunEvent, type NewRunEvent, payloadText } from './events.ts';
import { buildResultJson, resolveRunOutcome, type RunOutcome, stopMetadataFor, type TerminalRunStatus } from '../rules/run-outcome.ts';
import { boundDepth, RESULT_MAX_DEPTH } from '../rules/bounding.ts';
import type { RunOutputSummary } from './output.ts';
import { executePrepared, runRowFromDriver, type StatementTarget, uuidArray } from '../store/statements.ts';
import { type RunRow, runStatusEvent } from '../model/runs.ts';
import { sessionAfterRun, sessionLabel, taskKeyOf } from '../rules/sessions.ts';
import { runSessionOf } from './task-sessions.ts';
import { outputColumns, recordEnded } from './ended-runs.ts';
import { reportsSessionTotals, runCostOf, sessionTotals, storedUsage } from './cost-ledger.ts';
import { recordFinishes, stepStart } from '../telemetry/tracing.ts';
import { type Terminal, writeTerminals } from './terminal-write.ts';

export interface RunFinish {
  runId: string;
  /** The issue the run works on, as its executor knows it (null: none; not given: not known). */
  issueId?: string | null;
  agent: { id: string; adapterType: AdapterType; adapterConfig: Record<string, unknown> };
  result: AdapterResult;
  /** What the run printed; null when nothing of it can be recorded (the row keeps what it has). */
  output: RunOutputSummary | null;
  /** The adapter (or the setup before it) threw instead of resolving: no retry, no continuation (§6.4 step 9). */
  crashed: boolean;
  /** The run's last events, not written yet: written first, in this transaction, in order. */
  events: NewRunEvent[];
}

/** What became of a run given to finishRuns. */
export type RunFinished =
  /** Another transaction held its row (a batch never waits on one run): nothing was written; finish it alone. */
  | { kind: 'held' }
  /** No such run any more (deleting an agent deletes its runs). */
  | { kind: 'gone' }
  /**
   * It had ended already (cancelled meanwhile): what the process left is recorded and the run settled,
   * unless it was settled; left unsettled (settledAt null) when an issue's lock still names it: its
   * caller releases that issue, then settles it (ended-runs.ts recordEnded).
   */
  | { kind: 'ended'; run: RunRow }
  /** Terminal now. Settled too, unless `followUp`: then its follow-up steps run, and its caller settles it. */
  | {
      kind: 'finished';
      run: RunRow;
      followUp: boolean;
      /** With followUp: what the finish read of the run's work (its last events counted), for the follow-up to use rather than read again. */
      evidence?: RunEvidence;
      /** The runs its follow-up queued when the finish wrote it (FollowUpInFinish), which the engine starts. */
      queued?: RunRow[];
    };

/**
 * The follow-up a finish may write itself, in its own transaction (execution/follow-up.ts
 * followUpInFinish), for the runs it admits: after the finish locked its runs and read their
 * evidence, before its terminal writes, which then settle those runs with the comment policy's
 * answers (one transaction and one row version, where a follow-up of its own takes two of each).
 * The order of locks stays §6.17's: the runs, then their issues and wakeups, the agents last.
 */
export interface FollowUpInFinish {
  admits(candidate: { run: RunRow; crashed: boolean; evidence: RunEvidence | undefined; costCents: number }): boolean;
  /** Per run, in order: the runs it queued and the comment policy's answer. */
  write(
    tx: Transaction,
    events: LiveEvent[],
    items: Array<{ run: RunRow; crashed: boolean; evidence?: RunEvidence }>,
    now: Date,
  ): Promise<Array<{ queued: RunRow[]; comment: CommentAnswer | null }>>;
}

/** The columns a run's terminal write sets besides its output (§6.4 step 6). */
function terminalColumns(outcome: RunOutcome, result: AdapterResult, configuredTimeoutSec: unknown, now: Date) {
  const stop = stopMetadataFor({
    status: outcome.status,
    errorCode: outcome.errorCode,
    error: outcome.error,
    configuredTimeoutSec,
    adapterDefaultTimeoutSec: 0,
  });
  return {
    status: outcome.status,
    error: outcome.error,
    errorCode: outcome.errorCode,
    finishedAt: now,
    updatedAt: now,
    exitCode: result.exitCode ?? null,
    signal: result.signal ?? null,
    usageJson: result.usage == null ? null : (boundDepth(result.usage, RESULT_MAX_DEPTH) as typeof result.usage),
    resultJson: buildResultJson(result, stop),
    runTokenHash: null,
  };
}

/**
 * Whether anything follows a run's finish (execution/follow-up.ts): it works on
 * an issue, an issue's lock points at it, or its transient failure gets a bounded retry (§6.12).
 */
export function needsFollowUp(run: RunRow, crashed: boolean, holdsIssueLock: boolean): boolean {
  if (run.issueId !== null || typeof run.contextSnapshot.issueId === 'string' || holdsIssueLock) return true;
  return !crashed && run.status === 'failed' && transientContract(run) !== null;
}

/**
 * Finishes `items` in one transaction. `wait`: wait for rows other transactions hold (a single
 * finish), or leave those runs unwritten as `held` (a batch). `followUp`: the follow-ups the finish
 * may write itself (FollowUpInFinish); a finish of runs on issues that may have one then runs in a
 * transaction its steps can write in, others in a pipelined one. Answers per item, in order.
 */
export async function finishRuns(
  deps: EngineDeps,
  items: RunFinish[],
  { wait, followUp }: { wait: boolean; followUp?: FollowUpInFinish },
): Promise<RunFinished[]> {
  const firstHeartbeats: FirstHeartbeats = [];
  const traced = stepStart();
  let answers: RunFinished[] = [];
  const finish = async (tx: StatementTarget, events: LiveEvent[], options: { commit?: () => Promise<void>; followUp?: InFinish }) => {
    const ids = uuidArray(items.map((item) => item.runId));
    // The runs and what they left behind. The agents' rows are locked only at the end, right before
    // the commit (finalizeAgents): every enqueue, claim and start of those agents waits for that
    // lock, so it is held as briefly as possible.
    const [rawRows, evidenceRows] = await Promise.all([
      executePrepared(tx, sql`select * from heartbeat_runs where id = any(${ids}::uuid[]) order by id for update ${wait ? sql`` : sql`skip locked`}`),
      runEvidence(tx, items.map((item) => ({ id: item.runId, issueId: item.issueId }))),
    ]);
    const rows = new Map(rawRows.map(runRowFromDriver).map((row) => [row.id, row]));
    answers = await finishLockedRuns(tx, events, items, rows, collectEvidence(evidenceRows), {
      now: deps.clock.now(),
      missing: wait ? 'gone' : 'held',
      firstHeartbeats,
      ...options,
    });
  };
  if (followUp && items.some((item) => item.issueId && !item.crashed)) {
    await transact(deps, (tx, events) => finish(tx, events, { followUp: { admits: followUp.admits, write: (events, runs, now) => followUp.write(tx, events, runs, now) } }));
  } else {
    // Sent with the writes: the server runs them one after the other, in one round trip. Nothing
    // to write: no COMMIT, and the transaction rolls back.
    await pipelinedTransaction(deps, (tx, events) => finish(tx, events, { commit: () => tx.commit() }));
  }
  for (const hook of firstHeartbeats) deps.onFirstHeartbeat?.(hook);
  if (traced !== undefined) recordFinishes(traced, answers.flatMap((answer) => ('run' in answer ? [answer.run] : [])));
  return answers;
}

/** FollowUpInFinish bound to the finish's transaction. */
type InFinish = Pick<FollowUpInFinish, 'admits'> & {
  write(events: LiveEvent[], items: Array<{ run: RunRow; crashed: boolean; evidence?: RunEvidence }>, now: Date): ReturnType<FollowUpInFinish['write']>;
};

type FirstHeartbeats = Array<{ agentId: string; agentRole: string }>;

/**
 * The finish itself, in the caller's transaction, which holds the rows of `rows` (the runs it could
 * lock) and gathered their evidence (liveness-evidence.ts runEvidence): what finishRuns and the
 * reaper's fail of lost runs (lost-runs.ts) both write. A run missing from `rows` is answered
 * `options.missing`. `commit`, when given, is sent right behind the writes (a pipelined
 * transaction), and only when there is something to write.
 */
export async function finishLockedRuns(
  tx: StatementTarget,
  events: LiveEvent[],
  items: RunFinish[],
  rows: Map<string, RunRow>,
  evidence: Map<string, RunEvidence>,
  options: { now: Date; missing: 'gone' | 'held'; firstHeartbeats: FirstHeartbeats; commit?: () => Promise<void>; followUp?: InFinish },
): Promise<RunFinished[]> {
  const { now } = options;
  const answers: RunFinished[] = [];
  const terminals: Terminal<RunFinish>[] = [];
  const ended: Array<{ item: RunFinish; row: RunRow }> = [];
  // Runs that report their session's running totals need the previous run's (§13.2): read only for them.
  const totals = await sessionTotals(
    tx,
    items.flatMap((item) => {
      const row = rows.get(item.runId);
      const session = row ? sessionLabel(runSessionOf(row.contextSnapshot)) : null;
      return row && session && reportsSessionTotals(item.result) ? [{ run: row, session }] : [];
    }),
  );
  for (const item of items) {
    const row = rows.get(item.runId);
    if (!row) {
      answers.push({ kind: options.missing });
      continue;
    }
    const outcome = resolveRunOutcome(row, item.result);
    if (!outcome) {
      // Ended meanwhile (cancelled): its follow-up is the cancel's, less the release its canceller
      // may not have made (recordEnded). Nothing about a settled run changes.
      if (!row.settledAt) ended.push({ item, row });
      answers.push({ kind: 'ended', run: row });
      continue;
    }
    const session = { outcome: sessionAfterRun(runSessionOf(row.contextSnapshot), item.result.session), taskKey: taskKeyOf(row.contextSnapshot) };
    const terminal = terminalColumns(outcome, item.result, item.agent.adapterConfig.timeoutSec, now);
    const resumed = sessionLabel(runSessionOf(row.contextSnapshot));
    const cost = runCostOf(item.result, resumed ? (totals.get(resumed) ?? null) : null);
    terminal.usageJson = storedUsage(terminal.usageJson, cost);
    const rotated = row.contextSnapshot.sessionRotationReason;
    // A rotated run's usage says so (§12.9).
    if (typeof rotated === 'string') terminal.usageJson = { ...(terminal.usageJson ?? {}), sessionRotated: true, sessionRotationReason: rotated };
    const written: RunRow = { ...row, ...outputColumns(item.output), ...terminal, sessionIdAfter: session.outcome.sessionIdAfter };
    const of = evidence.get(row.id);
    const issue = written.issueId ? (of?.issue ?? null) : null;
    const toolEvents = withPendingTools(of?.toolEvents, item.events, now);
    const liveness = classifyLiveness(
      livenessInputFrom(written, issue, issue ? (of?.comments ?? []) : [], issue ? (of?.revisions ?? []) : [], of?.activity, toolEvents),
    );
    const run: RunRow = {
      ...written,
      lastEventSeq: row.lastEventSeq + item.events.length + 1,
      livenessState: liveness.state,
      livenessReason: liveness.reason,
      nextAction: liveness.nextAction,
      lastUsefulActionAt: liveness.lastUsefulActionAt,
    };
    const followUp = needsFollowUp(run, item.crashed, of?.holdsIssueLock ?? false);
    // The row as stored: settled at once when nothing follows.
    const stored: RunRow = followUp ? run : { ...run, issueCommentStatus: 'not_applicable', settledAt: now };
    const event: NewRunEvent = {
      runId: row.id,
      eventType: item.crashed ? 'error' : 'lifecycle',
      level: outcome.status === 'succeeded' ? 'info' : 'error',
      message: `run ${outcome.status}`,
      payload: { status: outcome.status, exitCode: run.exitCode, ...(outcome.error ? { error: outcome.error } : {}) },
    };
    const pending = item.events.map((e) => ({ event: e, payload: payloadText(e.payload) }));
    const known = of ? { ...of, toolEvents } : undefined;
    terminals.push({ item, session, cost, run, stored, followUp, answer: answers.length, evidence: known, wakeError: outcome.error, pending, event, payload: payloadText(event.payload) });
    answers.push({ kind: 'finished', run: stored, followUp, ...(followUp && known ? { evidence: known } : {}) });
  }
  if (terminals.length === 0 && ended.length === 0) return answers;

  // The follow-ups this finish writes itself (FollowUpInFinish), before the terminal writes: those
  // runs are then settled by them, with the comment policy's answers. Their events follow the runs'.
  const followUpEvents: LiveEvent[] = [];
  const inFinish = options.followUp
    ? terminals.filter((t) => t.followUp && options.followUp!.admits({ run: t.run, crashed: t.item.crashed, evidence: t.evidence, costCents: t.cost.cents }))
    : [];
  if (inFinish.length > 0) {
    const written = await options.followUp!.write(followUpEvents, inFinish.map((t) => ({ run: t.run, crashed: t.item.crashed, evidence: t.evidence })), now);
    inFinish.forEach((t, i) => {
      const { queued, comment } = written[i];
      t.followUp = false;
      t.comment = comment;
      t.stored = {
        ...t.run,
        issueCommentStatus: comment?.status ?? 'not_applicable',
        issueCommentSatisfiedByCommentId: comment?.satisfiedBy ?? t.run.issueCommentSatisfiedByCommentId,
        settledAt: now,
      };
      answers[t.answer] = { kind: 'finished', run: t.stored, followUp: false, queued };
    });
  }

  const [seqs, endedRows, agentEvents] = await Promise.all([
    writeTerminals(tx, terminals, now),
    recordEnded(tx, ended, now),
    finalizeAgents(tx, terminals.map((t) => ({ agentId: t.run.agentId, outcome: t.run.status as TerminalRunStatus })), now, options.firstHeartbeats),
    options.commit?.(),
  ]);
  for (const t of terminals) {
    const { run } = t;
    const terminalSeq = seqs.get(run.id)!;
    t.pending.forEach(({ event, payload }, i) => events.push(liveRunEvent(run, terminalSeq - t.pending.length + i, event, payload.bounded)));
    // Terminal, then settled: a subscriber (and /metrics) sees the outcome before the run is final.
    events.push(liveRunEvent(run, terminalSeq, t.event, t.payload.bounded), runStatusEvent(run));
    if (!t.followUp && !inFinish.includes(t)) events.push(runStatusEvent(t.stored));
  }
  // What the follow-ups written here did, then those runs settled: as a follow-up of their own would tell it.
  events.push(...followUpEvents, ...inFinish.map((t) => runStatusEvent(t.stored)));
  events.push(...agentEvents);
  for (const row of endedRows) {
    const at = answers.findIndex((a, i) => a.kind === 'ended' && items[i].runId === row.id);
    answers[at] = { kind: 'ended', run: row };
    events.push(runStatusEvent(row));
  }
  return answers;
}
