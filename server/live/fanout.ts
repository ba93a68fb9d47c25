// Live signals between instances. Each instance delivers its own signals to its subscribers
// directly and sends them to the others in batches after the commit that caused them, through
// Postgres NOTIFY (default) or Redis pub/sub (REDIS_URL). Receivers re-read rows, so a signal
// never corrupts what a subscriber sees. None is lost for good either: a batch that cannot be
// sent is sent again once it can, and after its own connection dropped an instance catches its
// subscribers up on the runs that changed meanwhile (engine/live/live-catch-up.ts).
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { Logger } from 'pino';
import type { LiveEventBus } from '../../engine/index.ts';
import { type LiveSignal, signalOf } from '../../engine/index.ts';
import type { SignalHub } from './hub.ts';

export const SIGNAL_CHANNEL = 'heartbeat_signals';
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_BATCH_BYTES = 7_000;
/** A batch that fails to send is tried again, waiting longer each time up to this, ... */
const RESEND_MAX_DELAY_MS = 2_000;
/** ... for this long (a database restart takes seconds); then it is given up, and said so. */
const RESEND_FOR_MS = 60_000;
/**
 * A catch-up after a gap covers the runs changed since the last signal heard before it, less this:
 * room for instances' clocks and for the transactions that were committing as the gap began.
 */
const CATCH_UP_MARGIN_MS = 5_000;
/** How long after ioredis's `ready` its own SUBSCRIBE has surely been answered. */
const REDIS_RESUBSCRIBE_MS = 250;

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

/** The runs of these companies changed since `since`, as signals (engine/live/live-catch-up.ts). */
export type CatchUp = (companyIds: string[], since: Date) => Promise<{ signals: LiveSignal[]; truncated: boolean }>;

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

export interface WireOptions {
  bus: LiveEventBus;
  hub: SignalHub;
  instanceId: string;
  logger: Logger;
  transport: Transport | null;
  onLag?: (seconds: number) => void;
  catchUp?: CatchUp;
  /** Told of each catch-up, with the runs it announced. */
  onCatchUp?: (runs: number) => void;
  /** Told of each attempt to send a batch again. */
  onResend?: () => void;
  /** Waits between resends (tests shorten it). */
  sleep?: (ms: number) => Promise<void>;
}

/** Connects the engine's events to this instance's hub and, through `transport`, to the others. */
export function wireSignals(options: WireOptions) {
  const { bus, hub, instanceId, logger, transport } = options;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  let pending: LiveSignal[] = [];
  let scheduled = false;
  let closing = false;
  /** When a batch (any instance's, this one's own included) last arrived: the connection worked then. */
  let lastHeard = Date.now();
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
      for (const batch of batches) await sendUntilSent(batch);
    })().finally(() => {
      sending = null;
      schedule();
    });
  };

  // In order: the batches after a failed one wait for it (a state must not overtake the one before).
  const sendUntilSent = async (batch: string) => {
    const began = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        await transport!.send(batch);
        if (attempt > 0) logger.info({ attempts: attempt + 1 }, 'sent live signals to other instances after retrying');
        return;
      } catch (error) {
        if (closing || Date.now() - began >= RESEND_FOR_MS) {
          logger.error({ err: error }, 'gave up sending live signals to other instances; their subscribers by run still poll');
          return;
        }
        if (attempt === 0) logger.warn({ err: error }, 'could not send live signals to other instances; retrying');
        await sleep(Math.min(RESEND_MAX_DELAY_MS, 100 * 2 ** attempt));
        options.onResend?.();
      }
    }
  };

  // Runs whose signals the gap may have swallowed are announced again; subscribers drop the
  // states they already sent. The database may still be starting: a few tries.
  const catchUpSince = async (since: Date) => {
    for (let attempt = 1; !closing; attempt++) {
      try {
        const { signals, truncated } = await options.catchUp!(hub.companies(), since);
        for (const signal of signals) hub.deliver(signal);
        options.onCatchUp?.(signals.length);
        logger[truncated ? 'warn' : 'info']({ runs: signals.length, since, truncated }, 'caught subscribers up on runs changed while live signals were cut off');
        return;
      } catch (error) {
        if (attempt >= 5) {
          logger.error({ err: error }, 'could not catch subscribers up after live signals were cut off');
          return;
        }
        await sleep(1_000 * attempt);
      }
    }
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
      lastHeard = Date.now();
      try {
        const batch = JSON.parse(payload) as Batch;
        if (batch.from === instanceId) return;
        if (typeof batch.sentAt === 'number') options.onLag?.((Date.now() - batch.sentAt) / 1000);
        for (const signal of batch.signals) hub.deliver(signal);
      } catch (error) {
        logger.warn({ err: error }, 'ignored a malformed live signal batch');
      }
    },
    /**
     * The connection that brings other instances' batches is (back) up. `readAfterMs`: when the
     * transport says so before it is listening again, the catch-up reads the rows that much later
     * (still from the moment of the gap), so that nothing changes unseen between its read and then.
     */
    connected(first: boolean, readAfterMs = 0) {
      const since = new Date(lastHeard - CATCH_UP_MARGIN_MS);
      lastHeard = Date.now();
      if (first || !options.catchUp) return;
      if (readAfterMs > 0) setTimeout(() => void catchUpSince(since), readAfterMs).unref();
      else void catchUpSince(since);
    },
    async close() {
      closing = true;
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
  return wireSignals({ ...options, instanceId: 'local', transport: null });
}

/** What both cross-instance transports are wired with: everything but the transport they make. */
type CrossInstanceOptions = Omit<WireOptions, 'transport' | 'sleep'>;

/** Across instances through Postgres LISTEN/NOTIFY, on connections of its own. */
export async function wirePostgresSignals(options: CrossInstanceOptions & { databaseUrl: string }): Promise<LiveWiring> {
  const client = postgres(options.databaseUrl, { max: 1, onnotice: () => {}, connection: { application_name: 'heartbeat-live' } });
  const wiring = wireSignals({
    ...options,
    transport: { send: async (payload) => void (await client.notify(SIGNAL_CHANNEL, payload)), close: () => client.end({ timeout: 5 }) },
  });
  // postgres.js keeps the LISTEN connection up and listens again after a reconnect, telling so.
  let listens = 0;
  const listener = await client.listen(SIGNAL_CHANNEL, (payload) => wiring.receive(payload), () => wiring.connected(++listens === 1));
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
  const wiring = wireSignals({
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
  // ioredis subscribes again by itself after a reconnect; each later `ready` ends a gap. It says
  // `ready` just before it sends the SUBSCRIBE, hence the catch-up's short wait.
  const onReady = () => wiring.connected(false, REDIS_RESUBSCRIBE_MS);
  subscribeClient.on('ready', onReady);
  return {
    close: async () => {
      subscribeClient.off('ready', onReady);
      target.removeEventListener(SIGNAL_CHANNEL, onEvent as EventListener);
      await wiring.close();
    },
  };
}
