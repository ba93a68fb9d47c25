import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/index.ts';
import type { LiveFeed } from '../engine/index.ts';
import type { Principal } from '../engine/index.ts';

/**
 * Field extension marking a field that reads something besides the database (a log file): the
 * response cache (server/response-cache.ts) never stores an answer that selects one.
 */
export const READS_OUTSIDE_DATABASE = 'readsOutsideDatabase';

/** What every resolver gets. Built by the server per HTTP request or WebSocket operation. */
export interface HeartbeatContext {
  db: Database;
  engine: Engine;
  /** Null only for anonymous introspection; every other operation is refused without a key. */
  principal: Principal | null;
  /**
   * The database snapshot current when an HTTP request's key was checked; null over WebSocket and
   * without a key. The response cache (server/response-cache.ts) serves an answer again only to a
   * request with the same snapshot.
   */
  readSnapshot: string | null;
  /** How the operation arrived. Subscriptions are served over WebSocket only. */
  transport: 'http' | 'websocket';
  /** Live signals of this instance, for subscriptions. */
  live: LiveFeed;
}
