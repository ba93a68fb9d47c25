// The `http` adapter: POSTs the run context to a URL and reads the agent's answer as NDJSON lines
// (or one JSON object), with the same line protocol as the process adapter.
import { ADDRESS_REFUSED, OUTBOUND_SETTINGS, OutboundAddressRefused, type OutboundRules, outboundRules } from './outbound-address.ts';
import { Agent } from 'undici';
import { z } from 'zod';
import { nonNegativeSeconds, parseWith, timerMs } from './config.ts';
import { classifyLine, LineSink, runContextPayload } from './lines.ts';
import { MAX_LINE_CHARS } from './line-splitter.ts';
import { REDACTED, redactUrl } from './redaction.ts';
import type { Adapter, AdapterExecution, AdapterResult } from './types.ts';

// RFC 9110 field names (tokens) and values (visible characters, spaces, tabs). fetch refuses anything
// else with an error that quotes the value, which may be a secret: refuse it here, naming only the field.
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;
const headersSchema = z.record(
  z.string().regex(headerName),
  z.string().regex(headerValue, 'Expected a header value without control characters'),
  { error: (issue) => (issue.code === 'invalid_key' ? 'Expected a header name (letters, digits, -)' : undefined) },
);

export const httpConfigSchema = z.strictObject({
  // Returning undefined for a missing url lets the shared 'Required' wording through.
  url: z
    .url({
      protocol: /^https?$/,
      error: (issue) => (issue.input === undefined ? undefined : 'Expected an http(s) URL'),
    })
    // fetch refuses them, quoting the URL in its error; they would also show in the adapter.invoke event.
    .refine((url) => {
      if (!URL.canParse(url)) return true; // already refused above
      const { username, password } = new URL(url);
      return username === '' && password === '';
    }, 'Credentials in the URL are not sent; put them in headers'),
  headers: headersSchema.optional(),
  timeoutSec: nonNegativeSeconds.optional(),
});

export type HttpConfig = z.infer<typeof httpConfigSchema>;

const ERROR_BODY_CHARS = 500;

/**
 * fetch's own client gives up on an endpoint silent for 300 s (before its headers, or between two
 * chunks): an agent may think longer than that. The run's timeoutSec (0: none) is the only limit.
 */
const withoutIdleLimits = { headersTimeout: 0, bodyTimeout: 0 };
const defaultRules = outboundRules();
/** One connection pool per set of outbound rules (the engine has one). */
const dispatchers = new WeakMap<OutboundRules, Agent>();
const dispatcherFor = (rules: OutboundRules) => {
  let dispatcher = dispatchers.get(rules);
  if (!dispatcher) dispatchers.set(rules, (dispatcher = rules.dispatcher(withoutIdleLimits)));
  return dispatcher;
};

/** Statuses by which an endpoint says "later": the run fails as transient, not before its Retry-After. */
const TRANSIENT_STATUSES = new Set([429, 503]);

/** Retry-After (seconds, or an HTTP date, which opens with the day's name) as an ISO time, if usable. */
function retryAfter(value: string | null): string | undefined {
  const text = value?.trim() ?? '';
  const ms = /^\d+$/.test(text) ? Date.now() + Number(text) * 1000 : /^[a-z]{3}/i.test(text) ? Date.parse(text) : NaN;
  const at = new Date(ms);
  return Number.isNaN(at.getTime()) ? undefined : at.toISOString();
}

// Control characters (NUL above all, which PostgreSQL text refuses) have no place in an error message.
const controlChars = /[\x00-\x08\x0b-\x1f\x7f]/g;

/** The first `limit` characters of a body (complete: there was no more), then drops the rest of the stream. */
async function readPrefix(response: Response, limit: number): Promise<{ text: string; complete: boolean }> {
  if (!response.body) return { text: '', complete: true };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  let complete = false;
  try {
    while (text.length <= limit) {
      const { done, value } = await reader.read();
      if (done) {
        text += decoder.decode();
        complete = true;
        break;
      }
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return { text: text.slice(0, limit), complete: complete && text.length <= limit };
}


/** Feeds the body to the sink: NDJSON line by line, a plain JSON body as one line. */
async function readBody(response: Response, sink: LineSink, execution: AdapterExecution<HttpConfig>): Promise<void> {
  const contentType = response.headers.get('content-type') ?? '';
  if (/^application\/json\b/i.test(contentType)) {
    // Held whole to be parsed, so bounded like a line.
    const { text: body, complete } = await readPrefix(response, MAX_LINE_CHARS);
    if (!complete) {
      sink.line(`${body} [heartbeat dropped the rest of a JSON body over ${MAX_LINE_CHARS / (1024 * 1024)} MiB]`);
      return;
    }
    // May be pretty-printed over several lines; it is still one message (JSON strings hold no
    // raw newlines, so joining them changes nothing). A body that is not JSON is logged as is.
    const text = body.trim();
    const joined = text.replace(/\r?\n\s*/g, ' ');
    if (classifyLine(joined).kind !== 'log') sink.line(joined);
    else if (text !== '') sink.lines(text.split(/\r?\n/));
    return;
  }
  if (!response.body) return;
  // The splitter holds at most MAX_LINE_CHARS of a line: an endless line costs no more than a long one.
  // A result line over it fails the run (result_too_large), as for the process adapter.
  const splitter = sink.splitter();
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    sink.lines(splitter.push(value));
    // Events come faster than the run can store them: read on once it has caught up.
    await execution.backlog?.();
  }
  sink.lines(splitter.end());
}

/** A non-2xx answer as the run's failure; 3xx are not followed (see the fetch below). */
async function failure(response: Response): Promise<AdapterResult> {
  const status = `HTTP ${response.status} ${response.statusText}`;
  const location = response.headers.get('location');
  if (response.status >= 300 && response.status < 400 && location !== null) {
    await response.body?.cancel().catch(() => {});
    const to = location.slice(0, ERROR_BODY_CHARS).replace(controlChars, '');
    return { exitCode: null, errorMessage: `${status}: redirects are not followed (to ${to})`, errorCode: 'adapter_failed' };
  }
  const { text } = await readPrefix(response, ERROR_BODY_CHARS);
  const result: AdapterResult = {
    exitCode: null,
    errorMessage: `${status}: ${text.replace(controlChars, '')}`,
    errorCode: 'adapter_failed',
  };
  if (!TRANSIENT_STATUSES.has(response.status)) return result;
  const notBefore = retryAfter(response.headers.get('retry-after'));
  return { ...result, errorFamily: 'transient_upstream', ...(notBefore && { retryNotBefore: notBefore }) };
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
    url: redactUrl(config.url),
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
  const rules = execution.outbound ?? defaultRules;
  try {
    // A literal address is checked here (a name, on each address it resolves to, as it connects).
    rules.checkUrl(config.url);
    const response = await fetch(config.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/x-ndjson, application/json',
        ...headers,
        // The run's execution span (tracing on, README Tracing): the agent's spans become its children.
        ...(execution.traceparent ? { traceparent: execution.traceparent } : {}),
      },
      body: JSON.stringify(runContextPayload(execution)),
      // Followed, a 301/302 drops the run context (POST becomes GET) and a 307/308 carries the run
      // token and the secret headers to wherever it points: the configured URL is the endpoint.
      redirect: 'manual',
      signal: controller.signal,
      dispatcher: dispatcherFor(rules),
    } as RequestInit);
    if (!response.ok) return await failure(response);
    await readBody(response, sink, execution);
    return { ...sink.outcome(), exitCode: 0 };
  } catch (error) {
    if (stop === 'cancel') return cancelled();
    if (stop === 'timeout') {
      return { exitCode: null, timedOut: true, errorMessage: `Timed out after ${seconds}s`, errorCode: 'timeout' };
    }
    const refused = error instanceof OutboundAddressRefused ? error : error instanceof Error && error.cause instanceof OutboundAddressRefused ? error.cause : null;
    if (refused) return { exitCode: null, errorMessage: `HTTP request refused: ${refused.message}; nothing was sent (see ${OUTBOUND_SETTINGS})`, errorCode: ADDRESS_REFUSED };
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
  readStoredConfig: (config) => parseWith(httpConfigSchema, config, 'adapterConfig', 'ignore'),
  timeoutSec: (config) => config.timeoutSec ?? 0,
  execute,
};
