// Reading a run's log by window (docs/engine.md §6.5), whichever store it is in: the database's
// pieces (runs/run-log.ts), a file log not yet imported (runs/file-logs.ts, read from this
// instance's directory), or none left, its log removed by retention (expired, not empty).
import type { LogStream } from '../adapters/types.ts';
import type { EngineDeps } from '../model/deps.ts';
import { readFileRunLog } from './file-logs.ts';
import { cutWindow, FILE_LOG_STORE, LOG_WINDOW_MAX_BYTES, type LogWindow, logSize, readLogWindow } from './run-log.ts';

export interface RunLogRef {
  id: string;
  logStore: string | null;
  logRef: string | null;
  logExpiredAt: Date | null;
}

export interface LogWindowQuery {
  stream?: LogStream | null;
  /** Where the window starts (bytes); default 0. */
  offset?: number | null;
  /** Its size at most (bytes); default and most LOG_WINDOW_MAX_BYTES. */
  limitBytes?: number | null;
  /** The last `tailBytes` instead of a window from `offset` (at most LOG_WINDOW_MAX_BYTES). */
  tailBytes?: number | null;
}

const limitOf = (query: LogWindowQuery, tail: boolean) =>
  Math.min(LOG_WINDOW_MAX_BYTES, Math.max(1, Math.floor((tail ? query.tailBytes : query.limitBytes) ?? LOG_WINDOW_MAX_BYTES)));

/** A window of the run's log, of both streams interleaved or of one. */
export async function runLogWindow(deps: Pick<EngineDeps, 'db' | 'settings'>, run: RunLogRef, query: LogWindowQuery): Promise<LogWindow> {
  const stream = query.stream ?? null;
  const tail = query.tailBytes !== undefined && query.tailBytes !== null;
  const limitBytes = limitOf(query, tail);
  const requested = Math.max(0, Math.floor(query.offset ?? 0));
  if (run.logExpiredAt) return { text: '', offset: requested, nextOffset: requested, totalBytes: 0, expired: true };
  if (run.logStore === FILE_LOG_STORE) {
    // Not imported yet: read whole from this instance's disk (an older log; imported on start).
    const text = run.logRef ? ((await readFileRunLog(deps.settings.logDir, run.logRef, stream)) ?? '') : '';
    const bytes = Buffer.from(text, 'utf8');
    const start = tail ? Math.max(0, bytes.length - limitBytes) : requested;
    const window = cutWindow([{ at: 0, bytes }], start, Math.min(bytes.length, start + limitBytes));
    return { text: window.bytes.toString('utf8'), offset: window.start, nextOffset: window.start + window.bytes.length, totalBytes: bytes.length, expired: false };
  }
  const offset = tail ? Math.max(0, (await logSize(deps.db, run.id, stream)) - limitBytes) : requested;
  return { ...(await readLogWindow(deps.db, run.id, { stream, offset, limitBytes })), expired: false };
}
