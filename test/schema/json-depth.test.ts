// A JSON argument nested deeper than MAX_JSON_DEPTH is refused as BAD_USER_INPUT, as a variable or
// inline, in every JSON argument; it used to overflow the stack (INTERNAL_SERVER_ERROR).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../../schema/json-scalar.ts';
import { agentGid, createAgent } from '../support/api.ts';
import { postGraphQL, rawRequest } from '../support/graphql.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let agentId: string;
beforeAll(async () => {
  server = await startTestServer();
  agentId = await createAgent(server, {});
});
afterAll(() => server?.close());

/** {"a":{"a":...{}}}: `depth` nested objects, as JSON text (JSON.stringify itself overflows on it). */
const nestedJson = (depth: number) => `${'{"a":'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
const nested = (depth: number): Record<string, unknown> => JSON.parse(nestedJson(depth));

const ENQUEUE = 'mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome } }';
const CREATE_AGENT = 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }';
const post = (query: string, variables?: Record<string, unknown>) => postGraphQL(server.graphqlUrl, query, { key: server.adminKey, variables });
/** A request whose variable `input` is the JSON text given, spliced in as text. */
async function postInput(query: string, inputJson: string) {
  const response = await rawRequest(server.graphqlUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminKey}` },
    body: `{"query":${JSON.stringify(query)},"variables":{"input":${inputJson}}}`,
  });
  return response.json!;
}

describe('JSON arguments are bounded in depth', () => {
  it('a deeply nested variable (enqueueWakeup payload, createAgent adapterConfig) -> BAD_USER_INPUT, nothing created', async () => {
    const deep = nestedJson(5_000);
    const runsBefore = (await server.database.db.query.heartbeatRuns.findMany({ columns: { id: true } })).length;
    const agentsBefore = (await server.database.db.query.agents.findMany({ columns: { id: true } })).length;
    for (const [query, input] of [
      [ENQUEUE, `{"agentId":"${agentGid(agentId)}","payload":${deep}}`],
      [CREATE_AGENT, `{"name":"deep","adapterType":"SCRIPT","adapterConfig":${deep}}`],
      [ENQUEUE, `{"agentId":"${agentGid(agentId)}","payload":${nestedJson(MAX_JSON_DEPTH + 1)}}`],
    ] as const) {
      const body = await postInput(query, input);
      expect(body.errors?.[0].extensions?.code, query).toBe('BAD_USER_INPUT');
      expect(body.errors?.[0].message).toContain(`at most ${MAX_JSON_DEPTH} levels`);
    }
    expect((await server.database.db.query.heartbeatRuns.findMany({ columns: { id: true } })).length).toBe(runsBefore);
    expect((await server.database.db.query.agents.findMany({ columns: { id: true } })).length).toBe(agentsBefore);
  });

  it('an inline literal nested too deep -> BAD_USER_INPUT, and a deep JSON variable used inside one', async () => {
    const literal = (depth: number) => `${'{a:'.repeat(depth - 1)}{}${'}'.repeat(depth - 1)}`;
    const inline = await post(`mutation { enqueueWakeup(input: { agentId: "${agentGid(agentId)}", payload: ${literal(MAX_JSON_DEPTH + 1)} }) { outcome } }`);
    expect(inline.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    // Lists take fewer tokens, so the document can nest far deeper within the token limit.
    const lists = await post(`mutation { createAgent(input: { name: "x", adapterType: SCRIPT, adapterConfig: { steps: ${'['.repeat(1_500)}${']'.repeat(1_500)} } }) { id } }`);
    expect(lists.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    // A JSON variable used inside a literal is bounded like any other.
    const withVariable = await post(`mutation($deep: JSON) { enqueueWakeup(input: { agentId: "${agentGid(agentId)}", payload: { inner: $deep } }) { outcome } }`, {
      deep: nested(MAX_JSON_DEPTH + 1),
    });
    expect(withVariable.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('values up to the bound are accepted, inline and as variables', async () => {
    const { body } = await post(ENQUEUE, { input: { agentId: agentGid(agentId), payload: nested(MAX_JSON_DEPTH) } });
    expect(body.errors).toBeUndefined();
    const literal = `${'{a:'.repeat(MAX_JSON_DEPTH - 1)}{}${'}'.repeat(MAX_JSON_DEPTH - 1)}`;
    const inline = await post(`mutation { enqueueWakeup(input: { agentId: "${agentGid(agentId)}", payload: ${literal} }) { outcome } }`);
    expect(inline.body.errors).toBeUndefined();
  });
});
