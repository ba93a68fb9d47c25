// The wire protocol shared by the process and http adapters: the run context goes out as one JSON
// object; what comes back is a stream of lines, each an event, the result, or plain log output.
import { StringDecoder } from 'node:string_decoder';
import type { AdapterEvent, AdapterExecution, AdapterResult, LogStream } from './types.ts';

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

/** Splits a byte stream into lines. UTF-8 safe across chunk boundaries; strips a trailing `\r`. */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  /** Returns the lines completed by this chunk. */
  push(chunk: Uint8Array | string): string[] {
    const text = this.pending + (typeof chunk === 'string' ? chunk : this.decoder.write(Buffer.from(chunk)));
    const parts = text.split('\n');
    this.pending = parts.pop() ?? '';
    return parts.map(stripCr);
  }

  /** The final line when the stream ended without a newline (none if it was empty). */
  end(): string[] {
    const rest = this.pending + this.decoder.end();
    this.pending = '';
    return rest === '' ? [] : [stripCr(rest)];
  }
}

const stripCr = (line: string) => (line.endsWith('\r') ? line.slice(0, -1) : line);

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
    value = JSON.parse(trimmed);
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
  if (type !== undefined) return { kind: 'event', event: eventFields(type, value) };
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
    const classified = classifyLine(line);
    if (classified.kind === 'event') this.execution.onEvent(classified.event);
    else if (classified.kind === 'result') this.result = classified.result;
    else this.execution.onLog(this.stream, line + '\n');
  }

  lines(lines: string[]): void {
    for (const line of lines) this.line(line);
  }
}
