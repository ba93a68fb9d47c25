// Rows read with hand-written SQL (the batched and pipelined statements of the claims, wakeups and
// run batches), mapped into the same objects drizzle's query builder returns, through drizzle's
// own column mappers; the connection under a transaction, for statement pipelines; and prepared
// execution of hand-written SQL.
import { getColumns, is, SQL, type Table } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { postgresJsCodecs } from 'drizzle-orm/postgres-js/codecs';
import type postgres from 'postgres';
import type { Executor, Transaction } from '../../db/client.ts';
import { agents, heartbeatRuns, issueComments, issues, wakeupRequests } from '../../db/schema.ts';
import type { IssueRow, RunRow, WakeupRow } from '../model/runs.ts';
import { isUuid } from '../../db/columns.ts';

type Column = { name: string; codec?: string; mapFromDriverValue: ((value: unknown) => unknown) & { isNoop?: boolean } };
const codecs = postgresJsCodecs as Record<string, { normalize?: (value: unknown) => unknown } | undefined>;

/**
 * Exactly what drizzle's row mapper applies: the driver codec of the column's type, then the column's
 * decoder. Most columns (text, uuid, numbers, json) have neither and are copied as they come.
 */
function rowMapper<T>(table: Table): (raw: Record<string, unknown>) => T {
  const columns = Object.entries(getColumns(table)).map(([key, c]) => {
    const column = c as unknown as Column;
    const normalize = column.codec ? codecs[column.codec]?.normalize : undefined;
    const fromDriver = column.mapFromDriverValue.isNoop ? undefined : column.mapFromDriverValue.bind(column);
    const decode =
      normalize && fromDriver ? (value: unknown) => fromDriver(normalize(value)) : normalize ?? fromDriver;
    return { key, name: column.name, decode };
  });
  return (raw) => {
    const row: Record<string, unknown> = {};
    for (const { key, name, decode } of columns) {
      const value = raw[name];
      row[key] = value === null || value === undefined ? null : decode ? decode(value) : value;
    }
    return row as T;
  };
}

/**
 * The row an insert of `values` into `table` stores: each column's value as given, else its
 * constant default, else null. A column whose default the database computes must be given.
 */
function newRowBuilder<T>(table: Table): (values: Partial<T>) => T {
  const columns = Object.entries(getColumns(table)).map(([key, c]) => {
    const column = c as unknown as { default?: unknown };
    return { key, computed: is(column.default, SQL), fallback: column.default ?? null };
  });
  return (values) => {
    const row: Record<string, unknown> = {};
    for (const { key, computed, fallback } of columns) {
      const value = (values as Record<string, unknown>)[key];
      if (value === undefined && computed) throw new Error(`A new row needs its ${key}: the database computes its default`);
      row[key] = value === undefined ? (typeof fallback === 'object' && fallback !== null ? structuredClone(fallback) : fallback) : value;
    }
    return row as T;
  };
}

/** A new `heartbeat_runs` row as the database will store it, before it answers. */
export const newRunRow = newRowBuilder<RunRow>(heartbeatRuns);

/** A `heartbeat_runs` row as postgres.js returned it (snake_case, driver values) -> RunRow. */
export const runRowFromDriver = rowMapper<RunRow>(heartbeatRuns);
export const wakeupRowFromDriver = rowMapper<WakeupRow>(wakeupRequests);
export const agentRowFromDriver = rowMapper<typeof agents.$inferSelect>(agents);
export const issueRowFromDriver = rowMapper<IssueRow>(issues);
export const commentRowFromDriver = rowMapper<typeof issueComments.$inferSelect>(issueComments);


export const iso = (date: Date) => date.toISOString();
export const json = (value: unknown) => JSON.stringify(value);

/** A Postgres array literal of uuids, for one `$n::uuid[]` parameter (uuids need no quoting). */
export function uuidArray(ids: readonly string[]): string {
  for (const id of ids) if (!isUuid(id)) throw new Error(`Not a uuid: ${JSON.stringify(id)}`);
  return `{${ids.join(',')}}`;
}

/** What hand-written statements need of a transaction or the pool: its client and the statement log. */
export interface StatementSession {
  client: postgres.Sql | postgres.TransactionSql | postgres.ReservedSql;
  logger: { logQuery(query: string, params: unknown[]): void };
}

/** A drizzle database or transaction, or a pipelined transaction (pipelined-transaction.ts). */
export type StatementTarget = Executor | { session: StatementSession };

const sessionOf = (target: StatementTarget) => (target as unknown as { session: StatementSession }).session;

/**
 * The postgres.js connection under a transaction. Its queries reach the server in the order they
 * are started (`.execute()`), each one after the previous has finished, but without waiting for
 * the answers in between: a transaction can send statements whose order matters in one round
 * trip. (Parameters go through drizzle's serializers: JSON and timestamps as strings.)
 */
export function connectionOf(tx: Transaction | { session: StatementSession }): postgres.TransactionSql {
  return sessionOf(tx).client as postgres.TransactionSql;
}

const dialect = new PgDialect();

/**
 * `target.execute(query)`, prepared and sent at once. Drizzle sends raw SQL unprepared, which
 * costs postgres.js a describe round trip before every execution and the server a parse and plan
 * of the statement (for the big set-based statements of the hot path, the larger part of their
 * cost). Their text is fixed (inputs are array and JSON parameters), so each connection prepares
 * each of them once. Sent when called, not when awaited: statements reach the server in the
 * order of the calls, so a caller can queue more behind them without waiting.
 */
export function executePrepared<T extends Record<string, unknown> = Record<string, unknown>>(target: StatementTarget, query: SQL): Promise<T[]> {
  const session = sessionOf(target);
  const { sql: text, params } = dialect.sqlToQuery(query);
  session.logger.logQuery(text, params);
  return session.client.unsafe<T[]>(text, params as postgres.ParameterOrJSON<never>[], { prepare: true }).execute() as unknown as Promise<T[]>;
}
