// One Heartbeat process: database (embedded or DATABASE_URL), migrations, first-start bootstrap,
// and the HTTP/WebSocket server; `close()` takes it all down in reverse order.
import { prepareAgentSandbox } from '../engine/index.ts';
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import { connectDatabase, type Database } from '../db/client.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrateDatabase } from '../db/migrate.ts';
import { bootstrapIfEmpty, type BootstrapResult, requestDeadlineGuard, startTracing } from '../engine/index.ts';
import { Engine, type EngineOptions } from '../engine/index.ts';
import { changedRunSignals, PIPELINE_CONNECTIONS } from '../engine/index.ts';
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
        // Its own process group: Ctrl-C in the terminal reaches the server, which drains its runs
        // and then stops the database itself (last, below), not the database under the drain.
        detached: true,
      });
  const databaseUrl = config.databaseUrl ?? embedded!.url;
  // Run in reverse order of pushing: the engine drains first, while the API (which agents call back
  // with their run token) and the database are up; then the HTTP server, live signals, metrics, the
  // connection; the embedded PostgreSQL last. A failed step is logged and the later ones still run,
  // so that the database is stopped and the port released whatever failed before.
  const cleanups: Array<() => Promise<unknown>> = embedded
    ? [
        async () => {
          await embedded.stop();
          logger.info({ dataDir: embedded.dataDir }, 'embedded postgres stopped');
        },
      ]
    : [];
  const closeAll = async () => {
    let firstError: unknown;
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        logger.error({ err: error }, 'shutdown step failed');
        firstError ??= error;
      }
    }
    if (firstError !== undefined) throw firstError;
  };

  try {
    // Tracing (README, Tracing) before anything that makes spans; closed late, after the engine's
    // drain and the HTTP server, so the spans of the last runs and requests are exported.
    if (config.tracing) {
      const tracing = await startTracing(config.tracing, logger);
      cleanups.push(() => tracing.close());
      logger.info({ url: config.tracing.url, protocol: config.tracing.protocol }, 'tracing on');
    }
    await migrateDatabase(databaseUrl);
    const connection = connectDatabase(databaseUrl, { onQuery: options.onQuery, guard: requestDeadlineGuard });
    cleanups.push(() => connection.close());
    const leaseConnection = connectDatabase(databaseUrl, { max: 1, applicationName: 'heartbeat-lease' });
    cleanups.push(() => leaseConnection.close());
    const pipelineConnection = connectDatabase(databaseUrl, { max: PIPELINE_CONNECTIONS, applicationName: 'heartbeat-pipeline', guard: requestDeadlineGuard });
    cleanups.push(() => pipelineConnection.close());
    const bootstrap = await bootstrapIfEmpty(connection.db, {
      companyName: config.companyName,
      adminKey: config.bootstrapKey,
    });
    // What the host offers to keep agents from the server's privileges, found once (SECURITY.md, Agents).
    const agentSandbox = config.agentSandbox ? await prepareAgentSandbox(config.agentSandbox) : undefined;
    if (agentSandbox?.warning) logger.warn(agentSandbox.warning);
    if (!config.agentSandbox) logger.warn('HEARTBEAT_AGENT_SANDBOX=none: agents run as the server\'s user, with its privileges');
    const engine = new Engine({
      db: connection.db,
      sql: connection.sql,
      logger,
      logDir: resolve(join(config.dataDir, 'logs')),
      dataDir: resolve(config.dataDir),
      logRetentionDays: config.logRetentionDays,
      maxConcurrentRunsLimit: config.maxConcurrentRunsLimit,
      shutdownGraceMs: config.shutdownGraceMs,
      databaseOutageMs: config.databaseOutageMs,
      hostName: config.hostName,
      // The lease renews on a connection of its own, never queued behind the engine's work.
      leaseDb: leaseConnection.db,
      // The run pipeline's group commits on connections of their own (EngineOptions.pipelineDb).
      pipelineDb: pipelineConnection.db,
      tickIntervalMs: config.tickMs,
      silenceSuspiciousSec: config.silenceSuspiciousSec,
      silenceCriticalSec: config.silenceCriticalSec,
      hostAdapters: config.hostAdapters,
      outboundNetworks: config.outboundNetworks,
      agentSandbox,
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
      availability: { requestTimeoutMs: config.requestTimeoutMs, databaseUrl, embeddedDataDir: embedded?.dataDir },
      hardening: {
        production: config.production,
        introspection: config.introspection,
        mutationRate: config.mutationRate,
        mutationBurst: config.mutationBurst,
        maxBodyBytes: config.maxBodyBytes,
      },
    });
    cleanups.push(async () => {
      await http.close();
      logger.info({ port: http.port }, 'http server closed');
    });
    // The engine starts once the API is reachable: agents call it back with their run token.
    await engine.start({ apiUrl: http.graphqlUrl });
    // engine.stop() stops claiming at once (a wakeup sent meanwhile stays queued for the next start),
    // lets the runs in flight finish within the grace, and aborts the rest for recovery ('shutdown').
    cleanups.push(async () => {
      const running = engine.activeRunIds().length;
      const graceMs = options.engine?.shutdownGraceMs ?? config.shutdownGraceMs;
      logger.info({ runs: running, graceMs }, running ? 'draining runs' : 'stopping the engine');
      await engine.stop();
      logger.info('engine stopped');
    });
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
    // What failed to close is logged; the caller hears why the start failed.
    await closeAll().catch(() => {});
    throw error;
  }
}
