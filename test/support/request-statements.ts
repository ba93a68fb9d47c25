// The SQL statements that HTTP requests to an in-process test server issue, and only those.
// Every drizzle statement reaches db/client.ts's `onQuery` hook, the engine's background loop's
// (tick, lease renewal) as well, so counting everything in a time window counts whatever the loop
// happened to do meanwhile. Here a statement belongs to a request when it runs in that request's
// async context: node publishes `http.server.request.start` just before the server handles a
// request, and the context entered there follows everything the handler awaits. The server needs
// no hook of its own, and the loop's timers, started outside any request, never count.
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';

const REQUEST_START = 'http.server.request.start';

export interface RequestStatements {
  /** Pass to startTestServer. */
  onQuery(query: string): void;
  /** Runs `send` and returns the statements of the HTTP requests that started while it ran. */
  of<T>(send: () => Promise<T>): Promise<{ result: T; statements: string[] }>;
  /** Stops watching requests. */
  close(): void;
}

export function recordRequestStatements(): RequestStatements {
  const currentRequest = new AsyncLocalStorage<IncomingMessage>();
  let recording: { requests: Set<IncomingMessage>; statements: string[] } | null = null;
  const onRequestStart = (message: unknown) => {
    const { request } = message as { request: IncomingMessage };
    currentRequest.enterWith(request);
    recording?.requests.add(request);
  };
  subscribe(REQUEST_START, onRequestStart);
  return {
    onQuery(query) {
      const request = currentRequest.getStore();
      // Only requests that started inside `of`: work an earlier request left running does not count.
      if (recording && request && recording.requests.has(request)) recording.statements.push(query);
    },
    async of(send) {
      if (recording) throw new Error('recordRequestStatements: one `of` at a time');
      const current = (recording = { requests: new Set(), statements: [] });
      try {
        const result = await send();
        return { result, statements: current.statements };
      } finally {
        recording = null;
      }
    },
    close() {
      unsubscribe(REQUEST_START, onRequestStart);
    },
  };
}
