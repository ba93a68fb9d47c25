// One execution per subscription item for the subscribers that would execute it alike: the same
// item, document, operation, variables and caller. Everything else is executed for each.
import { envelop, useEngine, useSchema } from '@envelop/core';
import { execute, subscribe } from '@graphql-tools/executor';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString, parse, validate, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { Principal } from '../../engine/index.ts';
import { useSharedEventExecution } from '../../server/shared-event-execution.ts';

type Item = { n: number };

/** Items the test hands out: every subscriber gets the same objects, as shared page reads do. */
function fixture() {
  const items: Item[] = [{ n: 1 }, { n: 2 }, { n: 3 }];
  let executions = 0;
  const Tick = new GraphQLObjectType({
    name: 'Tick',
    fields: {
      n: { type: new GraphQLNonNull(GraphQLInt) },
      label: {
        type: GraphQLString,
        args: { prefix: { type: GraphQLString } },
        resolve: (item: Item, args: { prefix?: string | null }) => {
          executions += 1;
          return `${args.prefix ?? ''}${item.n}`;
        },
      },
    },
  });
  const schema = new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields: { ok: { type: GraphQLString, resolve: () => 'ok' } } }),
    subscription: new GraphQLObjectType({
      name: 'Subscription',
      fields: {
        ticks: {
          type: new GraphQLNonNull(Tick),
          args: { from: { type: GraphQLInt } },
          subscribe: async function* (_root: unknown, args: { from?: number | null }) {
            for (const item of items) if (item.n > (args.from ?? 0)) yield item;
          },
          resolve: (item: unknown) => item as Item,
        },
      },
    }),
  });
  const getEnveloped = envelop({ plugins: [useEngine({ parse, validate, execute, subscribe }), useSchema(schema), useSharedEventExecution()] });
  const watch = async (principal: Principal, query: string, variables: Record<string, unknown> = {}) => {
    const enveloped = getEnveloped({ principal });
    const stream = (await enveloped.subscribe({
      schema: enveloped.schema,
      document: enveloped.parse(query),
      variableValues: variables,
      contextValue: await enveloped.contextFactory(),
    })) as AsyncIterable<ExecutionResult> | ExecutionResult;
    if (!(Symbol.asyncIterator in stream)) return [stream];
    const results: ExecutionResult[] = [];
    for await (const result of stream) results.push(result);
    return results;
  };
  return { watch, executions: () => executions };
}

const key = (keyId: string): Principal => ({ kind: 'apiKey', keyId, companyId: 'c1', role: 'admin' });
const LABELS = 'subscription W($from: Int) { ticks(from: $from) { n label(prefix: "#") } }';

describe('shared execution of subscription items', () => {
  it('executes each item once for subscribers with the same document, variables and caller, and hands each all of its items', async () => {
    const { watch, executions } = fixture();
    const all = await Promise.all([watch(key('k1'), LABELS), watch(key('k1'), LABELS), watch(key('k1'), LABELS)]);
    for (const results of all) expect(results.map((r) => r.data)).toEqual([1, 2, 3].map((n) => ({ ticks: { n, label: `#${n}` } })));
    expect(executions()).toBe(3);
  });

  it('executes again for another caller, other variables or another document', async () => {
    const { watch, executions } = fixture();
    await watch(key('k1'), LABELS);
    expect(executions()).toBe(3);
    await watch(key('k2'), LABELS);
    expect(executions()).toBe(6);
    const later = await watch(key('k1'), LABELS, { from: 1 });
    expect(later.map((r) => (r.data as { ticks: { n: number } }).ticks.n)).toEqual([2, 3]);
    expect(executions()).toBe(8);
    const plain = await watch(key('k1'), 'subscription { ticks { label } }');
    expect(plain.map((r) => r.data)).toEqual([1, 2, 3].map((n) => ({ ticks: { label: `${n}` } })));
    expect(executions()).toBe(11);
    await watch({ kind: 'runToken', runId: 'r1', companyId: 'c1', agentId: 'a1', issueId: null }, LABELS);
    expect(executions()).toBe(14);
  });

  it('reports a subscription that cannot start as errors, as before', async () => {
    const { watch, executions } = fixture();
    const results = await watch(key('k1'), LABELS, { from: 'not a number' });
    // Variables that do not coerce: one result with errors, no items.
    expect(executions()).toBe(0);
    expect(results).toEqual([expect.objectContaining({ errors: [expect.objectContaining({ message: expect.stringContaining('$from') })] })]);
  });
});
