// The wire protocol shared by the process and http adapters: the run context goes out as one JSON
// object; what comes back is a stream of lines, each an event, the result, or plain log output.
import { StringDecoder } from 'node:string_decoder';
import { LOG_CHUNK_LIMITS } from '../rules/bounding.ts';
import type { SessionReport } from '../rules/sessions.ts';
import {
  combineSessionReports,
  combineUsageReports,
  sessionReportFromLine,
  type UsageReport,
  usageFromReport,
  usageReportFromLine,
} from './cli-streams.ts';
import { type AdapterEvent, type AdapterExecution, type AdapterResult, ENGINE_EVENT_TYPES, type LogStream } from './types.ts';

/** The JSON object an agent receives on stdin (process) or as the request body (http). */
export function runContextPayload(execution: AdapterExecution<unknown>) {
  const { session } = execution;
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
    /** The session to resume, null for a fresh one (docs/engine.md §12.3). */
    session: session ? { id: session.id, params: session.params, displayId: session.displayId, taskKey: session.taskKey } : null,
  };
}

/** Longest line held whole (chars): room for any event or result, and a bound on what one run holds. */
export const MAX_LINE_CHARS = 4 * 1024 * 1024;

/** The errorCode of a run whose result line was over MAX_LINE_CHARS. */
export const RESULT_TOO_LARGE = 'result_too_large';

/** What a run's result says when its result line was over the limit (the line itself is logged in pieces). */
export function resultTooLarge(maxLineChars = MAX_LINE_CHARS): LineResult {
  const limit = maxLineChars % (1024 * 1024) === 0 ? `${maxLineChars / (1024 * 1024)} MiB` : `${maxLineChars} characters`;
  return {
    errorCode: RESULT_TOO_LARGE,
    errorMessage: `The result line is over the ${limit} line limit: it was logged in pieces, not read as the result`,
  };
}

/**
 * Splits a byte stream into lines. UTF-8 safe across chunk boundaries; strips a trailing `\r`.
 * A line longer than `maxLineChars` comes out in pieces of about that size (each logged as a line):
 * holding it whole would let one child grow the server without bound. Such a line that was a result
 * line (see ResultLineScan) is reported to `onOverLongResult` when it ends, before the push() or end()
 * that returns its last piece returns: a result line after it in the same stream still comes later.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  /** The unfinished line in pieces, joined once it ends: a long line costs linear, not quadratic, time. */
  private pending: string[] = [];
  private pendingChars = 0;
  /** Set while the current line is over the limit: what its text says about being a result line. */
  private overLong: ResultLineScan | undefined;

  constructor(
    private readonly maxLineChars = MAX_LINE_CHARS,
    private readonly onOverLongResult?: () => void,
  ) {}

  /** Returns the lines completed by this chunk. */
  push(chunk: Uint8Array | string): string[] {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk));
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.pending.push(text.slice(start, end));
      lines.push(stripCr(this.take(true)));
      start = end + 1;
    }
    if (start < text.length) {
      this.pending.push(text.slice(start));
      this.pendingChars += text.length - start;
      if (this.pendingChars > this.maxLineChars) {
        this.overLong ??= new ResultLineScan();
        lines.push(this.take(false));
      }
    }
    return lines;
  }

  /** The final line when the stream ended without a newline (none if it was empty). */
  end(): string[] {
    this.pending.push(this.decoder.end());
    const rest = this.take(true);
    return rest === '' ? [] : [stripCr(rest)];
  }

  /** The pending text; `lineEnds`: it is the rest of its line. */
  private take(lineEnds: boolean): string {
    const line = this.pending.join('');
    this.pending = [];
    this.pendingChars = 0;
    if (this.overLong) {
      this.overLong.push(line);
      if (lineEnds) {
        if (this.overLong.isResult()) this.onOverLongResult?.();
        this.overLong = undefined;
      }
    }
    return line;
  }
}

/** Where a JSON string's run of plain characters ends. */
const STRING_SPECIAL = /["\\]/g;

/**
 * Reads a line piece by piece, holding none of it, to tell whether it is a result line as classifyLine
 * would see it if it could hold it whole: a JSON object (after leading whitespace) with a top-level
 * `result` key, and no top-level `type` other than "result". It follows strings, nesting and the
 * top-level keys and values; it does not check the rest of the JSON grammar, so a result line cut off
 * or malformed further on still counts: it was meant as the result, and the run is told it was too big
 * rather than that it was malformed.
 */
export class ResultLineScan {
  private phase: 'start' | 'object' | 'after' | 'no' = 'start';
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** The next string at depth 1 is a key (after `{` or `,`), else a value (after `:`). */
  private expectKey = false;
  /** Raw text of the depth-1 string being read, while short enough to be a key we care about. */
  private capture: string | null = null;
  private captureIsKey = false;
  private key: string | undefined;
  private hasResult = false;
  /** The top-level `type` when it is a string (classifyLine ignores any other). */
  private type: string | undefined;

  push(text: string): void {
    for (let i = 0; i < text.length && this.phase !== 'no'; i++) {
      const c = text[i];
      if (this.phase === 'start' || this.phase === 'after') {
        if (/\s/.test(c)) continue;
        if (this.phase === 'start' && c === '{') {
          this.phase = 'object';
          this.depth = 1;
          this.expectKey = true;
        } else this.phase = 'no'; // not an object, or something after it: JSON.parse refuses the line
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') {
          this.inString = false;
          this.endString();
          continue;
        } else if (this.capture === null) {
          // Not a string we look into: skip to its next quote or backslash.
          STRING_SPECIAL.lastIndex = i + 1;
          const next = STRING_SPECIAL.exec(text);
          i = next === null ? text.length : next.index - 1;
          continue;
        }
        if (this.capture !== null) this.capture = this.capture.length < 64 ? this.capture + c : null;
        continue;
      }
      switch (c) {
        case '"':
          this.inString = true;
          this.capture = this.depth === 1 ? '' : null;
          this.captureIsKey = this.depth === 1 && this.expectKey;
          break;
        case '{':
        case '[':
          this.depth += 1;
          break;
        case '}':
        case ']':
          this.depth -= 1;
          if (this.depth === 0) this.phase = 'after';
          break;
        case ',':
          if (this.depth === 1) this.expectKey = true;
          break;
        case ':':
          if (this.depth === 1) {
            this.expectKey = false;
            // A later duplicate wins in JSON.parse: a non-string `type` resets an earlier one.
            if (this.key === 'type') this.type = undefined;
          }
          break;
      }
    }
  }

  private endString(): void {
    if (this.depth !== 1) return;
    let value: string | undefined;
    if (this.capture !== null) {
      try {
        value = JSON.parse(`"${this.capture}"`) as string;
      } catch {
        value = undefined;
      }
    }
    this.capture = null;
    if (this.captureIsKey) {
      this.key = value;
      if (value === 'result') this.hasResult = true;
    } else if (this.key === 'type') this.type = value;
  }

  isResult(): boolean {
    return this.phase !== 'no' && this.phase !== 'start' && this.hasResult && (this.type === undefined || this.type === 'result');
  }
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);

/** PostgreSQL text and jsonb cannot hold NUL: an agent's NUL becomes U+FFFD, as invalid UTF-8 does. */
export const withoutNul = (text: string) => (text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text);

/** A `\u0000` escape in JSON text: preceded by an even number of backslashes, so not itself escaped. */
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;

export type LineResult = Pick<
  AdapterResult,
  'resultJson' | 'summary' | 'usage' | 'errorMessage' | 'errorCode' | 'errorFamily' | 'retryNotBefore' | 'session'
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

const LOG: { classified: ClassifiedLine } = Object.freeze({ classified: Object.freeze({ kind: 'log' as const }) });

export function classifyLine(line: string): ClassifiedLine {
  return readLine(line).classified;
}

/** classifyLine, with the parsed object of an event or result line (the sink reads sessions off it). */
function readLine(line: string): { classified: ClassifiedLine; value?: Record<string, unknown> } {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return LOG;
  let value: unknown;
  try {
    value = JSON.parse(trimmed.includes('\\u0000') ? trimmed.replace(NUL_ESCAPE, '$1\\ufffd') : trimmed);
  } catch {
    return LOG;
  }
  if (!isObject(value)) return LOG;
  const type = str(value.type);
  // `{"type":"result","result":...}` (stream-json style) is a result; any other typed line is an
  // event even if it carries a `result` field (e.g. a tool result), so it cannot clobber the run's.
  if ('result' in value && (type === undefined || type === 'result')) {
    return { classified: { kind: 'result', result: resultFields(value) }, value };
  }
  if (type !== undefined && !ENGINE_EVENT_TYPES.includes(type)) return { classified: { kind: 'event', event: eventFields(type, value) }, value };
  return LOG;
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
  // What this line alone says; LineSink.outcome() adds what the stream said before it (a model, Codex turns).
  const usage = usageFromReport(usageReportFromLine(value) ?? undefined);
  if (usage !== undefined) out.usage = usage;
  for (const key of ['errorMessage', 'errorCode', 'errorFamily', 'retryNotBefore'] as const) {
    if (str(value[key]) !== undefined) out[key] = str(value[key]);
  }
  return out;
}

/**
 * Feeds lines to the execution's callbacks; remembers the last result line, and what the lines said
 * about the agent's session (docs/engine.md §12.4) and its usage (§13.1).
 */
export class LineSink {
  result: LineResult | undefined;
  /** The latest session report on an event line (a CLI's init or thread line). */
  private eventSession: SessionReport | undefined;
  /** The session report on the line that is `result` now. */
  private resultSession: SessionReport | undefined;
  /**
   * What event lines said about usage, merged in order (a CLI's model, Codex's turn totals), and the
   * result lines a later one replaced: what they reported was used all the same.
   */
  private earlierUsage: UsageReport | undefined;
  /** The usage report on the line that is `result` now. */
  private resultUsage: UsageReport | undefined;

  constructor(
    private readonly execution: Pick<AdapterExecution<unknown>, 'onEvent' | 'onLog'>,
    private readonly stream: LogStream = 'stdout',
  ) {}

  line(line: string): void {
    this.lines([line]);
  }

  /** A splitter for this sink's stream: a result line over its limit becomes this run's failure. */
  splitter(maxLineChars = MAX_LINE_CHARS): LineSplitter {
    return new LineSplitter(maxLineChars, () => {
      // It is the stream's latest result line: like any result line, a later one replaces it.
      this.result = resultTooLarge(maxLineChars);
      this.resultSession = undefined;
      this.replaceResultUsage(undefined);
    });
  }

  /** The agent's session report so far: the result line's over the latest event's (combineSessionReports). */
  get session(): SessionReport | undefined {
    return combineSessionReports(this.eventSession, this.resultSession);
  }

  /** The run's result as its lines tell it: the last result line's fields, the session report and the usage. */
  outcome(): LineResult {
    const outcome: LineResult = { ...this.result };
    // The result line is the agent's last word on usage too, over what event lines said.
    const usage = usageFromReport(combineUsageReports(this.earlierUsage, this.resultUsage));
    if (usage !== undefined) outcome.usage = usage;
    const session = this.session;
    return session ? { ...outcome, session } : outcome;
  }

  /**
   * Consecutive log lines go out as one chunk, so a flood of short lines costs a few chunks instead
   * of one per line; a chunk stays small enough to be stored and published whole (spec §6.5).
   */
  lines(lines: string[]): void {
    let logged = '';
    for (const raw of lines) {
      const line = withoutNul(raw);
      const { classified, value } = readLine(line);
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
      const session = value && sessionReportFromLine(value);
      const usage = (value && usageReportFromLine(value)) ?? undefined;
      if (classified.kind === 'event') {
        this.execution.onEvent(classified.event);
        if (session) this.eventSession = session;
        this.earlierUsage = combineUsageReports(this.earlierUsage, usage);
      } else {
        this.result = classified.result;
        this.resultSession = session ?? undefined;
        this.replaceResultUsage(usage);
      }
    }
    if (logged !== '') this.execution.onLog(this.stream, logged);
  }

  private replaceResultUsage(usage: UsageReport | undefined): void {
    this.earlierUsage = combineUsageReports(this.earlierUsage, this.resultUsage);
    this.resultUsage = usage;
  }
}
