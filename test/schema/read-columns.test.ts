// Reads load the columns their selection needs, not whole rows: runs and agents are wide (JSON
// context, result and config, 32 KiB output excerpts), and a page of them would carry all of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../../db/schema.ts';
import { createAgent, gql } from '../support/api.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
const statements: string[] = [];
beforeAll(async () => {
  // No engine loop: the only reads of runs are the requests'.
  server = await startTestServer({ onQuery: (query) => statements.push(query), env: { HEARTBEAT_TICK_MS: '0' } });
});
afterAll(() => server?.close());

/** The statement that read the page of `runs { edges { node { <selection> } } }`. */
async function pageRead(selection: string): Promise<string> {
  statements.length = 0;
  const data = await gql(server, `{ runs(first: 5) { edges { node { ${selection} } } } }`);
  expect(data.runs.edges.length).toBeGreaterThan(0);
  const read = statements.find((statement) => statement.includes('from "heartbeat_runs"') && statement.includes('order by "d0"."created_at" desc'));
  expect(read, statements.join('\n')).toBeDefined();
  return read!;
}

describe('columns read for a page of runs', () => {
  it('are those of the selected fields, of the run and of its agent', async () => {
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: 'true', env: { TOKEN: 'secret' } } });
    await server.database.db.insert(heartbeatRuns).values({
      companyId: server.companyId,
      agentId,
      status: 'succeeded',
      contextSnapshot: { reason: 'test' },
      stdoutExcerpt: 'output',
    });
    const wide = ['"context_snapshot"', '"stdout_excerpt"', '"result_json"', '"usage_json"', '"run_token_hash"', '"adapter_config"', '"runtime_config"'];
    const narrow = await pageRead('id status agent { name }');
    for (const column of wide) expect(narrow).not.toContain(column);
    const asked = await pageRead('id context stdoutExcerpt agent { name adapterConfig }');
    for (const column of ['"context_snapshot"', '"stdout_excerpt"', '"adapter_config"']) expect(asked).toContain(column);
  });
});

describe('narrow columns', () => {
  it('come with every run and agent, so their fields resolve straight off the row', async () => {
    const { schema } = await import('../../schema/index.ts');
    const { GraphQLObjectType } = await import('graphql');
    const fields = (type: string) => {
      const object = schema.getType(type);
      if (!(object instanceof GraphQLObjectType)) throw new Error(`${type} is not an object type`);
      return object.getFields();
    };
    // plugin-drizzle looks a field's own selection up for every row it resolves; a column the
    // type always selects needs none (patches/@pothos+plugin-drizzle).
    const ownSelection = (type: string, field: string) => Boolean(fields(type)[field].extensions?.pothosDrizzleSelect);
    for (const field of ['status', 'createdAt', 'finishedAt', 'error', 'lastEventSeq']) expect(ownSelection('HeartbeatRun', field), field).toBe(false);
    for (const field of ['state', 'reason', 'nextAction']) expect(ownSelection('RunLiveness', field), field).toBe(false);
    for (const field of ['name', 'status', 'createdAt']) expect(ownSelection('Agent', field), field).toBe(false);
    // Types without a select read whole rows: none of their columns needs a selection either.
    for (const field of ['seq', 'message', 'payload']) expect(ownSelection('RunEvent', field), field).toBe(false);
    // Wide columns and relations keep theirs.
    for (const field of ['context', 'stdoutExcerpt', 'agent', 'liveness']) expect(ownSelection('HeartbeatRun', field), field).toBe(true);
    expect(ownSelection('Agent', 'adapterConfig')).toBe(true);

    const agentId = await createAgent(server, { adapterConfig: { steps: [] } });
    await server.database.db.insert(heartbeatRuns).values({ companyId: server.companyId, agentId, status: 'succeeded', stdoutExcerpt: 'output' });
    const read = await pageRead('id');
    for (const column of ['"status"', '"finished_at"', '"last_event_seq"']) expect(read).toContain(column);
    expect(read).not.toContain('"stdout_excerpt"');
    const data = await gql(server, '{ runs(first: 1) { edges { node { status finishedAt error liveness { state reason } agent { name status } } } } }');
    expect(data.runs.edges[0].node).toMatchObject({ status: 'SUCCEEDED', agent: { status: expect.any(String) } });
  });
});
