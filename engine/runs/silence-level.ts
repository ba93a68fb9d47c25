// The writes of a running run's output-silence state (docs/engine.md §17): its level, written once
// per change with one `lifecycle` warning and one `heartbeat.run.silence` live event, and an
// operator's snooze or dismissal. Each decides on the locked row with the pure rule
// (rules/silence.ts), so two instances evaluating the same run publish its change once.
import { and, eq, inArray } from 'drizzle-orm';
import type { Transaction } from '../../db/client.ts';
import { heartbeatRuns } from '../../db/schema.ts';
import type { LiveEvent } from '../live/live-events.ts';
import { type EngineDeps, transact } from '../model/deps.ts';
import { badInput, conflict, notFound } from '../model/errors.ts';
import { type RunRow, runStateSnapshot } from '../model/runs.ts';
import {
  levelOf,
  type OutputSilence,
  type OutputSilenceLevel,
  outputSilence,
  silenceEventMessage,
  snoozeUntilProblem,
  storedLevel,
} from '../rules/silence.ts';
import { appendRunEvents, type EventGroup } from './events.ts';

/** The columns a level is decided from, and those its live event carries. */
const SILENCE_COLUMNS = {
  id: heartbeatRuns.id,
  companyId: heartbeatRuns.companyId,
  agentId: heartbeatRuns.agentId,
  issueId: heartbeatRuns.issueId,
  status: heartbeatRuns.status,
  createdAt: heartbeatRuns.createdAt,
  startedAt: heartbeatRuns.startedAt,
  processStartedAt: heartbeatRuns.processStartedAt,
  lastOutputAt: heartbeatRuns.lastOutputAt,
  outputSilenceLevel: heartbeatRuns.outputSilenceLevel,
  outputSilenceSnoozedUntil: heartbeatRuns.outputSilenceSnoozedUntil,
  outputSilenceDismissedAt: heartbeatRuns.outputSilenceDismissedAt,
  error: heartbeatRuns.error,
  errorCode: heartbeatRuns.errorCode,
  finishedAt: heartbeatRuns.finishedAt,
  settledAt: heartbeatRuns.settledAt,
  updatedAt: heartbeatRuns.updatedAt,
  livenessState: heartbeatRuns.livenessState,
  scheduledRetryAt: heartbeatRuns.scheduledRetryAt,
  scheduledRetryAttempt: heartbeatRuns.scheduledRetryAttempt,
};

export type SilenceRow = Pick<RunRow, keyof typeof SILENCE_COLUMNS>;

/** One change of a run's level, as written. */
export interface SilenceLevelChange {
  run: SilenceRow;
  previous: OutputSilenceLevel;
  silence: OutputSilence;
}

/**
 * Evaluates these runs again on their rows, locked (rows another transaction holds are skipped:
 * the next pass sees them), and writes the level of each whose level changed. Runs no longer
 * running are left as they are.
 */
export async function updateSilenceLevels(deps: EngineDeps, runIds: readonly string[]): Promise<SilenceLevelChange[]> {
  if (runIds.length === 0) return [];
  return transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    const rows = await tx
      .select(SILENCE_COLUMNS)
      .from(heartbeatRuns)
      .where(and(inArray(heartbeatRuns.id, [...runIds]), eq(heartbeatRuns.status, 'running')))
      .orderBy(heartbeatRuns.id)
      .for('update', { skipLocked: true });
    const changes: Array<{ row: SilenceRow; silence: OutputSilence }> = [];
    for (const row of rows) {
      const silence = outputSilence(row, now, deps.settings);
      if (silence && storedLevel(silence.level) !== row.outputSilenceLevel) changes.push({ row, silence });
    }
    // One statement per level the runs move to (at most four).
    const written: SilenceLevelChange[] = [];
    for (const level of new Set(changes.map((change) => change.silence.level))) {
      const ofLevel = changes.filter((change) => change.silence.level === level);
      const updated = await tx
        .update(heartbeatRuns)
        .set({ outputSilenceLevel: storedLevel(level), updatedAt: now })
        .where(inArray(heartbeatRuns.id, ofLevel.map((change) => change.row.id)))
        .returning(SILENCE_COLUMNS);
      const byId = new Map(updated.map((row) => [row.id, row]));
      for (const { row, silence } of ofLevel) {
        const after = byId.get(row.id);
        if (after) written.push({ run: after, previous: levelOf(row.outputSilenceLevel), silence });
      }
    }
    await publishChanges(tx, events, written, now);
    return written;
  });
}

/**
 * An operator's snooze: the running run's level is `snoozed` until `until` (in the future, at most
 * 7 days ahead), then evaluated again. Replaces a dismissal. BAD_USER_INPUT naming `until`,
 * NOT_FOUND, or CONFLICT for a run that is not running; nothing is written then.
 */
export async function snoozeRunSilence(deps: EngineDeps, input: { companyId?: string; runId: string; until: Date }): Promise<RunRow> {
  const problem = snoozeUntilProblem(input.until, deps.clock.now());
  if (problem) throw badInput(problem, { argument: 'until' });
  return changeSilence(deps, input, 'snoozed', { outputSilenceSnoozedUntil: input.until, outputSilenceDismissedAt: null });
}

/**
 * An operator's dismissal (a false positive): the silence the run is in now is not flagged, however
 * long it lasts; its next output re-arms the levels. Ends a snooze. NOT_FOUND, or CONFLICT for a
 * run that is not running.
 */
export async function dismissRunSilence(deps: EngineDeps, input: { companyId?: string; runId: string }): Promise<RunRow> {
  return changeSilence(deps, input, 'dismissed', { outputSilenceSnoozedUntil: null, outputSilenceDismissedAt: deps.clock.now() });
}

async function changeSilence(
  deps: EngineDeps,
  input: { companyId?: string; runId: string },
  what: 'snoozed' | 'dismissed',
  columns: Pick<RunRow, 'outputSilenceSnoozedUntil' | 'outputSilenceDismissedAt'>,
): Promise<RunRow> {
  return transact(deps, async (tx, events) => {
    const now = deps.clock.now();
    const [run] = await tx
      .select()
      .from(heartbeatRuns)
      .where(and(eq(heartbeatRuns.id, input.runId), input.companyId ? eq(heartbeatRuns.companyId, input.companyId) : undefined))
      .for('update');
    if (!run) throw notFound('Run');
    if (run.status !== 'running') {
      throw conflict(`Only a running run's output silence can be ${what}; this run is ${run.status}`, { status: run.status });
    }
    const silence = outputSilence({ ...run, ...columns }, now, deps.settings)!;
    const [updated] = await tx
      .update(heartbeatRuns)
      .set({ ...columns, outputSilenceLevel: storedLevel(silence.level), updatedAt: now })
      .where(eq(heartbeatRuns.id, run.id))
      .returning();
    const previous = levelOf(run.outputSilenceLevel);
    if (previous !== silence.level) await publishChanges(tx, events, [{ run: updated, previous, silence }], now);
    return updated;
  });
}

/** Each change's `lifecycle` warning (one statement for all of them) and its live event. */
async function publishChanges(tx: Transaction, events: LiveEvent[], changes: SilenceLevelChange[], now: Date): Promise<void> {
  if (changes.length === 0) return;
  const groups: EventGroup[] = changes.map(({ run, previous, silence }) => ({
    runId: run.id,
    events: [
      {
        runId: run.id,
        eventType: 'lifecycle',
        level: 'warn',
        message: silenceEventMessage({ level: silence.level, previous, seconds: silence.seconds, snoozedUntil: silence.snoozedUntil, dismissed: silence.dismissedAt !== null }),
        payload: {
          outputSilence: silence.level,
          previous,
          silentSince: silence.silentSince.toISOString(),
          seconds: silence.seconds,
          ...(silence.snoozedUntil ? { snoozedUntil: silence.snoozedUntil.toISOString() } : {}),
          ...(silence.dismissedAt ? { dismissedAt: silence.dismissedAt.toISOString() } : {}),
        },
      },
    ],
  }));
  // The rows are locked by this transaction and running: every group is written.
  await appendRunEvents(tx, events, groups, now, { wait: true, unlessSettled: false });
  for (const { run, previous, silence } of changes) {
    events.push({
      type: 'heartbeat.run.silence',
      companyId: run.companyId,
      runId: run.id,
      agentId: run.agentId,
      issueId: run.issueId,
      level: silence.level,
      previousLevel: previous,
      silentSince: silence.silentSince.toISOString(),
      seconds: silence.seconds,
      state: runStateSnapshot(run),
    });
  }
}
