// How the GraphiQL page talks to the server (runs in the browser). One API key, the stored one,
// authenticates everything whatever tab is active: queries and mutations go over HTTP with it in
// the Authorization header, subscriptions over one graphql-ws connection that sends it at
// connection_init. GraphiQL's schema fetch goes without it (the server answers introspection
// without a key), so the Docs and autocomplete load before a key is entered, and with a wrong one.
import { getOperationAST, parse } from 'graphql';
import { type Client, createClient, type FormattedExecutionResult } from 'graphql-ws';
import type { StoredApiKey } from './graphiql-key.ts';

/** What GraphiQL hands its fetcher: the operation, and the active tab's Headers. */
export interface GraphiQLParams {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}
export interface GraphiQLFetchOptions {
  headers?: Record<string, unknown> | null;
}
type Result = FormattedExecutionResult<Record<string, unknown>, unknown>;
/** GraphiQL shows each result an observable emits, replacing the previous one. */
export interface ResultStream {
  subscribe(observer: { next(result: Result): void; error(error: unknown): void; complete(): void }): { unsubscribe(): void };
}
export type GraphiQLFetcher = (params: GraphiQLParams, options?: GraphiQLFetchOptions) => Promise<Result> | ResultStream;

/** The operation name GraphiQL gives its schema fetch. */
export const SCHEMA_FETCH_OPERATION = 'IntrospectionQuery';

/** graphql-ws' close code for a connection the server refused (a wrong, revoked or missing key). */
export const KEY_REFUSED_CLOSE_CODE = 4403;

/** The request headers: the tab's own, except Authorization, which only the stored key sets (pure). */
export function requestHeaders(tabHeaders: GraphiQLFetchOptions['headers'], key: string | null): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(tabHeaders ?? {})) {
    if (name.toLowerCase() !== 'authorization' && value !== undefined && value !== null) headers[name] = String(value);
  }
  if (key) headers.authorization = `Bearer ${key}`;
  return headers;
}

/**
 * The operation to run, and whether it is a subscription (pure). Right after a tab switch GraphiQL
 * may still name the previous tab's operation: a name the document does not have, in a document
 * with a single operation, means that one. A document that does not parse is sent as it is (over
 * HTTP, where the server answers with the syntax error).
 */
export function resolveOperation(params: GraphiQLParams): { params: GraphiQLParams; subscription: boolean } {
  let document;
  try {
    document = parse(params.query);
  } catch {
    return { params, subscription: false };
  }
  const named = getOperationAST(document, params.operationName ?? undefined);
  const operation = named ?? (params.operationName ? getOperationAST(document) : null);
  if (!operation) return { params, subscription: false };
  return { params: { ...params, operationName: operation.name?.value ?? null }, subscription: operation.operation === 'subscription' };
}

const isCloseEvent = (value: unknown): value is { code: number; reason: string } =>
  typeof value === 'object' && value !== null && typeof (value as { code?: unknown }).code === 'number' && 'reason' in value;

/** What GraphiQL shows when a subscription ends in failure: a GraphQL-shaped result, never a bare event (pure). */
export function subscriptionFailure(error: unknown, socketUrl: string): Result {
  if (Array.isArray(error)) return { errors: error };
  if (isCloseEvent(error) && error.code === KEY_REFUSED_CLOSE_CODE) {
    const reason = error.reason && error.reason !== 'Forbidden' ? ` (${error.reason})` : '';
    return {
      errors: [{ message: `API key refused${reason}: the server closed the subscription's connection. Check the key in the API key field above.`, extensions: { closeCode: error.code } }],
    };
  }
  if (isCloseEvent(error)) {
    return { errors: [{ message: `The WebSocket closed (${error.code}${error.reason ? `: ${error.reason}` : ''}).`, extensions: { closeCode: error.code } }] };
  }
  if (error instanceof Error) return { errors: [{ message: error.message }] };
  return { errors: [{ message: `Cannot reach ${socketUrl} over WebSocket.` }] };
}

const NO_KEY_FOR_SUBSCRIPTION: Result = {
  errors: [{ message: 'No API key: enter one in the API key field above. Subscriptions need one to connect.', extensions: { code: 'UNAUTHENTICATED' } }],
};

async function overHttp(endpoint: string, params: GraphiQLParams, headers: Record<string, string>): Promise<Result> {
  const response = await fetch(endpoint, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { ...headers, 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' },
    body: JSON.stringify({ query: params.query, operationName: params.operationName ?? undefined, variables: params.variables ?? undefined }),
  });
  const text = await response.text();
  try {
    return JSON.parse(text) as Result;
  } catch {
    return { errors: [{ message: `HTTP ${response.status} ${response.statusText}: ${text.slice(0, 300)}` }] };
  }
}

function overWebSocket(client: Client, params: GraphiQLParams, socketUrl: string): ResultStream {
  return {
    subscribe(observer) {
      const request = { query: params.query, operationName: params.operationName, variables: params.variables ?? undefined };
      const unsubscribe = client.subscribe<Record<string, unknown>, unknown>(request, {
        next: (result) => observer.next(result),
        error: (error) => {
          observer.next(subscriptionFailure(error, socketUrl));
          observer.complete();
        },
        complete: () => observer.complete(),
      });
      return { unsubscribe };
    },
  };
}

/** The WebSocket URL of an HTTP GraphQL endpoint (pure). */
export function socketUrlOf(endpoint: string): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.href;
}

/**
 * The page's fetcher. Its WebSocket client belongs to one key: a new key (entered here, or in another
 * browser tab) ends the old connection, and the next subscription connects with the new one.
 */
export function createHeartbeatFetcher(options: { endpoint: string; apiKey: StoredApiKey }): GraphiQLFetcher {
  const { endpoint, apiKey } = options;
  const socketUrl = socketUrlOf(endpoint);
  let socket: { key: string; client: Client } | null = null;

  const clientFor = (key: string): Client => {
    if (socket?.key === key) return socket.client;
    void socket?.client.dispose();
    const client = createClient({
      url: socketUrl,
      connectionParams: { authorization: `Bearer ${key}` },
      // graphql-ws retries a refused connection for ~40 s by default: a refused key does not get
      // better by asking again, so the subscription fails at once and says why.
      shouldRetry: (error) => !(isCloseEvent(error) && error.code === KEY_REFUSED_CLOSE_CODE),
    });
    socket = { key, client };
    return client;
  };
  apiKey.onChange(() => {
    if (socket && socket.key !== apiKey.get()) {
      void socket.client.dispose();
      socket = null;
    }
  });

  return (params, fetchOptions) => {
    const key = apiKey.get();
    const { params: operation, subscription } = resolveOperation(params);
    if (subscription) return key ? overWebSocket(clientFor(key), operation, socketUrl) : Promise.resolve(NO_KEY_FOR_SUBSCRIPTION);
    const sendKey = operation.operationName !== SCHEMA_FETCH_OPERATION;
    return overHttp(endpoint, operation, requestHeaders(fetchOptions?.headers, sendKey ? key : null));
  };
}
