// The OpenTelemetry SDK of a Heartbeat process (README, Tracing): configured from the standard
// OTEL_* environment variables, started only when an OTLP endpoint is configured, and shut down
// (its spans exported) when the server closes. The SDK's packages are loaded only when it starts:
// with tracing off nothing of it is in the process but the API's no-op (telemetry/tracing.ts).
//
// The API's globals (tracer provider, context manager, propagator) are per process: the servers of
// one process share one SDK, started by the first of them, flushed by each as it closes and shut
// down by the last (tests start several servers in one process).
import type { TracerProvider } from '@opentelemetry/api';
import { useTracerProvider } from './tracing.ts';

/** What the OTEL_* variables ask for; null from tracingSettingsFrom: tracing is off. */
export interface TracingSettings {
  /** Where spans are sent: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
  url: string;
  /** OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL: http/protobuf (the default) or http/json. */
  protocol: 'http/protobuf' | 'http/json';
  /** OTEL_TRACES_EXPORTER: otlp (the default), console, or both. */
  exporters: Array<'otlp' | 'console'>;
  /** OTEL_EXPORTER_OTLP_HEADERS, then OTEL_EXPORTER_OTLP_TRACES_HEADERS over them. */
  headers: Record<string, string>;
  /** OTEL_EXPORTER_OTLP_(TRACES_)TIMEOUT, ms. */
  timeoutMillis?: number;
  /** OTEL_EXPORTER_OTLP_(TRACES_)COMPRESSION. */
  compression?: 'gzip' | 'none';
  /** OTEL_SERVICE_NAME (default `heartbeat`), over OTEL_RESOURCE_ATTRIBUTES. */
  resource: Record<string, string>;
  /** OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (default parentbased_always_on). */
  sampler: { name: SamplerName; ratio: number };
  /** OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE. */
  batch: { scheduledDelayMillis?: number; exportTimeoutMillis?: number; maxQueueSize?: number; maxExportBatchSize?: number };
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;
type SamplerName = (typeof SAMPLERS)[number];

export class TracingSettingsError extends Error {
  override name = 'TracingSettingsError';
}

/** `k1=v1,k2=v2`, each part percent-decoded (the W3C baggage form the OTEL_* lists use). */
function keyValues(name: string, text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (text ?? '').split(',')) {
    if (part.trim() === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) throw new TracingSettingsError(`${name}: "${part.trim()}" is not key=value`);
    try {
      out[decodeURIComponent(part.slice(0, at).trim())] = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      throw new TracingSettingsError(`${name}: "${part.trim()}" is not percent-encoded`);
    }
  }
  return out;
}

function count(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new TracingSettingsError(`${name}: must be an integer of at least ${min}`);
  return value;
}

function httpUrl(name: string, text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new TracingSettingsError(`${name}: must be an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TracingSettingsError(`${name}: must be an http:// or https:// URL`);
  return url.toString();
}

/**
 * The tracing settings the OTEL_* variables of `env` ask for, or null when tracing is off: no OTLP
 * endpoint, OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none. Empty values count as unset.
 * Throws TracingSettingsError on a value it cannot use.
 */
export function tracingSettingsFrom(env: Record<string, string | undefined>): TracingSettings | null {
  const get = (name: string) => (env[name] === undefined || env[name].trim() === '' ? undefined : env[name].trim());
  const tracesEndpoint = get('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
  const endpoint = get('OTEL_EXPORTER_OTLP_ENDPOINT');
  if (tracesEndpoint === undefined && endpoint === undefined) return null;
  const disabled = get('OTEL_SDK_DISABLED')?.toLowerCase();
  if (disabled === 'true') return null;
  if (disabled !== undefined && disabled !== 'false') throw new TracingSettingsError('OTEL_SDK_DISABLED: must be true or false');
  const exporterNames = (get('OTEL_TRACES_EXPORTER') ?? 'otlp').split(',').map((name) => name.trim().toLowerCase()).filter((name) => name !== '');
  if (exporterNames.includes('none')) return null;
  const exporters = [...new Set(exporterNames)].map((name) => {
    if (name !== 'otlp' && name !== 'console') throw new TracingSettingsError(`OTEL_TRACES_EXPORTER: "${name}" is not supported (otlp, console or none)`);
    return name;
  });
  const protocolName = get('OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ? 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL' : 'OTEL_EXPORTER_OTLP_PROTOCOL';
  const protocol = get(protocolName) ?? 'http/protobuf';
  if (protocol !== 'http/protobuf' && protocol !== 'http/json') {
    throw new TracingSettingsError(`${protocolName}: "${protocol}" is not supported (http/protobuf or http/json; grpc is not)`);
  }
  const url = tracesEndpoint !== undefined
    ? httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', tracesEndpoint)
    : `${httpUrl('OTEL_EXPORTER_OTLP_ENDPOINT', endpoint!).replace(/\/$/, '')}/v1/traces`;
  const timeoutName = get('OTEL_EXPORTER_OTLP_TRACES_TIMEOUT') ? 'OTEL_EXPORTER_OTLP_TRACES_TIMEOUT' : 'OTEL_EXPORTER_OTLP_TIMEOUT';
  const compressionName = get('OTEL_EXPORTER_OTLP_TRACES_COMPRESSION') ? 'OTEL_EXPORTER_OTLP_TRACES_COMPRESSION' : 'OTEL_EXPORTER_OTLP_COMPRESSION';
  const compression = get(compressionName);
  if (compression !== undefined && compression !== 'gzip' && compression !== 'none') throw new TracingSettingsError(`${compressionName}: must be gzip or none`);
  const samplerName = (get('OTEL_TRACES_SAMPLER') ?? 'parentbased_always_on').toLowerCase();
  if (!(SAMPLERS as readonly string[]).includes(samplerName)) throw new TracingSettingsError(`OTEL_TRACES_SAMPLER: "${samplerName}" is not supported (${SAMPLERS.join(', ')})`);
  const ratioText = get('OTEL_TRACES_SAMPLER_ARG');
  const ratio = ratioText === undefined ? 1 : Number(ratioText);
  if (!(ratio >= 0 && ratio <= 1)) throw new TracingSettingsError('OTEL_TRACES_SAMPLER_ARG: must be a number from 0 to 1');
  return {
    url,
    protocol,
    exporters,
    headers: { ...keyValues('OTEL_EXPORTER_OTLP_HEADERS', get('OTEL_EXPORTER_OTLP_HEADERS')), ...keyValues('OTEL_EXPORTER_OTLP_TRACES_HEADERS', get('OTEL_EXPORTER_OTLP_TRACES_HEADERS')) },
    timeoutMillis: count(timeoutName, get(timeoutName), 1),
    compression,
    resource: { ...keyValues('OTEL_RESOURCE_ATTRIBUTES', get('OTEL_RESOURCE_ATTRIBUTES')), 'service.name': get('OTEL_SERVICE_NAME') ?? 'heartbeat' },
    sampler: { name: samplerName as SamplerName, ratio },
    batch: {
      scheduledDelayMillis: count('OTEL_BSP_SCHEDULE_DELAY', get('OTEL_BSP_SCHEDULE_DELAY'), 0),
      exportTimeoutMillis: count('OTEL_BSP_EXPORT_TIMEOUT', get('OTEL_BSP_EXPORT_TIMEOUT'), 0),
      maxQueueSize: count('OTEL_BSP_MAX_QUEUE_SIZE', get('OTEL_BSP_MAX_QUEUE_SIZE'), 1),
      maxExportBatchSize: count('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', get('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'), 1),
    },
  };
}

/** Where the SDK reports its own trouble (a collector that cannot be reached, ...). */
export interface TracingLogger {
  warn(object: Record<string, unknown>, message: string): void;
  debug(object: Record<string, unknown>, message: string): void;
}

export interface Tracing {
  provider: TracerProvider;
  /** Exports the spans ended so far. */
  flush(): Promise<void>;
  /** Flushes; the last server of the process to close also shuts the SDK down. */
  close(): Promise<void>;
}

interface Shared {
  provider: TracerProvider & { forceFlush(): Promise<void>; shutdown(): Promise<void> };
  users: number;
  stop(): void;
}

let shared: Promise<Shared> | null = null;

/** Starts the process's SDK with `settings` (or joins the one started already) and turns tracing on. */
export async function startTracing(settings: TracingSettings, logger: TracingLogger): Promise<Tracing> {
  shared ??= createSdk(settings, logger).catch((error: unknown) => {
    shared = null;
    throw error;
  });
  const sdk = await shared;
  sdk.users += 1;
  let closing: Promise<void> | undefined;
  return {
    provider: sdk.provider,
    flush: () => sdk.provider.forceFlush(),
    close: () =>
      (closing ??= (async () => {
        sdk.users -= 1;
        if (sdk.users > 0) return sdk.provider.forceFlush();
        shared = null;
        useTracerProvider(null);
        try {
          await sdk.provider.shutdown();
        } finally {
          sdk.stop();
        }
      })()),
  };
}

async function createSdk(settings: TracingSettings, logger: TracingLogger): Promise<Shared> {
  const [api, node, resources] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/resources'),
  ]);
  const exporterOptions = {
    url: settings.url,
    headers: settings.headers,
    ...(settings.timeoutMillis !== undefined ? { timeoutMillis: settings.timeoutMillis } : {}),
    ...(settings.compression !== undefined ? { compression: settings.compression as never } : {}),
  };
  const spanProcessors = await Promise.all(
    settings.exporters.map(async (name) => {
      if (name === 'console') return new node.SimpleSpanProcessor(new node.ConsoleSpanExporter());
      const { OTLPTraceExporter } =
        settings.protocol === 'http/json' ? await import('@opentelemetry/exporter-trace-otlp-http') : await import('@opentelemetry/exporter-trace-otlp-proto');
      return new node.BatchSpanProcessor(new OTLPTraceExporter(exporterOptions), settings.batch);
    }),
  );
  const { name, ratio } = settings.sampler;
  const root = name.endsWith('always_off') ? new node.AlwaysOffSampler() : name.endsWith('traceidratio') ? new node.TraceIdRatioBasedSampler(ratio) : new node.AlwaysOnSampler();
  const sampler = name.startsWith('parentbased_') ? new node.ParentBasedSampler({ root }) : root;
  const provider = new node.NodeTracerProvider({
    resource: resources.defaultResource().merge(resources.resourceFromAttributes(settings.resource)),
    sampler,
    spanProcessors,
  });
  // The SDK's own messages (an export that failed, ...) go to the server's log.
  api.diag.setLogger(
    {
      error: (message, ...args) => logger.warn({ otel: args.map(String) }, `opentelemetry: ${message}`),
      warn: (message, ...args) => logger.warn({ otel: args.map(String) }, `opentelemetry: ${message}`),
      info: (message, ...args) => logger.debug({ otel: args.map(String) }, `opentelemetry: ${message}`),
      debug: () => {},
      verbose: () => {},
    },
    { logLevel: api.DiagLogLevel.WARN, suppressOverrideMessage: true },
  );
  // Global: the context manager (AsyncLocalStorage) carries the active span across awaits, and the
  // W3C propagator reads and writes traceparent.
  provider.register();
  useTracerProvider(provider);
  return {
    provider,
    users: 0,
    // Lets a later start in this process register again.
    stop: () => {
      api.trace.disable();
      api.context.disable();
      api.propagation.disable();
      api.diag.disable();
    },
  };
}
