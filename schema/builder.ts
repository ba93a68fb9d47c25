import SchemaBuilder from '@pothos/core';
import DrizzlePlugin from '@pothos/plugin-drizzle';
import RelayPlugin from '@pothos/plugin-relay';
import { getTableConfig } from 'drizzle-orm/pg-core';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { relations, type HeartbeatRelations } from '../db/relations.ts';
import type { HeartbeatContext } from './context.ts';
import { decodeGlobalId, encodeGlobalId } from './global-id.ts';
import { visibleTo } from './tenancy.ts';

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
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
    // `node`/`nodes` bypass the root resolvers, so they apply the tenant check themselves: a node of
    // another company resolves to null, exactly like a node that does not exist.
    nodeQueryOptions: {
      resolve: async (_root, { id }, ctx, _info, resolveNode) => {
        const node = await resolveNode(id);
        return visibleTo(ctx, id.typename, node) ? node : null;
      },
    },
    nodesQueryOptions: {
      resolve: async (_root, { ids }, ctx, _info, resolveNodes) => {
        const nodes = await resolveNodes(ids);
        return nodes.map((node, i) => (visibleTo(ctx, ids[i].typename, node) ? node : null));
      },
    },
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', JSONResolver);

builder.queryType({});
builder.mutationType({});
