// node:http server: health endpoints, GraphQL over HTTP (yoga) and over WebSocket on one port.
import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/index.ts';
import type { LiveFeed } from '../engine/index.ts';
import { DEFAULT_REQUEST_TIMEOUT_MS, RequestDeadline, runWithRequestDeadline } from '../engine/index.ts';
import { dashboardHandler } from './dashboard.ts';
import type { Logger } from './logger.ts';
import type { ServerMetrics } from './metrics.ts';
import { attachWebSocketServer } from './websocket.ts';
import { createHeartbeatYoga, GRAPHQL_PATH } from './yoga.ts';

/** A body too large (413), or of unknown length (411), is refused before anything reads it. */
function refuseBody(req: IncomingMessage, res: ServerResponse, maxBytes: number): boolean {
  const refuse = (status: number, code: string, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json', connection: 'close' });
    res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
    req.resume();
    return true;
  };
  const length = req.headers['content-length'];
  if (length === undefined) {
    return req.headers['transfer-encoding'] ? refuse(411, 'LENGTH_REQUIRED', 'Send a Content-Length with the request body') : false;
  }
  if (!/^\d+$/.test(length)) return refuse(400, 'BAD_REQUEST', 'Content-Length is not a number');
  if (Number(length) > maxBytes) return refuse(413, 'PAYLOAD_TOO_LARGE', `The request body is larger than ${maxBytes} bytes`);
  return false;
}

/** Longest a readiness check waits for the database before answering "database unreachable". */
export const READINESS_TIMEOUT_MS = 500;

type Readiness = { ready: true } | { ready: false; reason: 'database unreachable' | 'data directory missing'; error?: unknown };

/**
 * /readyz: whether this instance can serve, answered within READINESS_TIMEOUT_MS. The database is
 * asked `select 1` on a connection of the check's own (not the pool's, whose connections wait out a
 * reconnect backoff and may all be busy), which reconnects at once: the answer follows the database
 * within a second either way. With the embedded PostgreSQL, its data directory must still be there:
 * a deleted one keeps being served from open files until the server stops, then is gone.
 */
function readinessCheck(options: { db: Database; databaseUrl?: string; embeddedDataDir?: string }) {
  let probe: postgres.Sql | null = null;
  let asking: Promise<unknown> | null = null;
  const ask = (): Promise<unknown> => {
    if (!options.databaseUrl) return options.db.execute(sql`select 1`);
    probe ??= postgres(options.databaseUrl, {
      max: 1,
      connect_timeout: 2,
      // Reconnect at once when asked: the check is rare, and must see the database as soon as it is back.
      backoff: () => 0,
      idle_timeout: 60,
      fetch_types: false,
      onnotice: () => {},
      connection: { application_name: 'heartbeat-readiness' },
    });
    return probe`select 1`;
  };
  const dropProbe = () => {
    // Its connection may be stuck on a peer that vanished: the next check opens a new one.
    const stuck = probe;
    probe = null;
    asking = null;
    void stuck?.end({ timeout: 0 }).catch(() => {});
  };
  return {
    async check(): Promise<Readiness> {
      if (options.embeddedDataDir) {
        const present = await access(join(options.embeddedDataDir, 'PG_VERSION')).then(
          () => true,
          () => false,
        );
        if (!present) return { ready: false, reason: 'data directory missing' };
      }
      // One question at a time: concurrent checks share it.
      const question = (asking ??= ask().finally(() => {
        if (asking === question) asking = null;
      }));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), READINESS_TIMEOUT_MS)));
      try {
        const answer = await Promise.race([question, timedOut]);
        if (answer !== 'timeout') return { ready: true };
        dropProbe();
        return { ready: false, reason: 'database unreachable', error: new Error(`no answer within ${READINESS_TIMEOUT_MS} ms`) };
      } catch (error) {
        return { ready: false, reason: 'database unreachable', error };
      } finally {
        clearTimeout(timer);
      }
    },
    close: async () => {
      await probe?.end({ timeout: 0 }).catch(() => {});
      probe = null;
    },
  };
}

export interface RunningHttpServer {
  port: number;
  /** Base URL, e.g. http://127.0.0.1:4000 */
  url: string;
  graphqlUrl: string;
  close(): Promise<void>;
}

export async function startHttpServer(options: {
  db: Database;
  engine: Engine;
  live: LiveFeed;
  logger: Logger;
  host: string;
  port: number;
  graphiql: boolean;
  responseCacheBytes?: number;
  hardening: Parameters<typeof createHeartbeatYoga>[0]['hardening'] & { maxBodyBytes: number };
  metrics?: ServerMetrics;
  /** What requests and /readyz need to know about the database. */
  availability?: {
    /** HEARTBEAT_REQUEST_TIMEOUT_MS: a GraphQL request is answered (or refused, 503) within it. */
    requestTimeoutMs?: number;
    /** /readyz asks the database on a connection of its own to this URL (without it: the pool). */
    databaseUrl?: string;
    /** The embedded PostgreSQL's data directory: /readyz is not ready once it is gone. */
    embeddedDataDir?: string;
  };
}): Promise<RunningHttpServer> {
  const { db, logger } = options;
  const requestTimeoutMs = options.availability?.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const readiness = readinessCheck({ db, databaseUrl: options.availability?.databaseUrl, embeddedDataDir: options.availability?.embeddedDataDir });
  let lastReadiness: string | undefined;
  const yoga = createHeartbeatYoga({
    db,
    engine: options.engine,
    live: options.live,
    logger,
    graphiql: options.graphiql,
    responseCacheBytes: options.responseCacheBytes,
    onResponseCacheLookup: options.metrics?.countResponseCacheLookup,
    hardening: options.hardening,
    requestTimeoutMs,
  });
  const dashboard = dashboardHandler({ logger });

  const httpServer = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    // Every request gets an id (the caller's X-Request-Id, or a new one), echoed and logged.
    const requestHeader = req.headers['x-request-id'];
    const requestId = typeof requestHeader === 'string' && /^[\w.:-]{1,100}$/.test(requestHeader) ? requestHeader : randomUUID();
    res.setHeader('x-request-id', requestId);
    const started = performance.now();
    res.once('finish', () => {
      const entry = { requestId, method: req.method, path, status: res.statusCode, ms: Math.round(performance.now() - started) };
      if (res.statusCode >= 500) logger.warn(entry, 'request failed');
      else logger.debug(entry, 'request');
    });
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/metrics' && options.metrics) {
      const { registry } = options.metrics;
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (error: unknown) => {
          logger.warn({ err: error }, 'metrics collection failed');
          res.writeHead(503, { 'content-type': 'text/plain' }).end('metrics unavailable');
        },
      );
      return;
    }
    if (path === '/readyz') {
      void readiness.check().then((state) => {
        // Logged when it changes, not on every probe of an outage.
        const now = state.ready ? 'ready' : state.reason;
        if (now !== lastReadiness) {
          if (state.ready) logger.info('readiness check: ready');
          else logger.warn({ reason: state.reason, err: state.error }, `readiness check failed: ${state.reason}`);
          lastReadiness = now;
        }
        if (state.ready) res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
        else res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'unavailable', reason: state.reason }));
      });
      return;
    }
    if (dashboard(req, res)) return;
    if (req.method === 'POST' && refuseBody(req, res, options.hardening.maxBodyBytes)) return;
    // The request is answered, or refused with 503, within requestTimeoutMs of its first database
    // work; what it has not committed by then never is (engine/store/request-deadline.ts).
    const deadline = new RequestDeadline(requestTimeoutMs);
    // Answered before the time was up (a refusal, a cached answer, ...): nothing more is bounded.
    res.once('finish', () => deadline.release());
    runWithRequestDeadline(deadline, () => void yoga(req, res));
  });
  const ws = attachWebSocketServer({ httpServer, yoga, db, engine: options.engine, logger, maxPayloadBytes: options.hardening.maxBodyBytes });

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, options.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  const url = `http://${host}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    port,
    url,
    graphqlUrl: `${url}${GRAPHQL_PATH}`,
    close: () => {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => httpServer.close(() => resolve()));
        await ws.close();
        httpServer.closeIdleConnections();
        httpServer.closeAllConnections();
        await stopped;
        await readiness.close();
      })();
      return closing;
    },
  };
}
