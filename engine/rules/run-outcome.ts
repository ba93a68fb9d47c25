// How an adapter's final word becomes a run's terminal status and result_json (spec §6.4 steps 5-6),
// and the stop metadata every engine terminal write carries (spec §5).
import type { RunStatus } from '../../db/enums.ts';
import type { AdapterResult } from '../adapters/types.ts';
import { boundDepth, RESULT_MAX_DEPTH, truncateText } from './bounding.ts';

export type TerminalRunStatus = 'succeeded' | 'failed' | 'cancelled' | 'timed_out';

export interface RunOutcome {
  status: TerminalRunStatus;
  error: string | null;
  errorCode: string | null;
}

const TERMINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled', 'timed_out'];

/** Max length of the summary shown for a run (spec §3). */
const RUN_SUMMARY_MAX = 500;

const nonEmpty = (value: unknown): value is string => typeof value === 'string' && value.trim() !== '';

/**
 * The terminal status for a run whose adapter has returned, or null when the row already reached one
 * (a cancel or the reaper got there first, and terminal rows never change status).
 */
export function resolveRunOutcome(
  row: { status: RunStatus; error: string | null; errorCode: string | null },
  result: AdapterResult,
): RunOutcome | null {
  if (TERMINAL_STATUSES.includes(row.status)) return null;
  const message = nonEmpty(result.errorMessage) ? result.errorMessage : null;
  if (result.timedOut) {
    return { status: 'timed_out', error: message ?? 'Timed out', errorCode: 'timeout' };
  }
  // An adapter that stopped because it was aborted is cancelled even if it exited cleanly.
  if (result.errorCode === 'cancelled') {
    return {
      status: 'cancelled',
      error: row.error ?? message ?? 'Cancelled',
      errorCode: row.errorCode ?? 'cancelled',
    };
  }
  if ((result.exitCode ?? 0) === 0 && message === null) {
    return { status: 'succeeded', error: null, errorCode: null };
  }
  return {
    status: 'failed',
    error: message ?? 'Adapter failed',
    errorCode: nonEmpty(result.errorCode) ? result.errorCode : 'adapter_failed',
  };
}

export interface StopMetadata {
  stopReason: string;
  effectiveTimeoutSec: number;
  timeoutConfigured: boolean;
  timeoutSource: string;
  timeoutFired: boolean;
}

function stopReasonFor(status: TerminalRunStatus, errorCode: string | null, error: string | null): string {
  switch (status) {
    case 'succeeded':
      return 'completed';
    case 'timed_out':
      return 'timeout';
    case 'cancelled': {
      // Pauses (agent or budget) cancel runs too; the reason text is the only trace of why.
      const text = (error ?? '').toLowerCase();
      if (text.includes('budget')) return 'budget_paused';
      if (text.includes('pause')) return 'paused';
      return 'cancelled';
    }
    case 'failed':
      return errorCode === 'process_lost' ? 'process_lost' : 'adapter_failed';
    default:
      return 'adapter_failed';
  }
}

/** Why and under which timeout a run stopped; merged into result_json on every engine terminal write. */
export function stopMetadataFor(input: {
  status: TerminalRunStatus;
  errorCode: string | null;
  error: string | null;
  /** adapter_config.timeoutSec as stored: anything but a number >= 0 means "not configured". */
  configuredTimeoutSec: unknown;
  adapterDefaultTimeoutSec: number;
}): StopMetadata {
  const configured = input.configuredTimeoutSec;
  const fromConfig = typeof configured === 'number' && Number.isFinite(configured) && configured >= 0;
  const fallback = input.adapterDefaultTimeoutSec;
  const effectiveTimeoutSec = fromConfig
    ? Math.floor(configured)
    : Number.isFinite(fallback) && fallback > 0
      ? Math.floor(fallback)
      : 0;
  const stopReason = stopReasonFor(input.status, input.errorCode, input.error);
  return {
    stopReason,
    effectiveTimeoutSec,
    timeoutConfigured: effectiveTimeoutSec > 0,
    timeoutSource: fromConfig ? 'config' : 'default',
    timeoutFired: stopReason === 'timeout',
  };
}

/** Stop metadata for a claim-gate cancel (§6.3): the run never started, so no timeout applied. */
export function gateStopMetadata(
  code: string,
  timeoutSource: 'dependency_gate' | 'stale_queued_run_gate',
): StopMetadata {
  return { stopReason: code, effectiveTimeoutSec: 0, timeoutConfigured: false, timeoutSource, timeoutFired: false };
}

/** The result_json stored for a finished run (§6.4 step 6). */
export function buildResultJson(result: AdapterResult, stop: StopMetadata): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(boundDepth(result.resultJson ?? {}, RESULT_MAX_DEPTH) as Record<string, unknown>) };
  // Bounded retry (§6.12) reads the transient contract back from here.
  if (nonEmpty(result.errorFamily)) out.errorFamily = result.errorFamily;
  if (nonEmpty(result.retryNotBefore)) {
    out.retryNotBefore = result.retryNotBefore;
    out.transientRetryNotBefore = result.retryNotBefore;
  }
  Object.assign(out, stop);
  if (!nonEmpty(out.summary) && nonEmpty(result.summary)) out.summary = result.summary;
  return out;
}

/** The short text a run is known by: its summary, else its result, else its message. */
export function runSummaryText(resultJson: Record<string, unknown> | null | undefined): string | null {
  if (!resultJson) return null;
  for (const key of ['summary', 'result', 'message']) {
    const value = resultJson[key];
    if (nonEmpty(value)) return truncateText(value.trim(), RUN_SUMMARY_MAX);
  }
  return null;
}
