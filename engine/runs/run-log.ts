// A run's log in the database (docs/engine.md §6.5): its output as pieces of one stream's text,
// written for any number of runs in one statement (the engine group-commits them as it does events),
// and read back by window, in bytes, of the whole log or of one stream, from the pieces that overlap
// the window only: never the whole log in memory.
import { sql } from 'drizzle-orm';
import type { LogStream } from '../adapters/types.ts';
import { executePrepared, json, type StatementTarget, uuidArray } from '../store/statements.ts';

/** The store a run's log is in: the database; `file` for logs written before it (read from disk). */
export const LOG_STORE = 'postgres';
export const FILE_LOG_STORE = 'file';

/** Largest window one read returns (bytes), and the default of a read that names no limit. */
export const LOG_WINDOW_MAX_BYTES = 1024 * 1024;

export interface LogChunk {
  runId: string;
  companyId: string;
  stream: LogStream;
  /** Where it starts in the run's whole log, and in its stream (bytes of UTF-8). */
  logOffset: number;
  streamOffset: number;
  text: string;
  bytes: number;
}

/**
 * Stores pieces of many runs' logs in one statement. A piece already stored (a write repeated after
 * an outage) is kept as it is; a piece of a settled run is dropped, as its executor's events are
 * (§6.11-G: nothing about a settled run changes), unless `ofSettledRuns` (a file log imported).
 */
export async function writeLogChunks(target: StatementTarget, chunks: LogChunk[], { ofSettledRuns = false } = {}): Promise<void> {
  if (chunks.length === 0) return;
  const input = chunks.map((c) => ({ run_id: c.runId, company_id: c.companyId, stream: c.stream, log_offset: c.logOffset, stream_offset: c.streamOffset, bytes: c.bytes, text: c.text }));
  await executePrepared(target, sql`
    insert into heartbeat_run_log_chunks (run_id, company_id, log_offset, stream, stream_offset, bytes, text)
    select i.run_id, i.company_id, i.log_offset, i.stream, i.stream_offset, i.bytes, i.text
    from jsonb_to_recordset(${json(input)}::jsonb) as i(run_id uuid, company_id uuid, log_offset bigint, stream text, stream_offset bigint, bytes int, text text)
    join heartbeat_runs r on r.id = i.run_id and (r.settled_at is null or ${ofSettledRuns}::boolean)
    where r.id = any(${uuidArray([...new Set(chunks.map((c) => c.runId))])}::uuid[])
    on conflict (run_id, log_offset) do nothing`);
}

export interface LogWindowRequest {
  /** One stream, or null for both, interleaved as they were written. */
  stream: LogStream | null;
  /** Where the window starts (bytes); a start inside a character moves to the next one. */
  offset: number;
  /** The window's size at most (bytes, 1 to LOG_WINDOW_MAX_BYTES); its end never cuts a character. */
  limitBytes: number;
}

export interface LogWindow {
  text: string;
  offset: number;
  /** Where the next window starts: the end of this one. */
  nextOffset: number;
  /** The log's (or the stream's) size so far. */
  totalBytes: number;
  expired: boolean;
}

/** The size so far of a run's log, or of one of its streams (bytes). */
export async function logSize(target: StatementTarget, runId: string, stream: LogStream | null): Promise<number> {
  const [row] = await executePrepared<{ end: string | null }>(
    target,
    stream === null
      ? sql`select log_offset + bytes as end from heartbeat_run_log_chunks where run_id = ${runId}::uuid order by log_offset desc limit 1`
      : sql`select stream_offset + bytes as end from heartbeat_run_log_chunks
            where run_id = ${runId}::uuid and stream = ${stream} order by stream_offset desc limit 1`,
  );
  return row ? Number(row.end) : 0;
}

/** The window of a run's stored log: the pieces that overlap it, cut to it on character boundaries. */
export async function readLogWindow(target: StatementTarget, runId: string, request: LogWindowRequest): Promise<Omit<LogWindow, 'expired'>> {
  const start = Math.max(0, Math.floor(request.offset));
  const end = start + Math.min(Math.max(1, Math.floor(request.limitBytes)), LOG_WINDOW_MAX_BYTES);
  const { stream } = request;
  const [total, rows] = await Promise.all([
    logSize(target, runId, stream),
    executePrepared<{ at: string; text: string }>(
      target,
      stream === null
        ? sql`select log_offset as at, text from heartbeat_run_log_chunks
              where run_id = ${runId}::uuid and log_offset < ${end}
                and log_offset >= coalesce((select log_offset from heartbeat_run_log_chunks
                  where run_id = ${runId}::uuid and log_offset <= ${start} order by log_offset desc limit 1), 0)
              order by log_offset`
        : sql`select stream_offset as at, text from heartbeat_run_log_chunks
              where run_id = ${runId}::uuid and stream = ${stream} and stream_offset < ${end}
                and stream_offset >= coalesce((select stream_offset from heartbeat_run_log_chunks
                  where run_id = ${runId}::uuid and stream = ${stream} and stream_offset <= ${start} order by stream_offset desc limit 1), 0)
              order by stream_offset`,
    ),
  ]);
  const pieces = rows.map((row) => ({ at: Number(row.at), bytes: Buffer.from(row.text, 'utf8') }));
  const window = cutWindow(pieces, start, Math.min(end, total));
  return { text: window.bytes.toString('utf8'), offset: window.start, nextOffset: window.start + window.bytes.length, totalBytes: total };
}

/** Continuation bytes of UTF-8 (10xxxxxx): a window never starts or ends inside a character. */
const isContinuation = (byte: number | undefined) => byte !== undefined && (byte & 0xc0) === 0x80;

/** The bytes in [start, end) of pieces laid end to end at their offsets, on character boundaries. */
export function cutWindow(pieces: Array<{ at: number; bytes: Buffer }>, start: number, end: number): { start: number; bytes: Buffer } {
  if (end <= start || pieces.length === 0) return { start: Math.min(start, Math.max(end, 0)), bytes: Buffer.alloc(0) };
  const first = pieces[0].at;
  const joined = Buffer.concat(pieces.map((piece) => piece.bytes));
  let from = Math.max(0, start - first);
  let to = Math.min(joined.length, end - first);
  while (from < to && isContinuation(joined[from])) from += 1;
  // Back off to the start of a character the window would cut, unless it ends the log there.
  if (to < joined.length) while (to > from && isContinuation(joined[to])) to -= 1;
  return { start: first + from, bytes: joined.subarray(from, Math.max(from, to)) };
}
