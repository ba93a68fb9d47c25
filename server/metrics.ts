// Prometheus metrics at GET /metrics (prom-client), one registry per server.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/index.ts';
import type { LiveEvent } from '../engine/index.ts';
import { OUTPUT_SILENCE_LEVELS } from '../engine/index.ts';
import type { ResponseCacheOutcome } from './response-cache.ts';
import type { SignalHub } from './live/hub.ts';

const seconds = (from: string | null, to: string | null) => (from && to ? (new Date(to).getTime() - new Date(from).getTime()) / 1000 : null);

export interface ServerMetrics {
  registry: Registry;
  /** Seconds between a live batch leaving one instance and arriving at this one. */
  observeSignalLag(seconds: number): void;
  /** One cacheable query over HTTP, by how it was answered. */
  countResponseCacheLookup(outcome: ResponseCacheOutcome): void;
  /** A catch-up after a gap in live signals, and the runs it announced again. */
  countCatchUp(runs: number): void;
  /** A batch of live signals sent again after its send failed. */
  countSignalResend(): void;
  close(): void;
}

export function createMetrics(options: { db: Database; engine: Engine; hub: SignalHub }): ServerMetrics {
  const { db, engine, hub } = options;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'heartbeat_' });

  // Counts by status come from the database at scrape time, so every instance reports the same;
  // one query per scrape feeds both gauges.
  let counts: { at: number; value: Promise<Map<string, number>> } | null = null;
  const runCounts = () => {
    if (!counts || Date.now() - counts.at > 500) {
      const value = db
        .execute<{ status: string; n: number }>(sql`select status, count(*)::int as n from heartbeat_runs group by status`)
        .then((rows) => new Map(rows.map((row) => [row.status, Number(row.n)])));
      counts = { at: Date.now(), value };
    }
    return counts.value;
  };
  new Gauge({
    name: 'heartbeat_runs',
    help: 'Runs by status (all companies).',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [status, n] of await runCounts()) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'heartbeat_queue_depth',
    help: 'Runs waiting to be claimed (queued) and scheduled retries not yet due.',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const current = await runCounts();
      this.set({ state: 'queued' }, current.get('queued') ?? 0);
      this.set({ state: 'scheduled_retry' }, current.get('scheduled_retry') ?? 0);
    },
  });
  // Silent runs (docs/engine.md §17): running runs by the level the engine's loop last recorded
  // (null = ok), from one statement per scrape over the running runs only (a partial index).
  new Gauge({
    name: 'heartbeat_runs_output_silence',
    help: 'Running runs by output-silence level (ok, suspicious, critical, snoozed), as the engine last evaluated them (all companies).',
    labelNames: ['level'],
    registers: [registry],
    async collect() {
      const rows = await db.execute<{ level: string; n: number }>(
        sql`select coalesce(output_silence_level, 'ok') as level, count(*)::int as n from heartbeat_runs where status = 'running' group by 1`,
      );
      const counts = new Map(rows.map((row) => [row.level, Number(row.n)]));
      for (const level of OUTPUT_SILENCE_LEVELS) this.set({ level }, counts.get(level) ?? 0);
    },
  });
  new Gauge({
    name: 'heartbeat_runs_executing',
    help: 'Runs this instance is executing now.',
    registers: [registry],
    collect() {
      this.set(engine.activeRunIds().length);
    },
  });
  // The engine counts; the counters here follow it at every scrape.
  const followed = (name: string, help: string, read: () => number) => {
    let seen = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const now = read();
        if (now > seen) this.inc(now - seen);
        seen = now;
      },
    });
  };
  followed('heartbeat_runs_reaped_total', 'Runs this instance reaped as lost (their process or their instance was gone).', () => engine.counters.runsReaped);
  followed('heartbeat_run_log_bytes_written_total', "Bytes of run output this instance wrote to the database (the logs of the runs it executes).", () => engine.counters.logBytesWritten);
  followed('heartbeat_instances_declared_dead_total', 'Other instances this instance declared dead (process gone, or lease lapsed while the database was reachable).', () => engine.counters.instancesDeclaredDead);
  followed('heartbeat_run_follow_ups_taken_over_total', 'Finished runs whose follow-up this instance completed because their owner died before writing it.', () => engine.counters.followUpsTakenOver);
  new Gauge({
    name: 'heartbeat_subscribers',
    help: 'Live subscriptions (runEvents, runStatus) held by this instance.',
    registers: [registry],
    collect() {
      this.set(hub.size);
    },
  });
  const claimLatency = new Histogram({
    name: 'heartbeat_claim_latency_seconds',
    help: 'From a run being queued to its claim (runs claimed by this instance).',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120],
    registers: [registry],
  });
  const runDuration = new Histogram({
    name: 'heartbeat_run_duration_seconds',
    help: 'From claim to terminal status, by outcome (runs finished by this instance).',
    labelNames: ['status'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600],
    registers: [registry],
  });
  const runsFinished = new Counter({ name: 'heartbeat_runs_finished_total', help: 'Runs that reached a terminal status here, by status.', labelNames: ['status'], registers: [registry] });
  const signalLag = new Histogram({
    name: 'heartbeat_notify_lag_seconds',
    help: 'Live signal delay between instances (NOTIFY or Redis), measured by the receiver.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });

  const responseCacheLookups = new Counter({
    name: 'heartbeat_response_cache_lookups_total',
    help: 'Cacheable queries over HTTP, by how they were answered: stored answer (hit), a concurrent request\'s execution (shared), or executed.',
    labelNames: ['outcome'],
    registers: [registry],
  });

  const catchUps = new Counter({
    name: 'heartbeat_live_catch_ups_total',
    help: 'Catch-ups after this instance\'s connection for live signals came back: runs changed meanwhile announced again to its subscribers.',
    registers: [registry],
  });
  const catchUpRuns = new Counter({
    name: 'heartbeat_live_catch_up_runs_total',
    help: 'Runs announced again by catch-ups.',
    registers: [registry],
  });
  const signalResends = new Counter({
    name: 'heartbeat_live_signal_resends_total',
    help: 'Batches of live signals sent again to the other instances after a failed send.',
    registers: [registry],
  });

  const onEvent = (event: LiveEvent) => {
    if (event.type !== 'heartbeat.run.status') return;
    const { state } = event;
    if (state.status === 'running') {
      const wait = seconds(state.createdAt, state.startedAt);
      if (wait !== null && wait >= 0) claimLatency.observe(wait);
    } else if (['succeeded', 'failed', 'cancelled', 'timed_out'].includes(state.status) && !state.settledAt) {
      runsFinished.inc({ status: state.status });
      const duration = seconds(state.startedAt, state.finishedAt);
      if (duration !== null && duration >= 0) runDuration.observe({ status: state.status }, duration);
    }
  };
  const unsubscribe = engine.deps.bus.subscribe(onEvent);

  return {
    registry,
    observeSignalLag: (lag) => signalLag.observe(Math.max(0, lag)),
    countResponseCacheLookup: (outcome) => responseCacheLookups.inc({ outcome }),
    countCatchUp: (runs) => {
      catchUps.inc();
      catchUpRuns.inc(runs);
    },
    countSignalResend: () => signalResends.inc(),
    close: () => {
      unsubscribe();
      registry.clear();
    },
  };
}
