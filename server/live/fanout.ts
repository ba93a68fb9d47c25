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

/**
 * What another instance needs of a burst of signals: every run state change (each is a state a
 * runStatus subscriber must see), but only the newest event signal per run (receivers re-read the
 * run's events after the last seq they sent, so one "look again" stands for all of them), and one
 * signal per agent and per issue. Kept in the order of their last occurrence.
 */
export function compactSignals(signals: readonly LiveSignal[]): LiveSignal[] {
  const seen = new Set<string>();
  const kept: LiveSignal[] = [];
  for (let i = signals.length - 1; i >= 0; i--) {
    const signal = signals[i];
    const key =
      signal.kind === 'event' ? `event:${signal.runId}` : signal.kind === 'agent' ? `agent:${signal.agentId}` : signal.kind === 'issue' ? `issue:${signal.issueId}` : null;
    if (key !== null) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    kept.push(signal);
  }
  return kept.reverse();
}

/** Batches of at most MAX_BATCH_BYTES, each signal encoded once. */
export function encodeBatches(signals: readonly LiveSignal[], from: string, sentAt: number): string[] {
  const head = `{"from":${JSON.stringify(from)},"sentAt":${sentAt},"signals":[`;
  const tail = ']}';
  const batches: string[] = [];
  let parts: string[] = [];
  let bytes = Buffer.byteLength(head) + tail.length;
  const base = bytes;
  for (const signal of signals) {
    const json = JSON.stringify(signal);
    const size = Buffer.byteLength(json) + (parts.length > 0 ? 1 : 0);
    if (parts.length > 0 && bytes + size > MAX_BATCH_BYTES) {
      batches.push(head + parts.join(',') + tail);
      parts = [];
      bytes = base;
    }
    bytes += Buffer.byteLength(json) + (parts.length > 0 ? 1 : 0);
    parts.push(json);
  }
  if (parts.length > 0) batches.push(head + parts.join(',') + tail);
  return batches;
}

/** Connects the engine's events to this instance's hub and, through `transport`, to the others. */
function wire(options: { bus: LiveEventBus; hub: SignalHub; instanceId: string; logger: Logger; transport: Transport | null; onLag?: (seconds: number) => void }) {
  const { bus, hub, instanceId, logger, transport } = options;
  let pending: LiveSignal[] = [];
  let scheduled = false;
  // One send at a time, off the engine's commit path. While one is on its way, the signals that
  // follow gather into the next: under load, fewer and fuller NOTIFYs (each one serialises commits
  // on the database for a moment); when idle, a signal leaves on the next turn of the event loop.
  let sending: Promise<void> | null = null;

  const schedule = () => {
    if (scheduled || sending || pending.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  };

  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const batches = encodeBatches(compactSignals(pending), instanceId, Date.now());
    pending = [];
    sending = (async () => {
      for (const batch of batches) {
        await transport!.send(batch).catch((error: unknown) => logger.warn({ err: error }, 'could not send live signals to other instances'));
      }
    })().finally(() => {
      sending = null;
      schedule();
    });
  };

  const unsubscribe = bus.subscribe((event) => {
    const signal = signalOf(event);
    if (!signal) return;
    hub.deliver(signal);
    if (!transport) return;
    pending.push(signal);
    schedule();
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
      // Whatever is still gathering goes out before the transport closes.
      while (sending || pending.length > 0) {
        if (sending) await sending;
        else flush();
      }
      await transport?.close();
    },
  };
}

/** In-process only: for a single instance, or tests. */
export function wireLocalSignals(options: { bus: LiveEventBus; hub: SignalHub; logger: Logger }): LiveWiring {
  return wire({ ...options, instanceId: 'local', transport: null });
}

/** What both cross-instance transports are wired with. */
interface CrossInstanceOptions {
  bus: LiveEventBus;
  hub: SignalHub;
  instanceId: string;
  logger: Logger;
  onLag?: (seconds: number) => void;
}

/** Across instances through Postgres LISTEN/NOTIFY, on connections of its own. */
export async function wirePostgresSignals(options: CrossInstanceOptions & { databaseUrl: string }): Promise<LiveWiring> {
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
export async function wireRedisSignals(options: CrossInstanceOptions & { redisUrl: string }): Promise<LiveWiring> {
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
