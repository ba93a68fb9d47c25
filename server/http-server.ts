// node:http server: health endpoints, GraphQL over HTTP (yoga) and over WebSocket on one port.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/engine.ts';
import type { LiveFeed } from '../engine/live-signals.ts';
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
}): Promise<RunningHttpServer> {
  const { db, logger } = options;
  const yoga = createHeartbeatYoga({
    db,
    engine: options.engine,
    live: options.live,
    logger,
    graphiql: options.graphiql,
    responseCacheBytes: options.responseCacheBytes,
    onResponseCacheLookup: options.metrics?.countResponseCacheLookup,
    hardening: options.hardening,
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
      db.execute(sql`select 1`).then(
        () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}'),
        (error: unknown) => {
          logger.warn({ err: error }, 'readiness check failed: database unreachable');
          res
            .writeHead(503, { 'content-type': 'application/json' })
            .end('{"status":"unavailable","reason":"database unreachable"}');
        },
      );
      return;
    }
    if (dashboard(req, res)) return;
    if (req.method === 'POST' && refuseBody(req, res, options.hardening.maxBodyBytes)) return;
    void yoga(req, res);
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
      })();
      return closing;
    },
  };
}
