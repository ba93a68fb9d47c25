import type { Database } from '../db/client.ts';
import type { Engine } from '../engine/engine.ts';
import type { LiveFeed } from '../engine/live-signals.ts';
import type { Principal } from '../engine/principal.ts';

/** What every resolver gets. Built by the server per HTTP request or WebSocket operation. */
export interface HeartbeatContext {
  db: Database;
  engine: Engine;
  /** Null only for anonymous introspection; every other operation is refused without a key. */
  principal: Principal | null;
  /** Live signals of this instance, for subscriptions. */
  live: LiveFeed;
}
