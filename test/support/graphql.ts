// Talking to a running server the way clients do: GraphQL over HTTP and over graphql-ws.
import { createClient, type Client, type ExecutionResult, type FormattedExecutionResult } from 'graphql-ws';
import WebSocket from 'ws';

export interface HttpResult<T = Record<string, unknown>> {
  status: number;
  contentType: string | null;
  body: ExecutionResult<T> & { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
}

export async function postGraphQL<T = Record<string, unknown>>(
  url: string,
  query: string,
  options: { variables?: Record<string, unknown>; key?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(options.key ? { authorization: `Bearer ${options.key}` } : {}),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    body: (await response.json()) as HttpResult<T>['body'],
  };
}

/** Raw request, for malformed bodies and odd methods. */
export async function rawRequest(url: string, init: RequestInit) {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json: json as HttpResult['body'] | undefined };
}

/** A graphql-ws client that does not retry, so a refused connection surfaces as a close event. */
export function wsClient(url: string, connectionParams?: Record<string, unknown>): Client {
  return createClient({
    url,
    webSocketImpl: WebSocket,
    connectionParams,
    retryAttempts: 0,
    lazy: true,
  });
}

/** Runs one operation over a WebSocket client and collects every result until it completes. */
export async function collect<T = Record<string, unknown>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): Promise<FormattedExecutionResult<T, unknown>[]> {
  const results: FormattedExecutionResult<T, unknown>[] = [];
  for await (const result of client.iterate<T>({ query, variables })) results.push(result);
  return results;
}

/** Resolves with the close code the server sent when it refused or dropped the connection. */
export function closeCodeOf(client: Client): Promise<number> {
  return new Promise((resolve) => {
    client.on('closed', (event) => resolve((event as { code: number }).code));
  });
}
