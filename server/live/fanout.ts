// Live signals between instances. Each instance delivers its own signals to its subscribers
// directly and sends them to the others in batches after the commit that caused them, through
// Postgres NOTIFY (default) or Redis pub/sub (REDIS_URL). Receivers re-read rows, so a lost
// batch only delays a subscriber until its next poll; it never corrupts what it sees.
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Logger } from 'pino';
import type { LiveEventBus } from '../../engine/live-events.ts';
import { type LiveSignal, signalOf } from '../../engine/live-signals.ts';
import type { SignalHub } from './hub.ts';

export const SIGNAL_CHANNEL = 'heartbeat_signals';
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_BATCH_BYTES = 7_000;

/** `sentAt` (epoch ms) lets the receiver measure how long signals take between instances. */
type Batch = { from: string; sentAt: number; signals: LiveSignal[] };

/** A transport that carries batches to every other instance. */
interface Transport {
  send(payload: string): Promise<void>;
  close(): Promise<void>;
}

export interface LiveWiring {
  close(): Promise<void>;
}

/** Connects the engine's events to this instance's hub and, through `transport`, to the others. */
function wire(options: { bus: LiveEventBus; hub: SignalHub; instanceId: string; logger: Logger; transport: Transport | null; onLag?: (seconds: number) => void }) {
  const { bus, hub, instanceId, logger, transport } = options;
  let pending: LiveSignal[] = [];
  let scheduled = false;
  let sending: Promise<void> = Promise.resolve();

  const flush = () => {
    scheduled = false;
    const signals = pending;
    pending = [];
    const batches: string[] = [];
    let current: LiveSignal[] = [];
    const sentAt = Date.now();
    const encode = (list: LiveSignal[]) => JSON.stringify({ from: instanceId, sentAt, signals: list } satisfies Batch);
    for (const signal of signals) {
      current.push(signal);
      if (current.length > 1 && Buffer.byteLength(encode(current)) > MAX_BATCH_BYTES) {
        current.pop();
        batches.push(encode(current));
        current = [signal];
      }
    }
    if (current.length > 0) batches.push(encode(current));
    // One batch at a time, in order, off the engine's commit path.
    sending = sending.then(async () => {
      for (const batch of batches) {
        await transport!.send(batch).catch((error: unknown) => logger.warn({ err: error }, 'could not send live signals to other instances'));
      }
    });
  };

  const unsubscribe = bus.subscribe((event) => {
    const signal = signalOf(event);
    if (!signal) return;
    hub.deliver(signal);
    if (!transport) return;
    pending.push(signal);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });

  return {
    receive(payload: string) {
      try {
        const batch = JSON.parse(payload) as Batch;
        if (batch.from === instanceId) return;
        if (typeof batch.sentAt === 'number') options.onLag?.((Date.now() - batch.sentAt) / 1000);
        for (const signal of batch.signals) hub.deliver(signal);
      } catch (error) {
        logger.warn({ err: error }, 'ignored a malformed live signal batch');
      }
    },
    async close() {
      unsubscribe();
      if (scheduled) flush();
      await sending;
      await transport?.close();
    },
  };
}

/** In-process only: for a single instance, or tests. */
export function wireLocalSignals(options: { bus: LiveEventBus; hub: SignalHub; logger: Logger }): LiveWiring {
  return wire({ ...options, instanceId: 'local', transport: null });
}

/** Across instances through Postgres LISTEN/NOTIFY, on connections of its own. */
export async function wirePostgresSignals(options: {
  databaseUrl: string;
  bus: LiveEventBus;
  hub: SignalHub;
  instanceId: string;
  logger: Logger;
  onLag?: (seconds: number) => void;
}): Promise<LiveWiring> {
  const client = postgres(options.databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'heartbeat-live' } });
  const wiring = wire({
    ...options,
    transport: { send: async (payload) => void (await client.notify(SIGNAL_CHANNEL, payload)), close: () => client.end({ timeout: 5 }) },
  });
  // postgres.js keeps the LISTEN connection up and re-listens after a reconnect.
  const listener = await client.listen(SIGNAL_CHANNEL, (payload) => wiring.receive(payload));
  return {
    close: async () => {
      await listener.unlisten().catch(() => {});
      await wiring.close();
    },
  };
}

/** Across instances through Redis pub/sub (yoga's Redis event target). */
export async function wireRedisSignals(options: {
  redisUrl: string;
  bus: LiveEventBus;
  hub: SignalHub;
  instanceId: string;
  logger: Logger;
  onLag?: (seconds: number) => void;
}): Promise<LiveWiring> {
  const publishClient = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  const subscribeClient = new Redis(options.redisUrl, { lazyConnect: true });
  await Promise.all([publishClient.connect(), subscribeClient.connect()]);
  const target = createRedisEventTarget<CustomEvent<string>>({
    publishClient,
    subscribeClient,
    serializer: { stringify: (message) => String(message), parse: (message) => message },
  });
  const wiring = wire({
    ...options,
    transport: {
      send: async (payload) => void target.dispatchEvent(new CustomEvent(SIGNAL_CHANNEL, { detail: payload })),
      close: async () => {
        publishClient.disconnect();
        subscribeClient.disconnect();
      },
    },
  });
  const onEvent = (event: CustomEvent<string>) => wiring.receive(event.detail);
  target.addEventListener(SIGNAL_CHANNEL, onEvent as EventListener);
  return {
    close: async () => {
      target.removeEventListener(SIGNAL_CHANNEL, onEvent as EventListener);
      await wiring.close();
    },
  };
}
