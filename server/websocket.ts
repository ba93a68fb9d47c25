// GraphQL over WebSocket (graphql-transport-ws protocol) on the same port and path as HTTP. The
// key is checked once at connection_init; operations then run through yoga's envelop, so they get
// the same plugins (authentication, error masking, codes) as HTTP requests.
import type { Server } from 'node:http';
import { type ExecutionArgs, getOperationAST, GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/index.ts';
import type { Principal } from '../engine/index.ts';
import { authenticateAuthorization } from './authentication.ts';
import { CoalescingWebSocket } from './coalescing-websocket.ts';
import { SENT_ELSEWHERE, sendNext } from './shared-next-messages.ts';
import { assignErrorCode, isExpectedError, maskError } from './errors.ts';
import type { Logger } from './logger.ts';
import { GRAPHQL_PATH, type HeartbeatYoga } from './yoga.ts';

type EnvelopedExecutors = {
  execute: (args: ExecutionArgs) => Promise<ExecutionResult>;
  subscribe: (args: ExecutionArgs) => Promise<unknown>;
};

function withCode(error: GraphQLError, code: string): GraphQLError {
  const { http: _http, ...extensions } = error.extensions ?? {};
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...extensions, code: error.extensions?.code ?? code },
  });
}

/** What an error looks like on the wire: with its code, without yoga's HTTP hints. */
function formatted(error: GraphQLError): GraphQLFormattedError {
  const json = assignErrorCode(error).toJSON();
  if (json.extensions && 'http' in json.extensions) {
    const { http: _http, ...extensions } = json.extensions;
    return { ...json, extensions };
  }
  return json;
}

/** Message types only a server sends: from a client they are a protocol violation (4400), not a crash (4500). */
const SERVER_ONLY_MESSAGES = new Set(['connection_ack', 'next', 'error']);

/**
 * The live subscriptions of one connection. graphql-ws keeps one iterator per id; a client that
 * completes an id and subscribes with it again before the first subscription was set up gets two
 * iterators under that id, and graphql-ws never returns the first: it would keep its watcher and
 * poll the database for as long as the process lives. Every iterator is tracked here instead, and
 * returned when a newer one takes its id or when the socket closes.
 */
class ConnectionSubscriptions {
  private readonly live = new Set<AsyncGenerator>();
  private readonly byId = new Map<string, AsyncGenerator>();

  track<T extends AsyncGenerator<unknown>>(id: string, source: T): T {
    const live = this.live;
    const byId = this.byId;
    const release = () => {
      live.delete(wrapper);
      if (byId.get(id) === wrapper) byId.delete(id);
    };
    const wrapper = {
      async next(...args: [] | [unknown]) {
        try {
          const result = await source.next(...args);
          if (result.done) release();
          return result;
        } catch (error) {
          release();
          throw error;
        }
      },
      return(value?: unknown) {
        release();
        return source.return(value);
      },
      throw(error?: unknown) {
        release();
        return source.throw(error);
      },
      [Symbol.asyncIterator]() {
        return wrapper;
      },
    } as unknown as T;
    const previous = byId.get(id);
    if (previous) void previous.return(undefined);
    live.add(wrapper);
    byId.set(id, wrapper);
    return wrapper;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.live].map((subscription) => subscription.return(undefined)));
  }
}

const isAsyncGenerator = (value: unknown): value is AsyncGenerator =>
  typeof value === 'object' && value !== null && typeof (value as AsyncGenerator).return === 'function' && Symbol.asyncIterator in value;

/** Largest WebSocket message accepted by default; bigger ones close the socket with 1009. */
export const DEFAULT_MAX_WS_PAYLOAD_BYTES = 1024 * 1024;

export function attachWebSocketServer(options: {
  httpServer: Server;
  yoga: HeartbeatYoga;
  db: Database;
  engine: Engine;
  logger: Logger;
  /** Largest message accepted (ws' own default is 100 MiB). */
  maxPayloadBytes?: number;
}) {
  const { httpServer, yoga, db, engine, logger } = options;
  const wsServer = new WebSocketServer({
    server: httpServer,
    path: GRAPHQL_PATH,
    maxPayload: options.maxPayloadBytes ?? DEFAULT_MAX_WS_PAYLOAD_BYTES,
    WebSocket: CoalescingWebSocket,
  });
  // Sockets per API key, so a revoked key loses its open connections at once, on every instance.
  const socketsByKey = new Map<string, Set<WebSocket>>();
  const stopWatchingRevocations = engine.onControl((message) => {
    if (message.kind !== 'revoke-key') return;
    for (const socket of socketsByKey.get(message.keyId) ?? []) socket.close(4403, 'Forbidden: the API key was revoked');
    socketsByKey.delete(message.keyId);
  });

  const subscriptionsOf = new WeakMap<object, ConnectionSubscriptions>();

  const disposable = useServer<{ authorization?: unknown }, { principal: Principal }>(
    {
      // graphql-ws validates the shape of each message but answers a server-only type with 4500.
      jsonMessageReviver(key, value) {
        if (key === '' && typeof value === 'object' && value !== null && SERVER_ONLY_MESSAGES.has((value as { type?: unknown }).type as string)) {
          throw new Error(`A client may not send ${(value as { type: string }).type}`);
        }
        return value;
      },
      onConnect: async (ctx) => {
        try {
          const principal = (await authenticateAuthorization(db, ctx.connectionParams?.authorization))?.principal;
          if (!principal) return false;
          ctx.extra.principal = principal;
          if (principal.kind === 'apiKey') {
            const sockets = socketsByKey.get(principal.keyId) ?? new Set();
            sockets.add(ctx.extra.socket);
            socketsByKey.set(principal.keyId, sockets);
            ctx.extra.socket.once('close', () => sockets.delete(ctx.extra.socket));
          }
          return true;
        } catch (error) {
          if (!(error instanceof Error && error.name === 'HeartbeatError')) {
            logger.error({ err: error }, 'websocket authentication failed');
          }
          return false; // graphql-ws closes the socket with 4403 Forbidden
        }
      },
      execute: (args) => (args.rootValue as EnvelopedExecutors).execute(args),
      subscribe: (args) => (args.rootValue as EnvelopedExecutors).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        const enveloped = yoga.getEnveloped({
          req: ctx.extra.request,
          socket: ctx.extra.socket,
          params: payload,
          principal: ctx.extra.principal ?? null,
        });
        let document;
        try {
          document = enveloped.parse(payload.query);
        } catch (error) {
          if (error instanceof GraphQLError) return [withCode(error, 'GRAPHQL_PARSE_FAILED')];
          throw error;
        }
        let errors: readonly GraphQLError[];
        try {
          errors = enveloped.validate(enveloped.schema, document);
        } catch (error) {
          // A validation rule that throws instead of reporting (graphql-armor can) still refuses the document.
          if (error instanceof GraphQLError) return [withCode(error, 'GRAPHQL_VALIDATION_FAILED')];
          throw error;
        }
        if (errors.length > 0) return errors.map((e: GraphQLError) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
        if (!getOperationAST(document, payload.operationName)) {
          const message = payload.operationName ? `Unknown operation named "${payload.operationName}".` : 'Must provide operation name if query contains multiple operations.';
          return [new GraphQLError(message, { extensions: { code: 'BAD_REQUEST' } })];
        }
        return {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
      onOperation: (ctx, id, _payload, _args, result) => {
        if (!isAsyncGenerator(result)) return undefined;
        let subscriptions = subscriptionsOf.get(ctx);
        if (!subscriptions) subscriptionsOf.set(ctx, (subscriptions = new ConnectionSubscriptions()));
        return subscriptions.track(id, result);
      },
      onClose: async (ctx) => {
        await subscriptionsOf.get(ctx)?.closeAll();
      },
      // Results carry the same codes as over HTTP (yoga's result hooks do not run for WebSocket).
      // A result without errors is sent here, serialised once for all the subscribers handed it.
      onNext: async (ctx, id, _payload, _args, result) => {
        if (result.errors) return { ...result, errors: result.errors.map((e) => (e instanceof GraphQLError ? formatted(e) : e)) };
        await sendNext(ctx.extra.socket, id, result);
        return SENT_ELSEWHERE;
      },
      // Errors graphql-ws raises itself (a subscription source that threw) are masked like yoga's.
      onError: (_ctx, _id, _payload, errors) =>
        errors.map((error) => {
          if (!error.originalError) return formatted(error);
          if (!isExpectedError(error)) logger.error({ err: error.originalError }, 'subscription failed');
          const masked = maskError(error, 'Unexpected error.');
          return formatted(masked instanceof GraphQLError ? masked : new GraphQLError('Unexpected error.'));
        }),
    },
    wsServer,
  );

  // A client that breaks the framing (a message over maxPayload, a text frame that is not UTF-8)
  // makes ws emit 'error' and close the socket itself (1009, 1007). graphql-ws' listener for it
  // prints a stack trace to stderr for every such client; it is the client's fault, logged at debug.
  // (Registered after useServer's, so this runs once graphql-ws has added its own.)
  wsServer.on('connection', (socket) => {
    socket.removeAllListeners('error');
    socket.on('error', (error) => logger.debug({ err: error }, 'websocket closed on a protocol error from the client'));
  });

  return {
    wsServer,
    /** Closes every socket (1001 going away) and stops accepting new ones. */
    async close() {
      stopWatchingRevocations();
      for (const client of wsServer.clients) client.close(1001, 'Server shutting down');
      await disposable.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
