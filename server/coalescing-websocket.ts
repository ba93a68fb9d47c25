// The server's WebSocket connections (ws' `WebSocket` option): the messages one connection is sent
// in one turn of the event loop leave in one write, and a send counts as done once it is buffered.
//
// graphql-ws awaits each `next` message's send before it pulls the subscription's next item, and
// ws calls back only once the frame was written to the kernel: every message was a write system
// call of its own, followed by a turn of promises. A run printing a burst of five lines sent each
// of its watchers five writes; those writes were the largest part of the server's CPU under agent
// output (bench `--only agent-output`).
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { isSentElsewhere } from './shared-next-messages.ts';

/**
 * A send returns at once while the connection has less than this queued for the client; above it,
 * it waits for the write, so a client that stopped reading stalls its subscriptions (the
 * subscription's own watchdog then ends them) while what the server holds for it stays bounded.
 */
export const SEND_BUFFER_LIMIT_BYTES = 64 * 1024;

type SendOptions = Parameters<WebSocket['send']>[1];
type SendCallback = (error?: Error) => void;

export class CoalescingWebSocket extends WebSocket {
  private corked = false;

  override send(data: Parameters<WebSocket['send']>[0], options?: SendOptions | SendCallback, cb?: SendCallback): void {
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    // graphql-ws' copy of a message its onNext hook already sent (shared-next-messages.ts).
    if (isSentElsewhere(data)) {
      const done = cb;
      if (done) queueMicrotask(() => done());
      return;
    }
    const socket = (this as unknown as { _socket?: Socket })._socket;
    if (this.readyState !== WebSocket.OPEN || !socket) return super.send(data, options ?? {}, cb);
    if (!this.corked) {
      // Uncorked after this turn's promise jobs have run, so the sends they make join this write.
      this.corked = true;
      socket.cork();
      setImmediate(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    if (!cb || this.bufferedAmount >= SEND_BUFFER_LIMIT_BYTES) return super.send(data, options ?? {}, cb);
    // A failed write closes the connection; graphql-ws learns of it from the close.
    super.send(data, options ?? {}, () => {});
    const done = cb;
    queueMicrotask(() => done());
  }
}
