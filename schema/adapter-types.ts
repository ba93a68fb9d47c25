// Query.adapterTypes: each adapter type with the JSON Schema of its adapterConfig, for forms.
import { adapterTypeInfos, type AdapterTypeInfo } from '../engine/index.ts';
import { builder } from './builder.ts';
import { AdapterTypeEnum } from './enums.ts';
import { apiKeyOf } from './tenancy.ts';

const AdapterTypeInfoRef = builder.objectRef<AdapterTypeInfo>('AdapterTypeInfo').implement({
  description: 'An adapter type: what it does and what its adapterConfig takes.',
  fields: (t) => ({
    type: t.expose('type', { type: AdapterTypeEnum }),
    description: t.exposeString('description'),
    configSchema: t.expose('configSchema', {
      type: 'JSON',
      description: "JSON Schema (draft 2020-12) of the adapterConfig createAgent and updateAgent accept, generated from the adapter's own validation.",
    }),
  }),
});

builder.queryFields((t) => ({
  adapterTypes: t.field({
    type: [AdapterTypeInfoRef],
    description: 'Every adapter type, once. Any API key may read it.',
    resolve: (_root, _args, ctx) => {
      apiKeyOf(ctx);
      return adapterTypeInfos();
    },
  }),
}));
