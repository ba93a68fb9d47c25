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
}

export function connectDatabase(url: string, options: DatabaseOptions = {}) {
  const sql = postgres(url, {
    max: options.max ?? 10,
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'heartbeat' },
  });
  const onQuery = options.onQuery;
  const db = drizzle({ client: sql, relations, ...(onQuery ? { logger: { logQuery: (query: string) => onQuery(query) } } : {}) });
  return {
    sql,
    db,
    close: () => sql.end({ timeout: 5 }),
  };
}

export type DatabaseConnection = ReturnType<typeof connectDatabase>;
export type Database = DatabaseConnection['db'];
export type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];
/** Anything that can run queries: the pool or an open transaction. */
export type Executor = Database | Transaction;
