// One Heartbeat process: database (embedded or DATABASE_URL), migrations, first-start bootstrap,
// and the HTTP/WebSocket server; `close()` takes it all down in reverse order.
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { connectDatabase, type Database } from '../db/client.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { bootstrapIfEmpty, type BootstrapResult } from '../engine/bootstrap.ts';
import { Engine, type EngineOptions } from '../engine/engine.ts';
import { changedRunSignals } from '../engine/live-catch-up.ts';
import { encodeGlobalId } from '../schema/global-id.ts';
import type { HeartbeatConfig } from './config.ts';
import { startHttpServer } from './http-server.ts';
import { wirePostgresSignals, wireRedisSignals } from './live/fanout.ts';
import { SignalHub } from './live/hub.ts';
import { createMetrics } from './metrics.ts';
import type { Logger } from './logger.ts';

export interface HeartbeatApp {
  url: string;
  graphqlUrl: string;
  port: number;
  /** Where the data lives: the embedded cluster's URL or DATABASE_URL. */
  databaseUrl: string;
  embedded: boolean;
  /** Set on the start that created the first company and its admin key. */
  bootstrap: BootstrapResult | null;
  engine: Engine;
  /** The app's own database connection. */
  db: Database;
  /** This instance's live subscribers. */
  hub: SignalHub;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Engine overrides (tests: a manual clock, wrapped adapters, no loop). */
  engine?: Partial<Omit<EngineOptions, 'db' | 'sql' | 'logger'>>;
  /** Sees every statement the app's connection sends (tests count them). */
  onQuery?: (query: string) => void;
}

export async function startHeartbeat(
  config: HeartbeatConfig,
  logger: Logger,
  options: StartOptions = {},
): Promise<HeartbeatApp> {
  const embedded = config.databaseUrl
    ? null
    : await startEmbeddedPostgres({
        dataDir: resolve(join(config.dataDir, 'pg')),
        port: config.embeddedPostgresPort,
        log: (line) => logger.debug({ postgres: line.trimEnd() }, 'embedded postgres'),
      });
  const databaseUrl = config.databaseUrl ?? embedded!.url;
  const cleanups: Array<() => Promise<unknown>> = embedded ? [() => embedded.stop()] : [];
  const closeAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  };

  try {
    await migrateDatabase(databaseUrl);
    const connection = connectDatabase(databaseUrl, { onQuery: options.onQuery });
    cleanups.push(() => connection.close());
    const bootstrap = await bootstrapIfEmpty(connection.db, {
      companyName: config.companyName,
      adminKey: config.bootstrapKey,
    });
    const engine = new Engine({
      db: connection.db,
      sql: connection.sql,
      logger,
      logDir: resolve(join(config.dataDir, 'logs')),
      maxConcurrentRunsLimit: config.maxConcurrentRunsLimit,
      shutdownGraceMs: config.shutdownGraceMs,
      tickIntervalMs: config.tickMs,
      encodeApiId: encodeGlobalId,
      ...options.engine,
    });
    // Live signals: to this instance's subscribers, and to the other instances.
    const hub = new SignalHub();
    const metrics = createMetrics({ db: connection.db, engine, hub });
    cleanups.push(async () => metrics.close());
    const liveOptions = {
      bus: engine.deps.bus,
      hub,
      instanceId: randomUUID(),
      logger,
      onLag: metrics.observeSignalLag,
      catchUp: (companyIds: string[], since: Date) => changedRunSignals(connection.db, companyIds, since),
      onCatchUp: metrics.countCatchUp,
      onResend: metrics.countSignalResend,
    };
    const live = config.redisUrl
      ? await wireRedisSignals({ ...liveOptions, redisUrl: config.redisUrl })
      : await wirePostgresSignals({ ...liveOptions, databaseUrl });
    cleanups.push(() => live.close());
    const http = await startHttpServer({
      db: connection.db,
      engine,
      live: hub,
      metrics,
      logger,
      host: config.host,
      port: config.port,
      graphiql: config.graphiql,
      responseCacheBytes: config.responseCacheMb * 1024 * 1024,
      hardening: {
        production: config.production,
        introspection: config.introspection,
        mutationRate: config.mutationRate,
        mutationBurst: config.mutationBurst,
        maxBodyBytes: config.maxBodyBytes,
      },
    });
    cleanups.push(() => http.close());
    // The engine starts once the API is reachable: agents call it back with their run token.
    await engine.start({ apiUrl: http.graphqlUrl });
    cleanups.push(() => engine.stop());
    logger.info({ url: http.graphqlUrl, embeddedPostgres: !!embedded }, 'heartbeat started');

    let closing: Promise<void> | undefined;
    return {
      url: http.url,
      graphqlUrl: http.graphqlUrl,
      port: http.port,
      databaseUrl,
      embedded: !!embedded,
      bootstrap,
      engine,
      db: connection.db,
      hub,
      close: () => (closing ??= closeAll()),
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
