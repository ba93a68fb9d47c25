// OpenTelemetry traces of runs (README, Tracing): every span the engine makes is made here, so the
// rest of the engine calls a few functions and knows nothing of OpenTelemetry. A run's trace starts
// at its wakeup: the enqueue's span (`heartbeat.wakeup.enqueue`, a child of the GraphQL operation
// that asked for it) is stored as a W3C `traceparent` in the run's context (`context_snapshot`),
// and the claim, the execution and the finish of the run, whichever instance does them and
// whenever, are children of it. The agent gets the execution span's `traceparent` (TRACEPARENT,
// or the http agent's `traceparent` header), so its own spans are children of that one.
//
// Off (no OTLP endpoint configured: telemetry/sdk.ts never set a tracer) every function here is a
// check of one variable, and the engine's statements are the same: nothing is read or written for
// tracing. Spans of steps that run for many runs at once (the claim, the finish) are recorded once
// the step is over, with its start time: the step itself is not touched.
import { type Attributes, context, type Context, propagation, ROOT_CONTEXT, type Span, SpanStatusCode, trace, type Tracer, type TracerProvider } from '@opentelemetry/api';

/** The instrumentation scope of the engine's spans. */
export const TRACER_NAME = 'heartbeat';

/** Span names. */
export const SPAN = {
  enqueue: 'heartbeat.wakeup.enqueue',
  claim: 'heartbeat.run.claim',
  execute: 'heartbeat.run.execute',
  finish: 'heartbeat.run.finish',
} as const;

/** Attribute names. */
export const ATTR = {
  runId: 'heartbeat.run.id',
  agentId: 'heartbeat.agent.id',
  companyId: 'heartbeat.company.id',
  issueId: 'heartbeat.issue.id',
  wakeupId: 'heartbeat.wakeup.id',
  wakeupSource: 'heartbeat.wakeup.source',
  wakeupReason: 'heartbeat.wakeup.reason',
  wakeupOutcome: 'heartbeat.wakeup.outcome',
  adapterType: 'heartbeat.adapter.type',
  exitCode: 'heartbeat.adapter.exit_code',
  adapterErrorCode: 'heartbeat.adapter.error_code',
  runStatus: 'heartbeat.run.status',
  runErrorCode: 'heartbeat.run.error_code',
  livenessState: 'heartbeat.run.liveness_state',
} as const;

/** The context key a run's wakeup span is stored under (`context_snapshot.traceparent`). */
export const TRACEPARENT_KEY = 'traceparent';

let active: { provider: TracerProvider; tracer: Tracer } | null = null;

/** Turns tracing on with `provider`, or off with null (telemetry/sdk.ts). */
export function useTracerProvider(provider: TracerProvider | null): void {
  active = provider ? { provider, tracer: provider.getTracer(TRACER_NAME) } : null;
}

/** The provider spans go to; null while tracing is off (the GraphQL layer adds its plugin only with one). */
export function tracerProvider(): TracerProvider | null {
  return active?.provider ?? null;
}

/** What the spans of a run say about it: a run row has all of it. */
export interface TracedRun {
  id: string;
  companyId: string;
  agentId: string;
  issueId: string | null;
  wakeupRequestId: string | null;
  contextSnapshot: Record<string, unknown> | null;
  status?: string;
  errorCode?: string | null;
  livenessState?: string | null;
}

function runAttributes(run: TracedRun): Attributes {
  const issueId = run.issueId ?? (typeof run.contextSnapshot?.issueId === 'string' ? run.contextSnapshot.issueId : null);
  return {
    [ATTR.runId]: run.id,
    [ATTR.agentId]: run.agentId,
    [ATTR.companyId]: run.companyId,
    ...(issueId ? { [ATTR.issueId]: issueId } : {}),
    ...(run.wakeupRequestId ? { [ATTR.wakeupId]: run.wakeupRequestId } : {}),
  };
}

/** The W3C traceparent of `ctx`'s span (by default the active one); undefined without a span or while off. */
export function traceparentOf(ctx: Context = context.active()): string | undefined {
  if (!active || !trace.getSpanContext(ctx)) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier.traceparent;
}

/**
 * Stores the active span's traceparent in a run's context as it is queued (the enqueue's span):
 * the run's later spans are its children. Returns `ctx`, changed only while tracing is on.
 */
export function withTraceparent<T extends Record<string, unknown>>(ctx: T): T {
  if (!active) return ctx;
  const traceparent = traceparentOf();
  if (traceparent) (ctx as Record<string, unknown>)[TRACEPARENT_KEY] = traceparent;
  return ctx;
}

/** The context the run's spans are children of: its wakeup's span, from the stored traceparent. */
function parentOf(run: TracedRun): Context {
  const traceparent = run.contextSnapshot?.[TRACEPARENT_KEY];
  return typeof traceparent === 'string' ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

function ended<T>(span: Span, work: Promise<T>, describe?: (result: T) => { attributes?: Attributes; error?: string | null }): Promise<T> {
  return work.then(
    (result) => {
      const said = describe?.(result);
      if (said?.attributes) span.setAttributes(said.attributes);
      if (said?.error) span.setStatus({ code: SpanStatusCode.ERROR, message: said.error });
      span.end();
      return result;
    },
    (error: unknown) => {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
      span.end();
      throw error;
    },
  );
}

function within<T>(ctx: Context, fn: () => Promise<T>): Promise<T> {
  try {
    return context.with(ctx, fn);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * `enqueue` (a wakeup request) inside the span `heartbeat.wakeup.enqueue`, a child of the active
 * span (the GraphQL operation's, when the request came through the API). The run it queues stores
 * this span's traceparent (withTraceparent); the span says what became of the request.
 */
export function wakeupSpan<T extends { outcome: string; wakeupRequest: { id: string }; run: TracedRun | null }>(
  request: { companyId: string; agentId: string; source?: string | null; reason?: string | null },
  enqueue: () => Promise<T>,
): Promise<T> {
  if (!active) return enqueue();
  const parent = context.active();
  const span = active.tracer.startSpan(
    SPAN.enqueue,
    {
      attributes: {
        [ATTR.companyId]: request.companyId,
        [ATTR.agentId]: request.agentId,
        [ATTR.wakeupSource]: request.source ?? 'on_demand',
        ...(request.reason ? { [ATTR.wakeupReason]: request.reason } : {}),
      },
    },
    parent,
  );
  return ended(span, within(trace.setSpan(parent, span), enqueue), (result) => ({
    // The run it became or joined (a coalesced request joins a run another wakeup queued).
    attributes: { ...(result.run ? runAttributes(result.run) : {}), [ATTR.wakeupOutcome]: result.outcome, [ATTR.wakeupId]: result.wakeupRequest.id },
  }));
}

/**
 * `execute` (the adapter's execution of the run) inside the span `heartbeat.run.execute`, a child
 * of the run's wakeup; it gets that span's traceparent for the agent (undefined while off).
 */
export function executionSpan<T extends { exitCode?: number | null; errorCode?: string | null }>(
  run: TracedRun,
  adapterType: string,
  execute: (traceparent: string | undefined) => Promise<T>,
): Promise<T> {
  if (!active) return execute(undefined);
  const parent = parentOf(run);
  const span = active.tracer.startSpan(SPAN.execute, { attributes: { ...runAttributes(run), [ATTR.adapterType]: adapterType } }, parent);
  const ctx = trace.setSpan(parent, span);
  return ended(span, within(ctx, () => execute(traceparentOf(ctx))), (result) => ({
    attributes: {
      ...(result.exitCode != null ? { [ATTR.exitCode]: result.exitCode } : {}),
      ...(result.errorCode ? { [ATTR.adapterErrorCode]: result.errorCode } : {}),
    },
    error: result.errorCode,
  }));
}

/** When tracing is on, the start of a step recorded afterwards (recordClaims, recordFinishes); undefined while off. */
export function stepStart(): number | undefined {
  return active ? performance.now() : undefined;
}

function record(name: string, start: number, run: TracedRun, attributes?: Attributes, error?: string | null): void {
  const span = active!.tracer.startSpan(name, { startTime: start, attributes: { ...runAttributes(run), ...attributes } }, parentOf(run));
  if (error) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}

/** One span `heartbeat.run.claim` per run a claim took, from `start` (stepStart) to now. */
export function recordClaims(start: number | undefined, runs: Iterable<TracedRun>): void {
  if (start === undefined || !active) return;
  for (const run of runs) record(SPAN.claim, start, run);
}

/** One span `heartbeat.run.finish` per run a finish wrote (terminal, or found ended), from `start` to now, with its status. */
export function recordFinishes(start: number | undefined, runs: Iterable<TracedRun>): void {
  if (start === undefined || !active) return;
  for (const run of runs) {
    const failed = run.status === 'failed' || run.status === 'timed_out';
    record(
      SPAN.finish,
      start,
      run,
      {
        ...(run.status ? { [ATTR.runStatus]: run.status } : {}),
        ...(run.errorCode ? { [ATTR.runErrorCode]: run.errorCode } : {}),
        ...(run.livenessState ? { [ATTR.livenessState]: run.livenessState } : {}),
      },
      failed ? (run.errorCode ?? run.status) : null,
    );
  }
}
