// The wire protocol shared by the process and http adapters: the run context goes out as one JSON
// object; what comes back is a stream of lines, each an event, the result, or plain log output.
import { LineSplitter, MAX_LINE_CHARS } from './line-splitter.ts';
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

const LOG: ClassifiedLine = Object.freeze({ kind: 'log' as const });

export function classifyLine(line: string): ClassifiedLine {
  const value = parseObjectLine(line);
  return value === undefined ? LOG : classifyObject(value);
}

/** The JSON object a line holds, or undefined (not JSON, or JSON but not an object). */
export function parseObjectLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(trimmed.includes('\\u0000') ? trimmed.replace(NUL_ESCAPE, '$1\\ufffd') : trimmed);
  } catch {
    return undefined;
  }
  return isObject(value) ? value : undefined;
}

/** classifyLine for a line's parsed object. */
function classifyObject(value: Record<string, unknown>): ClassifiedLine {
  const type = str(value.type);
  // `{"type":"result","result":...}` (stream-json style) is a result; any other typed line is an
  // event even if it carries a `result` field (e.g. a tool result), so it cannot clobber the run's.
  if ('result' in value && (type === undefined || type === 'result')) {
    return { kind: 'result', result: resultFields(value) };
  }
  if (type !== undefined && !ENGINE_EVENT_TYPES.includes(type)) return { kind: 'event', event: eventFields(type, value) };
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

/** What a mapper makes of one JSON line: the events it becomes, and the result when it states one. */
export interface MappedLine {
  /** Events to report for the line, in order (none: the line is read for its session and usage only). */
  events: AdapterEvent[];
  /** The run's result as this line states it, replacing an earlier one, as a result line does. */
  result?: LineResult;
}

/**
 * A stream's own reading of its lines, over the default rules (classifyLine): the claude_code and
 * codex adapters turn their CLI's JSON messages into run events and a result (coding-cli.ts). One
 * mapper per run: it may remember what earlier lines said. What a line says of the session and usage
 * (cli-streams.ts) is read off it by the sink either way.
 */
export interface LineMapper {
  /** The line's meaning; undefined: the default rules apply (an event of its own type, a result, log). */
  map(value: Record<string, unknown>): MappedLine | undefined;
  /** The result the stream leaves when no line stated one (say, an error event of a stream cut short). */
  end?(): LineResult | undefined;
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
    /** The stream's own reading of its JSON lines (none: the default rules for every line). */
    private readonly mapper?: LineMapper,
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
    const outcome: LineResult = { ...(this.result ?? this.mapper?.end?.()) };
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
      const value = parseObjectLine(line);
      const read = value === undefined ? undefined : this.read(value);
      if (read === undefined) {
        if (logged !== '' && logged.length + line.length >= LOG_CHUNK_LIMITS.live) {
          this.execution.onLog(this.stream, logged);
          logged = '';
        }
        logged += line + '\n';
        continue;
      }
      if (logged !== '') this.execution.onLog(this.stream, logged);
      logged = '';
      const session = sessionReportFromLine(value!);
      const usage = usageReportFromLine(value!) ?? undefined;
      for (const event of read.events) this.execution.onEvent(event);
      if (read.result === undefined) {
        if (session) this.eventSession = session;
        this.earlierUsage = combineUsageReports(this.earlierUsage, usage);
      } else {
        this.result = read.result;
        this.resultSession = session ?? undefined;
        this.replaceResultUsage(usage);
      }
    }
    if (logged !== '') this.execution.onLog(this.stream, logged);
  }

  /** What a JSON object line is: the mapper's reading, else the default rules'; undefined: log output. */
  private read(value: Record<string, unknown>): MappedLine | undefined {
    const mapped = this.mapper?.map(value);
    if (mapped !== undefined) return mapped;
    const classified = classifyObject(value);
    if (classified.kind === 'event') return { events: [classified.event] };
    if (classified.kind === 'result') return { events: [], result: classified.result };
    return undefined;
  }

  private replaceResultUsage(usage: UsageReport | undefined): void {
    this.earlierUsage = combineUsageReports(this.earlierUsage, this.resultUsage);
    this.resultUsage = usage;
  }
}
