// What an operation costs, counted before it runs, with its variables: every field costs what it
// returns, times the size of every list above it. A static cost (graphql-armor's) cannot see that
// `nodes(ids: $ids)` with 14,000 ids, or `events(first: 1000)` inside `runs(first: 100)`, returns
// millions of objects; this does.
import {
  getNamedType,
  getNullableType,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';
import { badInput } from '../engine/index.ts';
import { cursorError, cursorListOf, unwrapCursor } from '../schema/connection-cursors.ts';

export const COST_MODEL = {
  /** `nodes(ids:)` takes at most this many ids (more is BAD_USER_INPUT). */
  maxNodeIds: 100,
  /** Connections: the page size without `first`/`last`, and its clamp (schema/builder.ts: relay defaults, maxConnectionSize). */
  defaultPageSize: 20,
  maxPageSize: 100,
  /** Other lists bounded by `first` (RunEvent: 1 to 1000, schema/run.ts). */
  maxListFirst: 1000,
  /** Lists nothing bounds (comments, documents, blockers, retries): an assumed size. */
  unboundedListSize: 10,
  /** A JSON value: context, result (up to 64 KiB), usage, payload, adapter config. */
  jsonFieldCost: 50,
} as const;

/** Text fields that can be long, by schema coordinate: their cost stands for their size. */
const WIDE_FIELDS: Record<string, number> = {
  'HeartbeatRun.stdoutExcerpt': 50, // up to 32 KiB
  'HeartbeatRun.stderrExcerpt': 50,
  'HeartbeatRun.log': 1_000, // a whole file, however long
  'IssueComment.body': 20, // up to 100,000 characters (engine/issues/issues.ts)
  'IssueDocument.body': 50, // up to 1,000,000 characters
  'Issue.description': 20, // up to 100,000 characters
};

export const wideFieldCoordinates = () => Object.keys(WIDE_FIELDS);

interface Walk {
  schema: GraphQLSchema;
  variables: Record<string, unknown>;
  fragments: Map<string, FragmentDefinitionNode>;
  /** Cost per fragment: a fragment spread many times is walked once. */
  fragmentCosts: Map<string, number>;
}

/**
 * The cost of the chosen operation, or null when there is none (graphql-js reports that itself).
 * Throws BAD_USER_INPUT for a `nodes(ids:)` list over COST_MODEL.maxNodeIds, and for a negative
 * page size or another list's cursor on a connection.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: unknown,
): number | null {
  let operation: OperationDefinitionNode | undefined;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    else if (definition.kind === Kind.OPERATION_DEFINITION && (!operationName || definition.name?.value === operationName)) operation ??= definition;
  }
  const root = operation && schema.getRootType(operation.operation);
  if (!operation || !root) return null;
  // Variables as sent, over the defaults the document declares.
  const variables: Record<string, unknown> = {};
  for (const definition of operation.variableDefinitions ?? []) {
    if (definition.defaultValue) variables[definition.variable.name.value] = valueFromASTUntyped(definition.defaultValue);
  }
  if (rawVariables && typeof rawVariables === 'object') Object.assign(variables, rawVariables);
  return selectionCost({ schema, variables, fragments, fragmentCosts: new Map() }, operation.selectionSet, root, new Set());
}

function selectionCost(walk: Walk, set: SelectionSetNode, parent: GraphQLNamedType, visiting: Set<string>): number {
  let total = 0;
  for (const selection of set.selections) {
    if (selection.kind === Kind.FIELD) {
      total += fieldCost(walk, selection, parent, visiting);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      const type = selection.typeCondition ? walk.schema.getType(selection.typeCondition.name.value) : parent;
      if (type) total += selectionCost(walk, selection.selectionSet, type, visiting);
    } else {
      total += fragmentCost(walk, selection.name.value, visiting);
    }
  }
  return total;
}

function fragmentCost(walk: Walk, name: string, visiting: Set<string>): number {
  const known = walk.fragmentCosts.get(name);
  if (known !== undefined) return known;
  const fragment = walk.fragments.get(name);
  const type = fragment && walk.schema.getType(fragment.typeCondition.name.value);
  // Unknown fragments and cycles are refused by validation; they add nothing here.
  if (!fragment || !type || visiting.has(name)) return 0;
  const cost = selectionCost(walk, fragment.selectionSet, type, new Set(visiting).add(name));
  walk.fragmentCosts.set(name, cost);
  return cost;
}

function fieldCost(walk: Walk, node: FieldNode, parent: GraphQLNamedType, visiting: Set<string>): number {
  const name = node.name.value;
  // Introspection is bounded by the schema (and off in production).
  if (name.startsWith('__')) return 0;
  const field = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
  if (!field) return 1;
  const type = getNamedType(field.type);
  const own = WIDE_FIELDS[`${parent.name}.${name}`] ?? (type.name === 'JSON' ? COST_MODEL.jsonFieldCost : 1);
  const below = node.selectionSet ? selectionCost(walk, node.selectionSet, type, visiting) : 0;
  return listSize(walk, node, field, parent) * (own + below);
}

/** How many items a field returns at most (1 for a single value). */
function listSize(walk: Walk, node: FieldNode, field: GraphQLField<unknown, unknown>, parent: GraphQLNamedType): number {
  const args = argumentValues(walk, node, field);
  if (getNamedType(field.type).name.endsWith('Connection')) {
    const coordinate = `${parent.name}.${node.name.value}`;
    refuseNegativePageSize(args, coordinate);
    refuseForeignCursors(args, getNamedType(field.type), coordinate);
    const size = integer(args.first) ?? integer(args.last) ?? COST_MODEL.defaultPageSize;
    return clamp(size, 0, COST_MODEL.maxPageSize);
  }
  if (!isListType(getNullableType(field.type))) return 1;
  if (field.args.some((a) => a.name === 'ids')) {
    const ids = args.ids;
    const count = Array.isArray(ids) ? ids.length : ids === null || ids === undefined ? 0 : 1;
    if (count > COST_MODEL.maxNodeIds) throw badInput(`nodes takes at most ${COST_MODEL.maxNodeIds} ids (got ${count})`, { argument: 'ids' });
    return count;
  }
  if (field.args.some((a) => a.name === 'first')) return clamp(integer(args.first) ?? COST_MODEL.defaultPageSize, 1, COST_MODEL.maxListFirst);
  // A connection's edges: its page size is already counted on the connection field.
  if (parent.name.endsWith('Connection')) return 1;
  return COST_MODEL.unboundedListSize;
}

/**
 * A connection's `first`/`last` below 0 is BAD_USER_INPUT naming the field. Checked here (and the
 * cursors below), before anything runs, because plugin-drizzle plans a nested connection
 * (Agent.runs) in its parent's resolver, whose error would null the parent and carry its path.
 */
function refuseNegativePageSize(args: Record<string, unknown>, coordinate: string): void {
  for (const argument of ['first', 'last'] as const) {
    const size = integer(args[argument]);
    if (size !== undefined && size < 0) {
      throw badInput(`Argument "${argument}" of ${coordinate} must be a non-negative integer`, { argument, field: coordinate });
    }
  }
}

/** A connection's `after`/`before` that is not one of its list's cursors (same reasons as acceptCursors). */
function refuseForeignCursors(args: Record<string, unknown>, connection: GraphQLNamedType, coordinate: string): void {
  const list = cursorListOf(connection);
  if (!list) return;
  for (const argument of ['after', 'before'] as const) {
    const cursor = args[argument];
    if (typeof cursor !== 'string' || cursor === '') continue;
    const result = unwrapCursor(list, cursor);
    if ('error' in result) throw cursorError(argument, result.error, coordinate);
  }
}

/** The field's arguments as sent, variables resolved, with the schema's defaults for the rest. */
function argumentValues(walk: Walk, node: FieldNode, field: GraphQLField<unknown, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const arg of field.args) if (arg.defaultValue !== undefined) values[arg.name] = arg.defaultValue;
  for (const arg of node.arguments ?? []) {
    const value = valueFromASTUntyped(arg.value, walk.variables);
    if (value !== undefined && value !== null) values[arg.name.value] = value;
  }
  return values;
}

const integer = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? Math.trunc(value) : undefined);
const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));

/** Remembered costs per parsed document (yoga reuses one per query text): dashboards re-ask the same page. */
const remembered = new WeakMap<DocumentNode, Map<string, number | null | Error>>();
/** Variables longer than this as JSON (14,000 ids, say) are costed afresh rather than kept. */
const MAX_REMEMBERED_KEY = 2_048;
const MAX_REMEMBERED_PER_DOCUMENT = 64;

const isQuery = (document: DocumentNode, operationName: string | null | undefined) =>
  document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'query' && (!operationName || d.name?.value === operationName));

/** The operation and its variables as a key; null when too long or too deep to stringify (checked later). */
function rememberKey(operationName: string | null | undefined, rawVariables: unknown): string | null {
  let variables = '';
  try {
    variables = rawVariables ? JSON.stringify(rawVariables) : '';
  } catch {
    return null; // nested past the stack: the JSON scalar refuses it when the variables are coerced
  }
  const key = `${operationName ?? ''}\u0000${variables}`;
  return key.length > MAX_REMEMBERED_KEY ? null : key;
}

/** operationCost, remembered per document, operation and variables. */
export function rememberedOperationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  rawVariables: unknown,
): number | null {
  // Queries are what gets asked again; a mutation's variables (payloads, configs) can be large.
  const key = isQuery(document, operationName) ? rememberKey(operationName, rawVariables) : null;
  if (key === null) return operationCost(schema, document, operationName, rawVariables);
  let costs = remembered.get(document);
  const known = costs?.get(key);
  if (known instanceof Error) throw known;
  if (known !== undefined) return known;
  let result: number | null | Error;
  try {
    result = operationCost(schema, document, operationName, rawVariables);
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    result = error;
  }
  if (!costs) remembered.set(document, (costs = new Map()));
  if (costs.size >= MAX_REMEMBERED_PER_DOCUMENT) costs.delete(costs.keys().next().value!);
  costs.set(key, result);
  if (result instanceof Error) throw result;
  return result;
}
