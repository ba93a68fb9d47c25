// The JSON scalar, with a bound on how deeply a value nests. Everything downstream that walks a
// value (JSON.stringify, the database driver, payload checks) recurses, so a value nested a few
// thousand levels overflowed the stack: an internal error instead of a refused argument. No
// configuration, payload or result needs anything near the bound.
import { GraphQLError, Kind, type ValueNode } from 'graphql';
import { JSONResolver } from 'graphql-scalars';

/** Deepest nesting of objects and arrays a JSON argument may have (`{}` is 1, `{"a": []}` is 2). */
export const MAX_JSON_DEPTH = 64;

/** Whether a value nests objects and arrays deeper than `limit`; iterative, so any depth is safe. */
export function jsonDeeperThan(value: unknown, limit: number): boolean {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (item.value === null || typeof item.value !== 'object') continue;
    const depth = item.depth + 1;
    if (depth > limit) return true;
    for (const child of Array.isArray(item.value) ? item.value : Object.values(item.value)) stack.push({ value: child, depth });
  }
  return false;
}

/** The same for a literal in the document, before anything recursive reads it. */
export function literalDeeperThan(node: ValueNode, limit: number): boolean {
  const stack: Array<{ node: ValueNode; depth: number }> = [{ node, depth: 0 }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    if (item.node.kind !== Kind.OBJECT && item.node.kind !== Kind.LIST) continue;
    const depth = item.depth + 1;
    if (depth > limit) return true;
    const children = item.node.kind === Kind.OBJECT ? item.node.fields.map((field) => field.value) : item.node.values;
    for (const child of children) stack.push({ node: child, depth });
  }
  return false;
}

/**
 * A GraphQLError carrying its code: graphql-js passes one on as it is from a literal (validation)
 * and as the cause of a variable's coercion error, where any other error is wrapped twice and,
 * unrecognised, masked as an internal error.
 */
const tooDeep = () =>
  new GraphQLError(`JSON values may nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep`, {
    extensions: { code: 'BAD_USER_INPUT', maxDepth: MAX_JSON_DEPTH },
  });

export const boundedJsonScalar = {
  description: `${JSONResolver.description} Arguments nest objects and arrays at most ${MAX_JSON_DEPTH} levels deep.`,
  parseValue(value: unknown): unknown {
    if (jsonDeeperThan(value, MAX_JSON_DEPTH)) throw tooDeep();
    return JSONResolver.parseValue(value);
  },
  parseLiteral(node: ValueNode, variables?: Record<string, unknown> | null): unknown {
    if (literalDeeperThan(node, MAX_JSON_DEPTH)) throw tooDeep();
    // A variable inside the literal is itself a JSON value within the bound, so the whole stays
    // within twice the bound. (Checked again here, it would fail only while executing, where
    // graphql-js drops the cause and the error could not say BAD_USER_INPUT.)
    return JSONResolver.parseLiteral(node, variables);
  },
};
