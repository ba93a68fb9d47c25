// Read models of engine-spec §8 that shape stored run data for clients. Pure functions.
import { truncateText } from '../rules/bounding.ts';

export { BOUNDED_RETRY_MAX_ATTEMPTS } from '../rules/retry-schedule.ts';

const SAFE_RESULT_BYTES = 64 * 1024;
const SUMMARY_CHARS = 500;
const OUTPUT_CHARS = 4_096;
const COST_ALIASES = ['total_cost_usd', 'cost_usd', 'costUsd'] as const;

/** resultJson as stored when it is at most 64 KiB; otherwise a bounded summary of it (spec §8 getRun). */
export function safeResultJson(resultJson: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!resultJson) return null;
  const size = Buffer.byteLength(JSON.stringify(resultJson));
  if (size <= SAFE_RESULT_BYTES) return resultJson;
  const text = (key: string, max: number) => {
    const value = resultJson[key];
    return typeof value === 'string' && value.length > 0 ? truncateText(value, max) : null;
  };
  const summary: Record<string, unknown> = {
    summary: text('summary', SUMMARY_CHARS),
    result: text('result', SUMMARY_CHARS),
    message: text('message', SUMMARY_CHARS),
    error: text('error', SUMMARY_CHARS),
    stdout: text('stdout', OUTPUT_CHARS),
    stderr: text('stderr', OUTPUT_CHARS),
    stdoutTruncated: typeof resultJson.stdout === 'string' && resultJson.stdout.length > OUTPUT_CHARS ? true : null,
    stderrTruncated: typeof resultJson.stderr === 'string' && resultJson.stderr.length > OUTPUT_CHARS ? true : null,
    truncated: true,
    truncationReason: 'oversized_result_json',
    originalSizeBytes: size,
  };
  for (const key of COST_ALIASES) {
    const value = resultJson[key];
    if (typeof value === 'number' && Number.isFinite(value)) summary[key] = value;
  }
  return Object.fromEntries(Object.entries(summary).filter(([, value]) => value !== null));
}

export const RETRY_EXHAUSTED_PREFIX = 'Bounded retry exhausted';
