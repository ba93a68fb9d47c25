import { createApiKey, type CreatedApiKey, revokeApiKey } from '../engine/index.ts';
import { badInput } from '../engine/index.ts';
import { builder } from './builder.ts';
import { encodeGlobalId } from './global-id.ts';
import { ApiKeyRoleEnum } from './enums.ts';
import { apiKeyOf } from './tenancy.ts';

const CreateApiKeyPayload = builder.objectRef<CreatedApiKey>('CreateApiKeyPayload').implement({
  fields: (t) => ({
    id: t.id({ description: 'The key\'s global id (for revokeApiKey).', resolve: (key) => encodeGlobalId('ApiKey', key.id) }),
    key: t.exposeString('key', { description: 'The secret. Shown only here: store it now.' }),
    keyPrefix: t.exposeString('keyPrefix', { description: 'The first characters, to tell keys apart later.' }),
    role: t.expose('role', { type: ApiKeyRoleEnum }),
  }),
});

export const ApiKeyRef = builder.drizzleNode('apiKeys', {
  name: 'ApiKey',
  description: 'An API key of your company. The secret itself is never shown again after creation.',
  id: { column: (key) => key.id },
  select: { columns: { id: true, companyId: true, name: true, role: true, keyPrefix: true, createdAt: true, revokedAt: true } },
  fields: (t) => ({
    name: t.exposeString('name'),
    role: t.expose('role', { type: ApiKeyRoleEnum }),
    keyPrefix: t.exposeString('keyPrefix'),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true }),
  }),
});

builder.queryFields((t) => ({
  viewerRole: t.field({
    type: ApiKeyRoleEnum,
    description: 'The role of the API key making this request: what it may do (see SECURITY.md).',
    resolve: (_root, _args, ctx) => apiKeyOf(ctx).role,
  }),
  apiKeys: t.drizzleField({
    type: [ApiKeyRef],
    description: "Your company's API keys (admin keys only).",
    resolve: (query, _root, _args, ctx) =>
      ctx.db.query.apiKeys.findMany(query({ where: { companyId: apiKeyOf(ctx, 'admin').companyId }, orderBy: { createdAt: 'asc' } })),
  }),
}));

builder.mutationFields((t) => ({
  revokeApiKey: t.field({
    type: ApiKeyRef,
    description:
      'Revokes a key at once: its requests are refused and its open WebSockets closed, on every instance (admin keys only). The last active admin key of the company cannot be revoked (CONFLICT).',
    args: { id: t.arg.globalID({ required: true, for: [ApiKeyRef] }) },
    resolve: (_root, { id }, ctx) => revokeApiKey(ctx.db, { companyId: apiKeyOf(ctx, 'admin').companyId, keyId: id.id, now: new Date() }),
  }),
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
