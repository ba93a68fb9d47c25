import { createApiKey, type CreatedApiKey } from '../engine/api-keys.ts';
import { badInput } from '../engine/errors.ts';
import { builder } from './builder.ts';
import { ApiKeyRoleEnum } from './enums.ts';
import { apiKeyOf } from './tenancy.ts';

const CreateApiKeyPayload = builder.objectRef<CreatedApiKey>('CreateApiKeyPayload').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    key: t.exposeString('key', { description: 'The secret. Shown only here: store it now.' }),
    keyPrefix: t.exposeString('keyPrefix', { description: 'The first characters, to tell keys apart later.' }),
    role: t.expose('role', { type: ApiKeyRoleEnum }),
  }),
});

builder.mutationFields((t) => ({
  createApiKey: t.field({
    type: CreateApiKeyPayload,
    description: 'Creates an API key for your company (admin keys only).',
    args: {
      name: t.arg.string({ required: true }),
      role: t.arg({ type: ApiKeyRoleEnum, defaultValue: 'viewer' }),
    },
    resolve: async (_root, { name, role }, ctx) => {
      const admin = apiKeyOf(ctx, 'admin');
      const label = name.trim();
      if (!label || label.length > 200) throw badInput('name must be 1 to 200 characters', { field: 'name' });
      return createApiKey(ctx.db, { companyId: admin.companyId, name: label, role: role ?? 'viewer' });
    },
  }),
}));
