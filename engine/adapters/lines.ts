// The wire protocol shared by the process and http adapters: the run context goes out as one JSON
// object; what comes back is a stream of lines, each an event, the result, or plain log output.
import { StringDecoder } from 'node:string_decoder';
import { LOG_CHUNK_LIMITS } from '../bounding.ts';
import { type AdapterEvent, type AdapterExecution, type AdapterResult, ENGINE_EVENT_TYPES, type LogStream } from './types.ts';

/** The JSON object an agent receives on stdin (process) or as the request body (http). */
export function runContextPayload(execution: AdapterExecution<unknown>) {
  return {
    runId: execution.runId,
    companyId: execution.companyId,
    agentId: execution.agentId,
    agentName: execution.agentName,
    issueId: execution.issueId,
    context: execution.context,
    apiUrl: execution.apiUrl,
    runToken: execution.runToken,
    /** Ids to use with the API (global ids). */
    api: execution.apiIds,
  };
}

/** Longest line held whole (chars): room for any event or result, and a bound on what one run holds. */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

/**
 * Splits a byte stream into lines. UTF-8 safe across chunk boundaries; strips a trailing `\r`.
 * A line longer than `maxLineChars` comes out in pieces of about that size (each logged as a line):
 * holding it whole would let one child grow the server without bound.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  /** The unfinished line in pieces, joined once it ends: a long line costs linear, not quadratic, time. */
  private pending: string[] = [];
  private pendingChars = 0;

  constructor(private readonly maxLineChars = MAX_LINE_CHARS) {}

  /** Returns the lines completed by this chunk. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk));
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.pending.push(text.slice(start, end));
      lines.push(stripCr(this.take()));
      start = end + 1;
    }
    if (start < text.length) {
      this.pending.push(text.slice(start));
      this.pendingChars += text.length - start;
      if (this.pendingChars > this.maxLineChars) lines.push(this.take());
    }
    return lines;
  }

  /** The final line when the stream ended without a newline (none if it was empty). */
  end(): string[] {
    this.pending.push(this.decoder.end());
    const rest = this.take();
    return rest === '' ? [] : [stripCr(rest)];
  }

  private take(): string {
    const line = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    return line;
  }
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** PostgreSQL text and jsonb cannot hold NUL: an agent's NUL becomes U+FFFD, as invalid UTF-8 does. */
export const withoutNul = (text: string) => (text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text);

/** A `\u0000` escape in JSON text: preceded by an even number of backslashes, so not itself escaped. */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

export type LineResult = Pick<
  AdapterResult,
  'resultJson' | 'summary' | 'usage' | 'errorMessage' | 'errorCode' | 'errorFamily' | 'retryNotBefore'
>;

export type ClassifiedLine =
  | { kind: 'event'; event: AdapterEvent }
  | { kind: 'result'; result: LineResult }
  | { kind: 'log' };

const eventKeys = new Set(['type', 'message', 'level', 'stream', 'color', 'payload']);
const levels = new Set(['info', 'warn', 'error']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function classifyLine(line: string): ClassifiedLine {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return { kind: 'log' };
  let value: unknown;
  try {
    value = JSON.parse(trimmed.includes('\\u0000') ? trimmed.replace(NUL_ESCAPE, '$1\\ufffd') : trimmed);
  } catch {
    return { kind: 'log' };
  }
  if (!isObject(value)) return { kind: 'log' };
  const type = str(value.type);
  // `{"type":"result","result":...}` (stream-json style) is a result; any other typed line is an
  // event even if it carries a `result` field (e.g. a tool result), so it cannot clobber the run's.
  if ('result' in value && (type === undefined || type === 'result')) {
    return { kind: 'result', result: resultFields(value) };
  }
  if (type !== undefined && !ENGINE_EVENT_TYPES.includes(type)) return { kind: 'event', event: eventFields(type, value) };
  return { kind: 'log' };
}

function eventFields(type: string, value: Record<string, unknown>): AdapterEvent {
  let payload: unknown;
  if ('payload' in value) payload = value.payload;
  else {
    const rest = Object.fromEntries(Object.entries(value).filter(([k]) => !eventKeys.has(k)));
    payload = Object.keys(rest).length > 0 ? rest : undefined;
  }
  const level = str(value.level);
  return {
    type,
    message: str(value.message) ?? null,
    level: level && levels.has(level) ? (level as AdapterEvent['level']) : null,
    stream: str(value.stream) ?? null,
    color: str(value.color) ?? null,
    payload,
  };
}

function resultFields(value: Record<string, unknown>): LineResult {
  const out: LineResult = {
    resultJson: isObject(value.result) ? value.result : { result: value.result },
  };
  if (str(value.summary) !== undefined) out.summary = str(value.summary);
  if (isObject(value.usage)) out.usage = value.usage;
  for (const key of ['errorMessage', 'errorCode', 'errorFamily', 'retryNotBefore'] as const) {
    if (str(value[key]) !== undefined) out[key] = str(value[key]);
  }
  return out;
}

/** Feeds lines to the execution's callbacks; remembers the last result line. */
export class LineSink {
  result: LineResult | undefined;

  constructor(
    private readonly execution: Pick<AdapterExecution<unknown>, 'onEvent' | 'onLog'>,
    private readonly stream: LogStream = 'stdout',
  ) {}

  line(line: string): void {
    this.lines([line]);
  }

  /**
   * Consecutive log lines go out as one chunk, so a flood of short lines costs a few chunks instead
   * of one per line; a chunk stays small enough to be stored and published whole (spec §6.5).
   */
  lines(lines: string[]): void {
    let logged = '';
    for (const raw of lines) {
      const line = withoutNul(raw);
      const classified = classifyLine(line);
      if (classified.kind === 'log') {
        if (logged !== '' && logged.length + line.length >= LOG_CHUNK_LIMITS.live) {
          this.execution.onLog(this.stream, logged);
          logged = '';
        }
        logged += line + '\n';
        continue;
      }
      if (logged !== '') this.execution.onLog(this.stream, logged);
      logged = '';
      if (classified.kind === 'event') this.execution.onEvent(classified.event);
      else this.result = classified.result;
    }
    if (logged !== '') this.execution.onLog(this.stream, logged);
  }
}
