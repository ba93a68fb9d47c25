// The Heartbeat SDK: an urql client that speaks GraphQL over HTTP for queries and mutations and
// graphql-ws for subscriptions, authenticated with an API key on both.
import { Client, fetchExchange, subscriptionExchange } from '@urql/core';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { ViewerQuery } from './operations.ts';

export * from './operations.ts';

export interface HeartbeatClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:4000/graphql */
  url: string;
  apiKey: string;
  /** WebSocket implementation for Node < 22 (e.g. the `ws` package); browsers have their own. */
  webSocketImpl?: unknown;
}

export interface HeartbeatClient {
  urql: Client;
  ws: WsClient;
  /** The caller's company. */
  viewer(): Promise<{ id: string; name: string }>;
  close(): Promise<void>;
}

export function createHeartbeatClient(options: HeartbeatClientOptions): HeartbeatClient {
  const authorization = `Bearer ${options.apiKey}`;
  const ws = createWsClient({
    url: options.url.replace(/^http/, 'ws'),
    webSocketImpl: options.webSocketImpl,
    connectionParams: { authorization },
    lazy: true,
    keepAlive: 10_000,
  });
  const urql = new Client({
    url: options.url,
    fetchOptions: { headers: { authorization } },
    exchanges: [
      fetchExchange,
      subscriptionExchange({
        forwardSubscription: (request) => ({
          subscribe: (sink) => ({
            unsubscribe: ws.subscribe({ ...request, query: request.query ?? '' }, sink),
          }),
        }),
      }),
    ],
  });

  return {
    urql,
    ws,
    async viewer() {
      const result = await urql.query(ViewerQuery, {}, { requestPolicy: 'network-only' }).toPromise();
      if (result.error) throw result.error;
      if (!result.data) throw new Error('The server answered without data');
      return result.data.viewer;
    },
    close: () => ws.dispose() as Promise<void>,
  };
}
