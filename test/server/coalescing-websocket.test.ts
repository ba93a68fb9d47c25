// The server's WebSocket connections: the messages sent in one turn leave in one write, a send is
// done once buffered, and a client that stopped reading makes sends wait again.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { CoalescingWebSocket, SEND_BUFFER_LIMIT_BYTES } from '../../server/coalescing-websocket.ts';
import { waitFor } from '../support/wait.ts';

const open: Array<{ close(): void }> = [];
afterEach(() => {
  for (const thing of open.splice(0)) thing.close();
});

/** A server whose connections are `Class`, and a client connected to it; resolves with both ends. */
async function connect(Class: typeof WebSocket) {
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, WebSocket: Class });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  open.push(http, wss);
  const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(http.address() as AddressInfo).port}`);
  open.push(client);
  await new Promise((resolve) => client.once('open', resolve));
  return { server: await serverSide, client };
}

/** Counts the writes the connection's TCP handle is asked for (each one a system call). */
function countWrites(ws: WebSocket): () => number {
  const handle = ((ws as unknown as { _socket: Socket & { _handle: Record<string, (...args: unknown[]) => unknown> } })._socket)._handle;
  let writes = 0;
  for (const method of ['writev', 'writeBuffer', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString']) {
    const original = handle[method];
    if (typeof original !== 'function') continue;
    handle[method] = function (this: unknown, ...args: unknown[]) {
      writes += 1;
      return original.apply(this, args);
    };
  }
  return () => writes;
}

async function receive(client: WebSocket, count: number): Promise<string[]> {
  const got: string[] = [];
  client.on('message', (data) => got.push(String(data)));
  await waitFor(`${count} messages`, () => got.length === count, { timeoutMs: 5_000 });
  return got;
}

describe('CoalescingWebSocket', () => {
  it('sends the messages of one turn in one write, in order; a plain connection writes each', async () => {
    for (const [Class, expected] of [
      [CoalescingWebSocket, (n: number) => n === 1],
      [WebSocket, (n: number) => n >= 20],
    ] as const) {
      const { server, client } = await connect(Class);
      const writes = countWrites(server);
      const messages = Array.from({ length: 20 }, (_, i) => `message ${i}`);
      const received = receive(client, messages.length);
      for (const message of messages) server.send(message, () => {});
      expect(await received).toEqual(messages);
      expect(expected(writes()), `${Class.name}: ${writes()} writes`).toBe(true);
    }
  });

  it('calls a send back once buffered, and waits for the write once the client is over the limit behind', async () => {
    const { server, client } = await connect(CoalescingWebSocket);
    (client as unknown as { _socket: Socket })._socket.pause();
    const chunk = 'x'.repeat(8 * 1024);
    let sent = 0;
    let waiting: Promise<void> | null = null;
    // Sends until one is not called back within a turn of the event loop: the client stopped reading.
    while (!waiting) {
      const done = new Promise<void>((resolve, reject) => server.send(chunk, (error) => (error ? reject(error) : resolve())));
      const first = await Promise.race([done.then(() => 'sent' as const), new Promise<'waiting'>((resolve) => setImmediate(() => resolve('waiting')))]);
      if (first === 'sent') sent += 1;
      else waiting = done;
    }
    expect(server.bufferedAmount).toBeGreaterThanOrEqual(SEND_BUFFER_LIMIT_BYTES);
    expect(sent).toBeGreaterThanOrEqual(SEND_BUFFER_LIMIT_BYTES / chunk.length);
    let written = false;
    void waiting.then(() => (written = true));
    const received = receive(client, sent + 1);
    (client as unknown as { _socket: Socket })._socket.resume();
    await waitFor('the waiting send to be written', () => written, { timeoutMs: 5_000 });
    expect((await received).length).toBe(sent + 1);
  });
});
