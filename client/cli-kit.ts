// What every group of CLI commands uses: a connected client, output for people (tables) and for
// scripts (--json), typed GraphQL requests, and runs, agents and issues found by what people type.
import { InvalidArgumentError } from 'commander';
import type { AnyVariables, TypedDocumentNode } from '@urql/core';
import { HeartbeatApiError, type HeartbeatClient } from './index.ts';

export interface CliKit {
  /** An action with a connected client; prints a failure as one line and sets the exit code. */
  withClient(work: (client: HeartbeatClient, json: boolean, ...args: any[]) => Promise<number | void>): (...args: any[]) => Promise<void>;
  print(json: boolean, data: unknown, human: () => string): void;
  table(rows: Array<Record<string, unknown>>, columns: string[]): string;
  /** An agent by id, UUID, short id or name. */
  resolveAgent(client: HeartbeatClient, agent: string): Promise<{ id: string; name: string }>;
}

export function table(rows: Array<Record<string, unknown>>, columns: string[]): string {
  const text = (value: unknown) => (value === null || value === undefined ? '-' : String(value));
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => text(row[column]).length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  return [line(columns.map((c) => c.toUpperCase())), ...rows.map((row) => line(columns.map((c) => text(row[c]))))].join('\n');
}

export const print = (json: boolean, data: unknown, human: () => string) => process.stdout.write(`${json ? JSON.stringify(data, null, 2) : human()}\n`);

/** A table cell of at most `max` characters (--json has the whole text). */
export const cut = (text: string | null | undefined, max = 60) => (text && text.length > max ? `${text.slice(0, max - 1)}…` : text);

/** A commander parser for an integer option between `min` and `max`. */
export const integerBetween = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < min || n > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
  return n;
};

/** A commander parser for values of a GraphQL enum, typed in any case (`todo`, `IN_PROGRESS`, `in-progress`). */
export const oneOf = <T extends string>(values: readonly T[]) => (value: string): T => {
  const upper = value.trim().toUpperCase().replace(/-/g, '_');
  if (!(values as readonly string[]).includes(upper)) throw new InvalidArgumentError(`expected one of ${values.map((v) => v.toLowerCase().replace(/_/g, '-')).join(', ')}`);
  return upper as T;
};

/** A typed query or mutation of the CLI's own documents, failing with a HeartbeatApiError. */
export async function request<Data, Variables extends AnyVariables>(
  client: HeartbeatClient,
  kind: 'query' | 'mutation',
  document: TypedDocumentNode<Data, Variables>,
  variables: Variables,
): Promise<Data> {
  const result = await client.urql[kind](document, variables).toPromise();
  if (result.error) throw HeartbeatApiError.from(result.error);
  return result.data!;
}
