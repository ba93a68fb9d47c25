// The engine's one door: schema/, server/ and bench/ import the engine through this file (types
// included), so what the rest of the product may use of the engine is listed here and nowhere else.
export { redactAdapterConfig } from './adapters/redaction.ts';
export { scriptAdapter } from './adapters/script.ts';
export type { Adapter } from './adapters/types.ts';
export { MIN_API_KEY_LENGTH, authenticateBearer, createApiKey, generateApiKey, parseBearer, revokeApiKey } from './api-keys.ts';
export type { Authentication, CreatedApiKey } from './api-keys.ts';
export { bootstrapIfEmpty } from './bootstrap.ts';
export type { BootstrapResult } from './bootstrap.ts';
export { isDatabaseUnavailable } from './database-unavailable.ts';
export { Engine } from './engine.ts';
export type { EngineOptions } from './engine.ts';
export { HeartbeatError, badInput, forbidden, notFound, unauthenticated } from './errors.ts';
export { changedRunSignals } from './live-catch-up.ts';
export type { LiveEvent, LiveEventBus, RunStateSnapshot } from './live-events.ts';
export { signalMatches, signalOf } from './live-signals.ts';
export type { LiveFeed, LiveSignal, SignalFilter } from './live-signals.ts';
export { readHeartbeatPolicy } from './policy.ts';
export { groupAlive } from './process-groups.ts';
export type { HeartbeatPolicy } from './policy.ts';
export type { ApiKeyPrincipal, Principal, RunTokenPrincipal } from './principal.ts';
export { DEFAULT_REQUEST_TIMEOUT_MS, RequestDeadline, RequestTimeoutError, currentRequestDeadline, runWithRequestDeadline } from './request-deadline.ts';
export { readRunLog } from './run-output.ts';
export { BOUNDED_RETRY_MAX_ATTEMPTS, RETRY_EXHAUSTED_PREFIX, safeResultJson } from './run-read-model.ts';
export { isTerminal, runStateSnapshot } from './runs.ts';
export type { RunRow } from './runs.ts';
export { enrichWakeContext } from './wake-context.ts';
export type { EnqueueResult } from './wakeups.ts';
