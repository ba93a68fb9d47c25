// Cursors bound to the list that issued them. plugin-drizzle writes a cursor as base64("DC:" + the
// values of the ordering columns), values only; every list here orders by (a timestamp, id), so a
// cursor of one list reads as a position in any other and silently returns some page. Each cursor
// handed out therefore names its list, base64("<list>:DC:..."), and a list accepts only its own,
// checked against the types of its ordering columns before the plugin reads it.
import { completeValue, decodeCursorChunk, type MaybePromise } from '@pothos/core';
import type { PageInfoShape } from '@pothos/plugin-relay';
import type { GraphQLNamedType } from 'graphql';
import { badInput, type HeartbeatError } from '../engine/index.ts';
import { builder } from './builder.ts';
import { isUuid } from '../db/columns.ts';

const PLUGIN_PREFIX = 'DC:';
/** `<list>:DC:...`; list names are short plain words (and a refusal quotes one). */
const TAGGED = /^([A-Za-z]{1,32}):(DC:[\s\S]*)$/;

type Part = 'timestamp' | 'uuid';

/**
 * One kind of list: its name (in its cursors), its ordering, and the types of the columns its
 * cursors hold: the ordering, then the id that plugin-drizzle appends to break ties.
 */
export interface CursorKind<OrderBy> {
  readonly name: string;
  readonly orderBy: OrderBy;
  readonly parts: readonly Part[];
}

const kind = <const OrderBy>(name: string, orderBy: OrderBy): CursorKind<OrderBy> => ({ name, orderBy, parts: ['timestamp', 'uuid'] });

// A list that changes its ordering must change its name too: its old cursors are positions in
// another order.
export const AGENT_CURSORS = kind('agents', { createdAt: 'asc' });
export const ISSUE_CURSORS = kind('issues', { createdAt: 'desc' });
/** `runs`, `Agent.runs` and `Issue.runs`: one ordering, so their cursors are interchangeable. */
export const RUN_CURSORS = kind('runs', { createdAt: 'desc' });
export const WAKEUP_CURSORS = kind('wakeupRequests', { requestedAt: 'desc' });

const partFits = (part: Part, value: unknown) =>
  part === 'timestamp' ? value instanceof Date && Number.isFinite(value.getTime()) : typeof value === 'string' && isUuid(value);

/**
 * The plugin's own cursor inside `cursor`, or why `cursor` is not one of `list`'s (pure).
 * An untagged cursor, as issued before cursors named their list, is accepted when its values fit.
 */
export function unwrapCursor(list: CursorKind<unknown>, cursor: string): { cursor: string } | { error: string } {
  const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(cursor) ? Buffer.from(cursor, 'base64').toString('utf8') : '';
  const tagged = TAGGED.exec(decoded);
  if (tagged && tagged[1] !== list.name) return { error: `a cursor of the ${tagged[1]} list, not of ${list.name}` };
  const inner = tagged ? tagged[2] : decoded;
  if (!inner.startsWith(PLUGIN_PREFIX)) return { error: `not a cursor of ${list.name}` };
  let values: unknown;
  try {
    values = decodeCursorChunk(inner.slice(PLUGIN_PREFIX.length));
  } catch {
    return { error: `not a cursor of ${list.name}` };
  }
  // The plugin also reads a prefix of the columns (a cursor from before a column joined the order).
  const parts = Array.isArray(values) ? values : [values];
  if (parts.length === 0 || parts.length > list.parts.length || !parts.every((value, i) => partFits(list.parts[i], value))) {
    return { error: `not a cursor of ${list.name}` };
  }
  return { cursor: Buffer.from(inner, 'utf8').toString('base64') };
}

/** The cursor a list hands out: the plugin's, naming the list. */
export function tagCursor(list: CursorKind<unknown>, cursor: string): string;
export function tagCursor(list: CursorKind<unknown>, cursor: string | null | undefined): string | null;
export function tagCursor(list: CursorKind<unknown>, cursor: string | null | undefined): string | null {
  if (cursor == null) return null;
  return Buffer.from(`${list.name}:${Buffer.from(cursor, 'base64').toString('utf8')}`, 'utf8').toString('base64');
}

/**
 * Checks `after` and `before` of a connection's arguments and replaces them, in place, by the
 * plugin's cursors, which it then reads. Call it before the connection's query is built. A cursor
 * already unwrapped (the nested connections see their arguments twice) passes unchanged.
 */
export function acceptCursors(list: CursorKind<unknown>, args: { after?: string | null; before?: string | null }): void {
  for (const argument of ['after', 'before'] as const) {
    const cursor = args[argument];
    if (!cursor) continue; // the plugin reads "" as no cursor, as it always did
    const result = unwrapCursor(list, cursor);
    if ('error' in result) throw cursorError(argument, result.error);
    args[argument] = result.cursor;
  }
}

/** The BAD_USER_INPUT for a refused cursor; `field` names the connection when known (server/operation-cost.ts). */
export function cursorError(argument: 'after' | 'before', reason: string, field?: string): HeartbeatError {
  return badInput(`Invalid cursor in ${argument}: ${reason}; pass a cursor that this list returned`, field ? { argument, field } : { argument });
}

const KINDS = new Map<string, CursorKind<unknown>>([AGENT_CURSORS, ISSUE_CURSORS, RUN_CURSORS, WAKEUP_CURSORS].map((list) => [list.name, list]));

/** The cursor list of a connection type, as cursorFieldsOf records it in the type's extensions. */
export function cursorListOf(type: GraphQLNamedType): CursorKind<unknown> | undefined {
  const name = (type.extensions as { cursorList?: unknown }).cursorList;
  return typeof name === 'string' ? KINDS.get(name) : undefined;
}

type Types = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T> ? T : never;

/**
 * The connection and edge options of a list whose cursors name it: `pageInfo` and `cursor` are
 * the relay plugin's fields, resolved with tagged cursors (same types, so the schema is unchanged).
 */
export function cursorFieldsOf(list: CursorKind<unknown>) {
  return {
    connection: {
      extensions: { cursorList: list.name },
      fields: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, { pageInfo: MaybePromise<PageInfoShape> }>) => ({
        pageInfo: t.field({
          type: builder.pageInfoRef(),
          nullable: false,
          resolve: (connection) =>
            completeValue(connection.pageInfo, (pageInfo) => ({
              ...pageInfo,
              startCursor: tagCursor(list, pageInfo.startCursor),
              endCursor: tagCursor(list, pageInfo.endCursor),
            })),
        }),
      }),
    },
    edge: {
      fields: (t: PothosSchemaTypes.ObjectFieldBuilder<Types, { cursor: string }>) => ({
        cursor: t.string({ nullable: false, resolve: (edge) => tagCursor(list, edge.cursor) }),
      }),
    },
  };
}

/** A parent's runs (Agent.runs, Issue.runs) as a connection: newest first, with the runs list's cursors. */
export function relatedRunsOptions(description: string) {
  return {
    description,
    // Called with the arguments before the plugin reads them (when planned and when resolved).
    query: (args: { after?: string | null; before?: string | null }) => {
      acceptCursors(RUN_CURSORS, args);
      return { orderBy: RUN_CURSORS.orderBy };
    },
    totalCount: true,
  } as const;
}
