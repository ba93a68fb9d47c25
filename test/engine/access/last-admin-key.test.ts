// The company's last active admin key cannot be revoked: nobody could manage keys any more.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeys } from '../../../db/schema.ts';
import { createApiKey } from '../../../engine/access/api-keys.ts';
import { encodeGlobalId } from '../../../schema/global-id.ts';
import { postGraphQL } from '../../support/graphql.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';

describe('revoking the last admin key', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const revoke = (key: string, id: string) => postGraphQL(server.graphqlUrl, REVOKE, { key, variables: { id: encodeGlobalId('ApiKey', id) } });
  const activeAdmins = async () =>
    (await server.database.db.select().from(apiKeys)).filter((k) => k.role === 'admin' && !k.revokedAt && k.companyId === server.companyId).length;

  it('refuses it with CONFLICT; with another admin key it goes through; concurrent revocations leave one admin', async () => {
    const { db } = server.database;
    const [bootstrap] = (await db.select().from(apiKeys)).filter((k) => k.companyId === server.companyId && k.role === 'admin');
    const refused = await revoke(server.adminKey, bootstrap.id);
    expect(refused.body.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(refused.body.errors?.[0].message).toMatch(/last active admin key/);
    expect(await activeAdmins()).toBe(1);

    // A second admin: either may now be revoked, but not both, even at the same time.
    const second = await createApiKey(db, { companyId: server.companyId, name: 'second admin', role: 'admin' });
    const [a, b] = await Promise.all([revoke(server.adminKey, second.id), revoke(second.key, bootstrap.id)]);
    const codes = [a, b].map((r) => r.body.errors?.[0].extensions?.code ?? 'OK');
    // One goes through; the other is refused as CONFLICT, or UNAUTHENTICATED when its own key was revoked first.
    expect(codes.filter((code) => code === 'OK')).toHaveLength(1);
    expect(codes.find((code) => code !== 'OK')).toMatch(/^(CONFLICT|UNAUTHENTICATED)$/);
    expect(await activeAdmins()).toBe(1);
  });

  it('still revokes viewer and operator keys', async () => {
    const viewer = await createApiKey(server.database.db, { companyId: server.companyId, name: 'v', role: 'viewer' });
    const { body } = await revoke(server.adminKey, viewer.id);
    expect(body.errors).toBeUndefined();
  });
});
