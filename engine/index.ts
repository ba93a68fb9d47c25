// The engine's one door: schema/, server/ and bench/ import the engine through this file (types
// included), so what the rest of the product may use of the engine is listed here and nowhere else.
export { redactAdapterConfig } from './adapters/redaction.ts';
export { scriptAdapter } from './adapters/script.ts';
export type { Adapter } from './adapters/types.ts';
export { MIN_API_KEY_LENGTH, authenticateBearer, createApiKey, generateApiKey, parseBearer, revokeApiKey } from './access/api-keys.ts';
export type { Authentication, CreatedApiKey } from './access/api-keys.ts';
export { bootstrapIfEmpty } from './access/bootstrap.ts';
export type { BootstrapResult } from './access/bootstrap.ts';
export { isDatabaseUnavailable } from './store/database-unavailable.ts';
export { Engine } from './engine.ts';
export type { EngineOptions } from './engine.ts';
export { HeartbeatError, badInput, forbidden, notFound, unauthenticated } from './model/errors.ts';
export { changedRunSignals } from './live/live-catch-up.ts';
export type { LiveEvent, LiveEventBus, RunStateSnapshot } from './live/live-events.ts';
export { signalMatches, signalOf } from './live/live-signals.ts';
export type { LiveFeed, LiveSignal, SignalFilter } from './live/live-signals.ts';
export { readHeartbeatPolicy } from './rules/heartbeat-policy.ts';
export { groupAlive } from './adapters/process-groups.ts';
export type { HeartbeatPolicy } from './rules/heartbeat-policy.ts';
export type { ApiKeyPrincipal, Principal, RunTokenPrincipal } from './access/principal.ts';
export { DEFAULT_REQUEST_TIMEOUT_MS, RequestDeadline, RequestTimeoutError, currentRequestDeadline, requestDeadlineGuard, runWithRequestDeadline } from './store/request-deadline.ts';
export { readRunLog } from './runs/output.ts';
export { BOUNDED_RETRY_MAX_ATTEMPTS, RETRY_EXHAUSTED_PREFIX, safeResultJson } from './model/run-read-model.ts';
export { isTerminal, runStateSnapshot } from './model/runs.ts';
export type { RunRow } from './model/runs.ts';
export { enrichWakeContext } from './rules/wake-context.ts';
export type { EnqueueResult } from './wakeups/enqueue.ts';
