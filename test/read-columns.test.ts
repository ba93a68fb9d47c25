// Reads load the columns their selection needs, not whole rows: runs and agents are wide (JSON
// context, result and config, 32 KiB output excerpts), and a page of them would carry all of it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatRuns } from '../db/schema.ts';
import { createAgent, gql } from './support/api.ts';
import { startTestServer, type TestServer } from './support/server.ts';

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
    const agentId = await createAgent(server, { adapterConfig: { steps: [], env: { TOKEN: 'secret' } } });
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
