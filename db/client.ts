// The one way the process connects to PostgreSQL: postgres.js underneath, drizzle on top.
import { drizzle } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { relations } from './relations.ts';

export interface DatabaseOptions {
  /** Pool size. */
  max?: number;
  /** Shows up in pg_stat_activity, which makes a busy database easy to read. */
  applicationName?: string;
  /** Called with every statement drizzle sends (tests count them). */
  onQuery?: (query: string) => void;
  /** What may still be sent (the server's request deadline, engine/store/request-deadline.ts); everything by default. */
  guard?: StatementGuard;
}

/** Decides, as statements and transactions start, whether they may: a refusal is thrown. */
export interface StatementGuard {
  /** Throws if the statement may not reach the driver. */
  statement(text: string): void;
  /** Runs `begin(body)`, the start of a transaction, or refuses it or its COMMIT. */
  transaction<Tx, T>(begin: (body: (tx: Tx) => unknown) => Promise<T>, body: (tx: Tx) => unknown): Promise<T>;
}

const allowEverything: StatementGuard = { statement: () => {}, transaction: (begin, body) => begin(body) };

export function connectDatabase(url: string, options: DatabaseOptions = {}) {
  const sql = postgres(url, {
    max: options.max ?? 10,
    // A connection that cannot be made fails within this, not postgres.js' 30 s (seconds): a
    // request waiting for it is answered within HEARTBEAT_REQUEST_TIMEOUT_MS anyway.
    connect_timeout: CONNECT_TIMEOUT_SEC,
    // Between attempts to reconnect a connection, at most about half a second (postgres.js waits up
    // to 20 s after a few failures): the pool is back within a second of the database.
    backoff: reconnectDelaySec,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'heartbeat' },
  });
  const onQuery = options.onQuery;
  const db = drizzle({ client: preparing(sql, options.guard ?? allowEverything), relations, ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}) });
  return {
    sql,
    db,
    close: () => sql.end({ timeout: 5 }),
  };
}

/** Seconds a connection attempt may take. */
export const CONNECT_TIMEOUT_SEC = 5;

/** Seconds before reconnecting after `retries` failed attempts: 15-30 ms at first, then growing to 0.25-0.5 s. */
export function reconnectDelaySec(retries: number): number {
  return (0.5 + Math.random() / 2) * Math.min(3 ** retries / 100, 0.5);
}

type Client = postgres.Sql | postgres.TransactionSql;
type Callback = (client: postgres.TransactionSql) => unknown;

/**
 * The client drizzle gets: postgres.js, with every statement prepared. Drizzle asks for unnamed
 * statements, and postgres.js sends an unnamed statement with parameters as a describe round trip
 * before the real one, while the server parses and plans it again each time. Prepared, a
 * statement costs one round trip and is planned once per connection (the text of drizzle's
 * statements depends only on the code that builds them). Transactions and savepoints hand their
 * callbacks the same kind of client.
 */
function preparing<T extends Client>(client: T, guard: StatementGuard): T {
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (text: string, params?: unknown[], options?: Record<string, unknown>) => {
          // A write of a request whose time is up never reaches the driver (engine/store/request-deadline.ts).
          guard.statement(text);
          return target.unsafe(text, params as never[], { ...options, prepare: true });
        };
      }
      if (property === 'begin' || property === 'savepoint') {
        return (...args: unknown[]) => {
          const callback = args.pop() as Callback;
          const scoped = (tx: postgres.TransactionSql) => callback(preparing(tx, guard));
          const start = (body: Callback) => (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[property](...args, body);
          // A transaction of a request whose time is up rolls back instead of committing (engine/store/request-deadline.ts).
          return property === 'begin' ? guard.transaction(start, scoped) : start(scoped);
        };
      }
      return Reflect.get(target, property, receiver);
    },
  });
}

export type DatabaseConnection = ReturnType<typeof connectDatabase>;
export type Database = DatabaseConnection['db'];
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Anything that can run queries: the pool or an open transaction. */
export type Executor = Database | Transaction;
