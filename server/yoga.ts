// The GraphQL-over-HTTP endpoint and GraphiQL, served by graphql-yoga.
import { useOpenTelemetry } from '@envelop/opentelemetry';
import { SpanKind } from '@opentelemetry/api';
import { createYoga, type YogaServerInstance } from 'graphql-yoga';
import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/index.ts';
import type { LiveFeed } from '../engine/index.ts';
import type { Principal } from '../engine/index.ts';
import { currentRequestDeadline, DEFAULT_REQUEST_TIMEOUT_MS, tracerProvider } from '../engine/index.ts';
import type { HeartbeatContext } from '../schema/context.ts';
import { schema } from '../schema/index.ts';
import { authenticateAuthorization, useRequireAuthentication } from './authentication.ts';
import { isExpectedError, isUnavailableError, maskError, useErrorCodes, useFailedMutationStatus } from './errors.ts';
import { renderGraphiQL } from './graphiql.ts';
import {
  useDisableIntrospection,
  useMalformedParamsAsBadRequest,
  useMutationRateLimit,
  useOperationCost,
  useOperationLimits,
  useRejectNulCharacters,
  useRequestDeadline,
  useSubscriptionsOverWebSocketOnly,
} from './hardening.ts';
import type { Logger } from './logger.ts';
import { DEFAULT_RESPONSE_CACHE_BYTES, type ResponseCacheOutcome, useResponseCache } from './response-cache.ts';
import { useSharedEventExecution } from './shared-event-execution.ts';

/** What the transport hands yoga: WebSocket operations arrive already authenticated. */
export interface ServerContext {
  principal?: Principal | null;
}

export const GRAPHQL_PATH = '/graphql';

export type HeartbeatYoga = YogaServerInstance<ServerContext, HeartbeatContext>;

export function createHeartbeatYoga(options: {
  db: Database;
  engine: Engine;
  live: LiveFeed;
  logger: Logger;
  graphiql: boolean;
  /** Memory for answers served again while the database is unchanged (server/response-cache.ts); 0 turns it off. */
  responseCacheBytes?: number;
  /** Hears how each cacheable query was answered (metrics). */
  onResponseCacheLookup?: (outcome: ResponseCacheOutcome) => void;
  hardening: { production: boolean; introspection: boolean; mutationRate: number; mutationBurst: number };
  /** Time an operation has to be answered once its database work begins (HEARTBEAT_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs?: number;
}): HeartbeatYoga {
  const { hardening } = options;
  const { db, engine, live, logger } = options;
  // With tracing on (README, Tracing), one span per operation; the engine's spans (a wakeup's
  // enqueue) are its children. Neither variables nor results are recorded: they may hold secrets.
  const tracing = tracerProvider();
  return createYoga<ServerContext, HeartbeatContext>({
    schema,
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    // No field takes a file: multipart bodies (uploads) are not parsed at all.
    multipart: false,
    // GraphiQL's assets are bundled, so it works without internet access.
    renderGraphiQL,
    graphiql: options.graphiql
      ? {
          title: 'Heartbeat GraphiQL',
          subscriptionsProtocol: 'WS',
          // The API key field and the example tabs: server/graphiql.ts.
        }
      : false,
    // WebSocket operations arrive with the principal checked at connection_init; HTTP requests
    // carry their key in the Authorization header.
    context: async (initial) => {
      if (initial.principal !== undefined) return { db, engine, live, principal: initial.principal, readSnapshot: null, transport: 'websocket' };
      // The request's clock starts with its first database work (the server set the deadline up).
      const deadline = currentRequestDeadline();
      deadline?.arm();
      const checking = authenticateAuthorization(db, initial.request.headers.get('authorization'));
      const authentication = await (deadline ? deadline.race(checking) : checking);
      return { db, engine, live, principal: authentication?.principal ?? null, readSnapshot: authentication?.snapshot ?? null, transport: 'http' };
    },
    maskedErrors: { maskError },
    logging: {
      debug: (...args) => logger.debug(args.map(String).join(' ')),
      info: (...args) => logger.info(args.map(String).join(' ')),
      warn: (...args) => logger.warn(args.map(String).join(' ')),
      // yoga reports here every error it masked or translated; only the unexpected ones are errors.
      error: (error, ...rest) => {
        if (isExpectedError(error)) logger.debug({ err: error }, 'request failed with an expected error');
        // An outage fails every request alike: one line each, without the stack.
        else if (isUnavailableError(error)) logger.warn({ reason: String((error as Error)?.message ?? error) }, 'request met an unavailable database');
        else logger.error({ err: error, details: rest.map(String) }, 'unexpected error');
      },
    },
    plugins: [
      // First: it replaces yoga's subscribe, which the plugins after it (tracing) then wrap.
      useSharedEventExecution(),
      ...(tracing ? [useOpenTelemetry({ resolvers: false, variables: false, result: false }, tracing, SpanKind.SERVER, {}, 'heartbeat-graphql')] : []),
      useMalformedParamsAsBadRequest(),
      useOperationLimits({ production: hardening.production }),
      ...(hardening.introspection ? [] : [useDisableIntrospection()]),
      useRequireAuthentication(),
      useSubscriptionsOverWebSocketOnly(),
      // Before the rate limit: a refused operation takes no tokens.
      useOperationCost(),
      useRejectNulCharacters(),
      useMutationRateLimit({ ratePerSec: hardening.mutationRate, burst: hardening.mutationBurst }),
      useErrorCodes(),
      // After the codes are assigned: a mutation that failed unexpectedly is HTTP 500, not 200.
      useFailedMutationStatus(),
      // Last but one: only operations every check above let through are served from it.
      useResponseCache({ maxBytes: options.responseCacheBytes ?? DEFAULT_RESPONSE_CACHE_BYTES, onLookup: options.onResponseCacheLookup }),
      // Last: its bound covers everything above, the response cache's wait for a shared answer too.
      useRequestDeadline({ timeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS }),
    ],
  });
}
