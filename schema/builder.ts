import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import RelayPlugin from '@pothos/plugin-relay';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { relations, type HeartbeatRelations } from '../db/relations.ts';
import type { HeartbeatContext } from './context.ts';
import { decodeGlobalId, encodeGlobalId } from './global-id.ts';
import { boundedJsonScalar } from './json-scalar.ts';
import { nodeKey, visibleNodeIds } from './node-access.ts';

export const builder = new SchemaBuilder<{
  Context: HeartbeatContext;
  DrizzleRelations: HeartbeatRelations;
  DefaultFieldNullability: false;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
}>({
  plugins: [RelayPlugin, DrizzlePlugin],
  defaultFieldNullability: false,
  drizzle: {
    client: (ctx) => ctx.db,
    relations,
    getTableConfig,
    maxConnectionSize: 100,
  },
  relay: {
    cursorType: 'String',
    // Pages are clamped, not refused, above the largest size (drizzle.maxConnectionSize); a negative
    // size is refused before anything runs (server/operation-cost.ts).
    firstArgOptions: { description: 'The first n items (after `after`): 0 to 100; more is read as 100, and pageInfo.hasNextPage tells whether there are more.' },
    lastArgOptions: { description: 'The last n items (before `before`): 0 to 100; more is read as 100, and pageInfo.hasPreviousPage tells whether there are more.' },
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
    // `node`/`nodes` bypass the root resolvers, so they apply the tenant check themselves, before
    // loading: an id of another company resolves to null, exactly like one that does not exist.
    nodeQueryOptions: {
      resolve: async (_root, { id }, ctx, _info, resolveNode) => ((await visibleNodeIds(ctx, [id])).has(nodeKey(id)) ? resolveNode(id) : null),
    },
    nodesQueryOptions: {
      resolve: async (_root, args, ctx, _info, resolveNodes) => {
        const ids = args.ids;
        const visible = await visibleNodeIds(ctx, ids);
        const allowed = ids.filter((id) => visible.has(nodeKey(id)));
        // The relay plugin's resolveNodes loads `args.ids` whatever it is given: narrow them first.
        args.ids = allowed;
        const loaded = allowed.length > 0 ? await resolveNodes(allowed) : [];
        return ids.map((id) => (visible.has(nodeKey(id)) ? loaded[allowed.indexOf(id)] : null));
      },
    },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver, boundedJsonScalar);

builder.queryType({});
builder.mutationType({});
