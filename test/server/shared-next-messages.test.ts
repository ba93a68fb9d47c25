// A subscription result serialised once for all the subscribers handed it: the messages are
// graphql-ws' own, byte for byte; graphql-ws' copy of a message already sent goes nowhere; and
// through a real graphql-ws server, every subscriber gets every item once, in order.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, type ExecutionResult } from 'graphql';
import { createClient, MessageType, stringifyMessage } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { CoalescingWebSocket } from '../../server/coalescing-websocket.ts';
import { isSentElsewhere, nextMessage, SENT_ELSEWHERE, sendNext } from '../../server/shared-next-messages.ts';

const open: Array<() => unknown> = [];
afterEach(async () => {
  for (const close of open.splice(0).reverse()) await close();
});

const IDS = ['1', 'a"b', 'x\\y', '\u2028', '{"id":"2"}'];

describe('next messages serialised once', () => {
  it("is graphql-ws' own message for the result, and serialises the result once for every id", () => {
    let reads = 0;
    const result = {} as ExecutionResult;
    Object.defineProperty(result, 'data', { enumerable: true, get: () => (reads += 1, { tick: { n: 1, label: 'é"\n' } }) });
    for (const id of IDS) {
      expect(nextMessage(id, result)).toBe(stringifyMessage({ id, type: MessageType.Next, payload: { data: { tick: { n: 1, label: 'é"\n' } } } }));
    }
    expect(reads).toBe(1);
  });

  it("recognises graphql-ws' message for SENT_ELSEWHERE under any id, and no other message", () => {
    for (const id of IDS) {
      expect(isSentElsewhere(stringifyMessage({ id, type: MessageType.Next, payload: SENT_ELSEWHERE }))).toBe(true);
      expect(isSentElsewhere(stringifyMessage({ id, type: MessageType.Next, payload: { data: null } }))).toBe(false);
      expect(isSentElsewhere(stringifyMessage({ id, type: MessageType.Complete }))).toBe(false);
      expect(isSentElsewhere(nextMessage(id, { data: {} }))).toBe(false);
    }
  });
});

/** A graphql-ws server on CoalescingWebSocket connections whose onNext sends results as the server's does. */
async function serve(items: Array<{ n: number }>) {
  const Tick = new GraphQLObjectType({ name: 'Tick', fields: { n: { type: new GraphQLNonNull(GraphQLInt) }, label: { type: GraphQLString, resolve: (t: { n: number }) => `#${t.n}` } } });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        ticks: {
          type: new GraphQLNonNull(Tick),
          subscribe: async function* () {
            yield* items;
          },
          resolve: (item: unknown) => item,
        },
      },
    }),
  });
  const http: Server = createServer();
  const wss = new WebSocketServer({ server: http, WebSocket: CoalescingWebSocket });
  // The same result object for every subscriber of an item, as shared execution hands them out.
  const results = new Map<number, ExecutionResult>();
  const raw: string[] = [];
  wss.on('connection', (socket) => {
    const send = socket.send.bind(socket);
    socket.send = ((data: string, ...rest: unknown[]) => {
      raw.push(String(data));
      return (send as (...args: unknown[]) => void)(data, ...rest);
    }) as typeof socket.send;
  });
  const server = useServer(
    {
      schema,
      onNext: async (ctx, id, _payload, _args, result) => {
        const n = (result.data as { ticks: { n: number } }).ticks.n;
        if (!results.has(n)) results.set(n, result);
        await sendNext(ctx.extra.socket, id, results.get(n)!);
        return SENT_ELSEWHERE;
      },
    },
    wss,
  );
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  open.push(() => new Promise((resolve) => http.close(resolve)), () => server.dispose());
  return { url: `ws://127.0.0.1:${(http.address() as AddressInfo).port}`, raw };
}

async function subscribe(url: string): Promise<unknown[]> {
  const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0 });
  open.push(() => client.dispose());
  const got: unknown[] = [];
  await new Promise<void>((resolve, reject) =>
    client.subscribe({ query: 'subscription { ticks { n label } }' }, { next: (value) => void got.push(value), error: reject, complete: resolve }),
  );
  return got;
}

describe('results sent by onNext through graphql-ws', () => {
  it('reach every subscriber once each, in order, and graphql-ws sends no copy of them', async () => {
    const items = Array.from({ length: 50 }, (_, i) => ({ n: i + 1 }));
    const { url, raw } = await serve(items);
    const all = await Promise.all([subscribe(url), subscribe(url), subscribe(url)]);
    for (const got of all) expect(got).toEqual(items.map(({ n }) => ({ data: { ticks: { n, label: `#${n}` } } })));
    // Each socket was handed its 50 messages and graphql-ws' 50 copies, which went nowhere.
    expect(raw.filter((data) => isSentElsewhere(data))).toHaveLength(3 * 50);
  });
});
