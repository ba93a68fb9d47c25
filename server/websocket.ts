// GraphQL over WebSocket (graphql-transport-ws protocol) on the same port and path as HTTP. The
// key is checked once at connection_init; operations then run through yoga's envelop, so they get
// the same plugins (authentication, error masking, codes) as HTTP requests.
import type { Server } from 'node:http';
import { type ExecutionArgs, GraphQLError, type ExecutionResult } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/engine.ts';
import type { Principal } from '../engine/principal.ts';
import { principalFromAuthorization } from './authentication.ts';
import type { Logger } from './logger.ts';
import { GRAPHQL_PATH, type HeartbeatYoga } from './yoga.ts';

type EnvelopedExecutors = {
  execute: (args: ExecutionArgs) => Promise<ExecutionResult>;
  subscribe: (args: ExecutionArgs) => Promise<unknown>;
};

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    extensions: { ...error.extensions, code: error.extensions?.code ?? code },
  });
}

export function attachWebSocketServer(options: {
  httpServer: Server;
  yoga: HeartbeatYoga;
  db: Database;
  engine: Engine;
  logger: Logger;
}) {
  const { httpServer, yoga, db, engine, logger } = options;
  const wsServer = new WebSocketServer({ server: httpServer, path: GRAPHQL_PATH });
  // Sockets per API key, so a revoked key loses its open connections at once, on every instance.
  const socketsByKey = new Map<string, Set<WebSocket>>();
  const stopWatchingRevocations = engine.onControl((message) => {
    if (message.kind !== 'revoke-key') return;
    for (const socket of socketsByKey.get(message.keyId) ?? []) socket.close(4403, 'Forbidden: the API key was revoked');
    socketsByKey.delete(message.keyId);
  });

  const disposable = useServer<{ authorization?: unknown }, { principal: Principal }>(
    {
      onConnect: async (ctx) => {
        try {
          const principal = await principalFromAuthorization(db, ctx.connectionParams?.authorization);
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
        const errors = enveloped.validate(enveloped.schema, document);
        if (errors.length > 0) return errors.map((e: GraphQLError) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
        return {
          schema: enveloped.schema,
          operationName: payload.operationName,
          document,
          variableValues: payload.variables,
          contextValue: await enveloped.contextFactory(),
          rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
        };
      },
    },
    wsServer,
  );

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
