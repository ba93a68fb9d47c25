// A subscription result serialised once, for every subscriber handed that very result.
//
// Subscribers that execute an item alike share its result object (shared-event-execution.ts), but
// graphql-ws serialises the whole `next` message for each of them: ten watchers of a run made ten
// `JSON.stringify` of the same event, 13% of the server's CPU under agent output (bench
// `--only agent-output`, a CPU profile of the server), with the garbage of each. Here the result's
// JSON is kept with the result (weakly, gone with it) and each subscriber's message is that JSON
// wrapped in its own id.
//
// graphql-ws has no way to send bytes it did not serialise: its `onNext` hook may only replace the
// payload, which it then serialises and sends. So the hook sends the message itself and returns
// SENT_ELSEWHERE, an empty payload no result ever has; the connection drops the message graphql-ws
// then makes of it (isSentElsewhere, server/coalescing-websocket.ts). graphql-ws awaits the hook
// before it sends, so a subscription's messages keep their order and the hook's send keeps the
// connection's backpressure.
import type { ExecutionResult } from 'graphql';
import { WebSocket } from 'ws';

const serialised = new WeakMap<ExecutionResult, string>();

/** What onNext returns once it has sent the message itself: graphql-ws makes `"payload":{}` of it. */
export const SENT_ELSEWHERE: ExecutionResult = Object.freeze({});

/** How graphql-ws' message for SENT_ELSEWHERE ends (it writes `id`, `type`, `payload` in this order). */
const SENT_ELSEWHERE_TAIL = ',"type":"next","payload":{}}';

/** Whether `data` is graphql-ws' message for a payload onNext has already sent. */
export const isSentElsewhere = (data: unknown): boolean => typeof data === 'string' && data.endsWith(SENT_ELSEWHERE_TAIL);

/** The `next` message of subscription `id` carrying `result` (a result without errors), its payload serialised once. */
export function nextMessage(id: string, result: ExecutionResult): string {
  let payload = serialised.get(result);
  if (payload === undefined) serialised.set(result, (payload = JSON.stringify(result)));
  return `{"id":${JSON.stringify(id)},"type":"next","payload":${payload}}`;
}

/**
 * Sends `result` to subscription `id` on `socket`, as graphql-ws' own send does: done when the
 * socket took it (or at once if the socket is closing: graphql-ws learns of that from the close).
 */
export function sendNext(socket: WebSocket, id: string, result: ExecutionResult): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.readyState !== WebSocket.OPEN) return resolve();
    socket.send(nextMessage(id, result), (error) => (error ? reject(error) : resolve()));
  });
}
