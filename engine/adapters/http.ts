// The `http` adapter: POSTs the run context to a URL and reads the agent's answer as NDJSON lines
// (or one JSON object), with the same line protocol as the process adapter.
import { z } from 'zod';
import { nonNegativeSeconds, parseWith, stringRecord, timerMs } from './config.ts';
import { classifyLine, LineSink, LineSplitter, runContextPayload } from './lines.ts';
import { REDACTED } from './redaction.ts';
import type { Adapter, AdapterExecution, AdapterResult } from './types.ts';

const httpConfigSchema = z.object({
  // Returning undefined for a missing url lets the shared 'Required' wording through.
  url: z.url({
    protocol: /^https?$/,
    error: (issue) => (issue.input === undefined ? undefined : 'Expected an http(s) URL'),
  }),
  headers: stringRecord.optional(),
  timeoutSec: nonNegativeSeconds.optional(),
});

export type HttpConfig = z.infer<typeof httpConfigSchema>;

const ERROR_BODY_CHARS = 500;

/** Reads at most `limit` characters of a body, then drops the rest of the stream. */
async function readPrefix(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return text.slice(0, limit);
}

/** Feeds the body to the sink: NDJSON line by line, a plain JSON body as one line. */
async function readBody(response: Response, sink: LineSink): Promise<void> {
  const contentType = response.headers.get('content-type') ?? '';
  if (/^application\/json\b/i.test(contentType)) {
    // May be pretty-printed over several lines; it is still one message (JSON strings hold no
    // raw newlines, so joining them changes nothing). A body that is not JSON is logged as is.
    const text = (await response.text()).trim();
    const joined = text.replace(/\r?\n\s*/g, ' ');
    if (classifyLine(joined).kind !== 'log') sink.line(joined);
    else if (text !== '') sink.lines(text.split(/\r?\n/));
    return;
  }
  if (!response.body) return;
  const splitter = new LineSplitter();
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sink.lines(splitter.push(value));
  }
  sink.lines(splitter.end());
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // undici says only "fetch failed"; the cause says why (ECONNREFUSED, ...).
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

async function execute(execution: AdapterExecution<HttpConfig>): Promise<AdapterResult> {
  const { config, signal } = execution;
  const headers = config.headers ?? {};
  execution.onMeta({
    adapter: 'http',
    url: config.url,
    headers: Object.fromEntries(Object.keys(headers).map((name) => [name, REDACTED])),
  });
  const cancelled = (): AdapterResult => ({ exitCode: null, errorMessage: 'Cancelled', errorCode: 'cancelled' });
  if (signal.aborted) return cancelled();

  // One controller for the whole exchange (request and streamed body): cancel or timeout abort it.
  const controller = new AbortController();
  let stop: 'cancel' | 'timeout' | undefined;
  const onAbort = () => {
    stop ??= 'cancel';
    controller.abort();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  const seconds = config.timeoutSec ?? 0;
  const timer =
    seconds > 0
      ? setTimeout(() => {
          stop ??= 'timeout';
          controller.abort();
        }, timerMs(seconds))
      : undefined;

  const sink = new LineSink(execution);
  try {
    const response = await fetch(config.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/x-ndjson, application/json',
        ...headers,
      },
      body: JSON.stringify(runContextPayload(execution)),
      signal: controller.signal,
    });
    if (!response.ok) {
      const body = await readPrefix(response, ERROR_BODY_CHARS);
      return {
        exitCode: null,
        errorMessage: `HTTP ${response.status} ${response.statusText}: ${body}`,
        errorCode: 'adapter_failed',
      };
    }
    await readBody(response, sink);
    return { ...sink.result, exitCode: 0 };
  } catch (error) {
    if (stop === 'cancel') return cancelled();
    if (stop === 'timeout') {
      return { exitCode: null, timedOut: true, errorMessage: `Timed out after ${seconds}s`, errorCode: 'timeout' };
    }
    const errorMessage = `HTTP request failed: ${describeError(error)}`;
    return { exitCode: null, errorMessage, errorCode: 'adapter_failed' };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

export const httpAdapter: Adapter<HttpConfig> = {
  type: 'http',
  localChild: false,
  parseConfig: (config) => parseWith(httpConfigSchema, config),
  timeoutSec: (config) => config.timeoutSec ?? 0,
  execute,
};
