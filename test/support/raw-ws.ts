// A raw graphql-transport-ws client for protocol tests: sends exactly the frames a test asks for
// and records every message and the close code, so protocol violations can be provoked on purpose.
import WebSocket from 'ws';

export const GRAPHQL_TRANSPORT_WS = 'graphql-transport-ws';

/** Every close code graphql-ws (`CloseCode`) or the WebSocket protocol (RFC 6455) uses for a refused or ended connection. */
export const PROTOCOL_CLOSE_CODES = new Set([
  1000, // normal closure
  1001, // going away
  1002, // protocol error
  1003, // unsupported data
  1006, // abnormal closure (no close frame)
  1007, // invalid frame payload data (e.g. text frame that is not UTF-8)
  1008, // policy violation
  1009, // message too big
  4400, // BadRequest
  4401, // Unauthorized (subscribe before connection_ack)
  4403, // Forbidden
  4406, // SubprotocolNotAcceptable
  4408, // ConnectionInitialisationTimeout
  4409, // SubscriberAlreadyExists
  4429, // TooManyInitialisationRequests
]);

export interface Message {
  type: string;
  id?: string;
  payload?: unknown;
}

export interface RawSocket {
  ws: WebSocket;
  /** Every JSON message received, in order (unparsable ones as `{ type: '<unparsable>' }`). */
  messages: Message[];
  /** Resolves when the socket is closed, with the code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  isClosed(): boolean;
  send(message: unknown): void;
  sendRaw(data: string | Buffer, options?: { binary?: boolean }): void;
  /** The first message (already received or still to come) that `match` accepts; rejects on close or after `timeoutMs`. */
  next(match: (message: Message) => boolean, timeoutMs?: number): Promise<Message>;
  /** connection_init with the key, resolved on connection_ack. */
  init(key?: string, timeoutMs?: number): Promise<void>;
  close(code?: number): Promise<void>;
}

/** Opens a socket; resolves once it is open (or rejects when the handshake fails). */
export function openRaw(url: string, protocols: string | string[] | undefined = GRAPHQL_TRANSPORT_WS, options: WebSocket.ClientOptions = {}): Promise<RawSocket> {
  const ws = new WebSocket(url, protocols, options);
  const messages: Message[] = [];
  const waiters = new Set<() => void>();
  let closeInfo: { code: number; reason: string } | null = null;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      closeInfo = { code, reason: reason.toString('utf8') };
      resolve(closeInfo);
      for (const waiter of waiters) waiter();
    });
  });
  ws.on('message', (data) => {
    let message: Message;
    try {
      message = JSON.parse(String(data)) as Message;
    } catch {
      message = { type: '<unparsable>', payload: String(data) };
    }
    messages.push(message);
    for (const waiter of waiters) waiter();
  });
  // A refused connection reports here too; `closed` says how it ended.
  ws.on('error', () => {});

  const socket: RawSocket = {
    ws,
    messages,
    closed,
    isClosed: () => closeInfo !== null,
    send: (message) => ws.send(JSON.stringify(message)),
    sendRaw: (data, sendOptions) => ws.send(data, { binary: sendOptions?.binary ?? false }),
    next: (match, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        let index = 0;
        const check = () => {
          for (; index < messages.length; index++) {
            if (match(messages[index])) return done(() => resolve(messages[index]));
          }
          if (closeInfo) done(() => reject(new Error(`socket closed (${closeInfo!.code} ${closeInfo!.reason}) before the message came; got ${JSON.stringify(messages)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          settle();
        };
        waiters.add(check);
        check();
      }),
    init: async (key, timeoutMs) => {
      socket.send({ type: 'connection_init', payload: key ? { authorization: `Bearer ${key}` } : {} });
      await socket.next((m) => m.type === 'connection_ack', timeoutMs);
    },
    close: async (code = 1000) => {
      if (!closeInfo) ws.close(code);
      await closed;
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(socket));
    ws.once('error', (error) => reject(error));
  });
}

/** A socket that has sent connection_init with `key` and got connection_ack. */
export async function openAcked(url: string, key: string): Promise<RawSocket> {
  const socket = await openRaw(url);
  await socket.init(key);
  return socket;
}
