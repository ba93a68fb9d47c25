// The cost limit counts list sizes, variables included: `nodes(ids:)` is capped, and nested pages
// (events inside runs inside nodes) multiply, so no accepted query can return millions of objects.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../schema/index.ts';
import { OPERATION_LIMITS } from '../../server/hardening.ts';
import { COST_MODEL, operationCost, rememberedOperationCost, wideFieldCoordinates } from '../../server/operation-cost.ts';
import { parse } from 'graphql';
import { agentGid, createAgent, gql } from '../support/api.ts';
import { postGraphQL } from '../support/graphql.ts';
import { recordRequestStatements } from '../support/request-statements.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const PROBE = `query($i: [ID!]!) { nodes(ids: $i) { ... on Agent { runs(first: 50) { edges { node { id context events { seq message } } } } } } }`;
/** A statement that loads what the probe asks for: agents, their runs or the runs' events. */
const loadsProbed = (statement: string) => /"(agents|heartbeat_runs|heartbeat_run_events)"/.test(statement);
/** The statements a request issues, without the engine loop's that run meanwhile. */
const requestStatements = recordRequestStatements();

describe('operation cost with list sizes', () => {
  let server: TestServer;
  let viewerKey: string;
  let agent: string;
  beforeAll(async () => {
    server = await startTestServer({ onQuery: requestStatements.onQuery });
    agent = agentGid(await createAgent(server, {}));
    viewerKey = (await gql(server, 'mutation { createApiKey(name: "viewer", role: VIEWER) { key } }')).createApiKey.key;
  });
  afterAll(async () => {
    requestStatements.close();
    await server?.close();
  });

  const post = (query: string, variables?: Record<string, unknown>) => postGraphQL(server.graphqlUrl, query, { key: viewerKey, variables });

  it('refuses nodes(ids:) over 100 ids, in a variable or inline, with BAD_USER_INPUT before loading anything', async () => {
    const { result: probe, statements } = await requestStatements.of(() => post(PROBE, { i: Array.from({ length: 14_000 }, () => agent) }));
    expect(probe.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(probe.body.errors?.[0].message).toMatch(/at most 100 ids/);
    expect(probe.body.data ?? null).toBeNull();
    // Nothing was loaded: no agent, run or event was read. (How long the refusal takes is a bench
    // figure, bench/scenarios/probe-refusal.ts.)
    expect(statements.filter(loadsProbed), statements.join('\n')).toEqual([]);

    const inline = await post(`{ nodes(ids: [${Array.from({ length: 101 }, () => JSON.stringify(agent)).join(',')}]) { id } }`);
    expect(inline.body.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');

    const { result: hundred, statements: accepted } = await requestStatements.of(() =>
      post('query($i: [ID!]!) { nodes(ids: $i) { id } }', { i: Array.from({ length: COST_MODEL.maxNodeIds }, () => agent) }),
    );
    expect(hundred.body.errors).toBeUndefined();
    expect((hundred.body.data as { nodes: unknown[] }).nodes).toHaveLength(100);
    // The statements of a request are really seen: the accepted one loads its agents.
    expect(accepted.some(loadsProbed), accepted.join('\n')).toBe(true);
  });

  it('multiplies nested lists: the probe with 100 ids, and events(first: 1000) inside runs(first: 100), are over the limit', async () => {
    for (const [query, variables] of [
      [PROBE, { i: Array.from({ length: 100 }, () => agent) }],
      ['{ runs(first: 100) { edges { node { events(first: 1000) { seq message } } } } }', undefined],
      ['query($n: Int) { runs(first: $n) { edges { node { events(first: 1000) { seq } } } } }', { n: 100 }],
      ['{ agents(first: 100) { edges { node { runs(first: 100) { edges { node { id status } } } } } } }', undefined],
    ] as const) {
      const { status, body } = await post(query, variables);
      expect(body.errors?.[0].extensions?.code, query).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(body.errors?.[0].message, query).toMatch(/Query Cost limit of 20000 exceeded/);
      expect(status, query).toBe(400);
    }
  });

  it('lets ordinary pages through', async () => {
    for (const query of [
      '{ runs(first: 100) { edges { node { id status createdAt agent { id name } issue { id identifier } liveness { state reason } } } } }',
      '{ runs(first: 20) { edges { node { id events(first: 200) { seq eventType message } } } } }',
      '{ issues(first: 20) { edges { node { id title comments { id body } documents { key } blockers { id } } } } }',
    ]) {
      const { body } = await post(query);
      expect(body.errors, query).toBeUndefined();
    }
  });

  it('counts variables: the same document is cheap or refused depending on them', () => {
    const document = parse('query($n: Int, $e: Int) { runs(first: $n) { edges { node { events(first: $e) { seq } } } } }');
    expect(operationCost(schema, document, undefined, { n: 5, e: 10 })).toBeLessThan(OPERATION_LIMITS.maxCost);
    expect(operationCost(schema, document, undefined, { n: 100, e: 1000 })).toBeGreaterThan(OPERATION_LIMITS.maxCost);
  });

  it('remembers a cost per document and variables, never across different variables', async () => {
    const query = 'query($n: Int, $e: Int) { runs(first: $n) { edges { node { events(first: $e) { seq } } } } }';
    for (let i = 0; i < 2; i++) {
      expect((await post(query, { n: 5, e: 10 })).body.errors).toBeUndefined();
      const refused = await post(query, { n: 100, e: 1000 });
      expect(refused.status).toBe(400);
      expect(refused.body.errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    }
    const document = parse(query);
    expect(rememberedOperationCost(schema, document, undefined, { n: 5, e: 10 })).toBe(operationCost(schema, document, undefined, { n: 5, e: 10 }));
    expect(rememberedOperationCost(schema, document, undefined, { n: 100, e: 1000 })).toBeGreaterThan(OPERATION_LIMITS.maxCost);
    expect(rememberedOperationCost(schema, document, undefined, { n: 5, e: 10 })).toBeLessThan(OPERATION_LIMITS.maxCost);
  });

  it('prices only fields that exist', () => {
    for (const coordinate of wideFieldCoordinates()) {
      const [type, field] = coordinate.split('.');
      const named = schema.getType(type) as { getFields?: () => Record<string, unknown> } | undefined;
      expect(named?.getFields?.()[field], coordinate).toBeDefined();
    }
  });
});
