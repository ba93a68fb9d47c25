// Query.adapterTypes: every adapter type with the JSON Schema of its adapterConfig, generated from
// the adapter's own validation, readable by any key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { gql, gqlFailure } from '../support/api.ts';
import { postGraphQL } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let viewerKey: string;
beforeAll(async () => {
  server = await startTestServer();
  viewerKey = (await createApiKey(server.database.db, { companyId: server.companyId, name: 'viewer', role: 'viewer' })).key;
});
afterAll(() => server?.close());

type Info = { type: string; description: string; configSchema: { type: string; properties: Record<string, Record<string, unknown>>; required?: string[]; additionalProperties?: unknown } };
const ADAPTER_TYPES = '{ adapterTypes { type description configSchema } }';
const infos = async (key = server.adminKey): Promise<Record<string, Info>> =>
  Object.fromEntries((await gql<{ adapterTypes: Info[] }>(server, ADAPTER_TYPES, {}, key)).adapterTypes.map((info) => [info.type, info]));

describe('Query.adapterTypes', () => {
  it('has every AdapterType once, each with a description and an object schema', async () => {
    const enumValues = (await gql(server, '{ __type(name: "AdapterType") { enumValues { name } } }')).__type.enumValues.map((value: { name: string }) => value.name);
    const list = (await gql<{ adapterTypes: Info[] }>(server, ADAPTER_TYPES)).adapterTypes;
    expect(list.map((info) => info.type).sort()).toEqual([...enumValues].sort());
    for (const info of list) {
      expect(info.description.length, info.type).toBeGreaterThan(10);
      expect(info.configSchema.type, info.type).toBe('object');
      expect(Object.keys(info.configSchema.properties).length, info.type).toBeGreaterThan(0);
    }
  });

  it("PROCESS requires command; each schema has the fields its adapter reads", async () => {
    const byType = await infos();
    const process = byType.PROCESS.configSchema;
    expect(process.required).toEqual(['command']);
    expect(process.properties.command).toMatchObject({ type: 'string', minLength: 1 });
    expect(Object.keys(process.properties).sort()).toEqual(['args', 'cwd', 'env', 'graceSec', 'timeoutSec', 'command'].sort());
    expect(byType.HTTP.configSchema.required).toEqual(['url']);
    expect(Object.keys(byType.HTTP.configSchema.properties).sort()).toEqual(['headers', 'timeoutSec', 'url']);
    // A field with a default is optional on input (claude_code's command); codex takes no maxTurns at all.
    expect(byType.CLAUDE_CODE.configSchema.required ?? []).not.toContain('command');
    expect(byType.CLAUDE_CODE.configSchema.properties.command).toMatchObject({ type: 'string', default: 'claude' });
    expect(byType.CLAUDE_CODE.configSchema.properties.maxTurns).toMatchObject({ type: 'integer' });
    expect(byType.CODEX.configSchema.properties).not.toHaveProperty('maxTurns');
    expect(byType.CODEX.configSchema.additionalProperties).toBe(false);
  });

  it('SCRIPT: steps, each one of the step kinds', async () => {
    const script = (await infos()).SCRIPT.configSchema;
    expect(script.required).toEqual(['steps']);
    const steps = script.properties.steps as { type: string; maxItems: number; items: { anyOf: Array<{ required: string[] }> } };
    expect(steps).toMatchObject({ type: 'array', maxItems: 1000 });
    const kinds = steps.items.anyOf.map((kind) => kind.required[0]);
    expect(kinds).toEqual(expect.arrayContaining(['log', 'event', 'sleepMs', 'comment', 'document', 'result', 'usage', 'exit', 'fail']));
  });

  it('a VIEWER key reads it; no key is UNAUTHENTICATED', async () => {
    expect(await infos(viewerKey)).toEqual(await infos());
    const { status } = await postGraphQL(server.graphqlUrl, ADAPTER_TYPES, {});
    expect(status).toBe(401);
    expect((await gqlFailure(gql(server, ADAPTER_TYPES, {}, 'hb_not_a_key_at_all_0000000000'))).code).toBe('UNAUTHENTICATED');
  });
});
