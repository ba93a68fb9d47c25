// RunFilter.search: a run found by its id (global, bare, or the short id's prefix) or by the text
// of its summary, error or error code; with the other filter fields; within the caller's company.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, companies, heartbeatRuns } from '../../db/schema.ts';
import { createApiKey } from '../../engine/access/api-keys.ts';
import { agentGid, createAgent, gql, gqlFailure, rawId, runGid } from '../support/api.ts';
import { recordRequestStatements } from '../support/request-statements.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
const requestStatements = recordRequestStatements();
let agentId: string;
let otherAgentId: string;
let otherCompanyKey: string;

// Chosen ids: two share their first four hex digits, and another company's run shares the first eight.
const DEPLOYED = 'abcd1234-0000-4000-8000-000000000001';
const SIBLING = 'abcd9999-0000-4000-8000-000000000002';
const REFUSED = '5e5e0000-0000-4000-8000-000000000003';
const PERCENT = '7f7f0000-0000-4000-8000-000000000004';
const OTHER_AGENTS = '0a0a0000-0000-4000-8000-000000000005';
const OTHER_COMPANY = 'abcd1234-0000-4000-8000-0000000000ff';

beforeAll(async () => {
  server = await startTestServer({ onQuery: requestStatements.onQuery });
  const { db } = server.database;
  agentId = await createAgent(server, { name: 'searched' });
  otherAgentId = await createAgent(server, { name: 'searched-too' });
  const own = { companyId: server.companyId, agentId };
  await db.insert(heartbeatRuns).values([
    { ...own, id: DEPLOYED, status: 'succeeded', resultJson: { summary: 'Deployed the Widget service' } },
    { ...own, id: SIBLING, status: 'succeeded', resultJson: { summary: 'Nothing to do' } },
    { ...own, id: REFUSED, status: 'failed', error: 'Connection REFUSED by upstream', errorCode: 'upstream_rate_limited' },
    { ...own, id: PERCENT, status: 'failed', error: 'Disk 100%_full', errorCode: 'result_too_large' },
    { companyId: server.companyId, agentId: otherAgentId, id: OTHER_AGENTS, status: 'failed', error: 'Connection refused again' },
  ]);
  // Another company, whose run has the same text and the same short id as one of ours.
  const [company] = await db.insert(companies).values({ name: 'Other company' }).returning();
  const [agent] = await db.insert(agents).values({ companyId: company.id, name: 'theirs', adapterType: 'script', adapterConfig: { steps: [] } }).returning();
  await db.insert(heartbeatRuns).values({ id: OTHER_COMPANY, companyId: company.id, agentId: agent.id, status: 'succeeded', resultJson: { summary: 'Deployed the Widget service' } });
  otherCompanyKey = (await createApiKey(db, { companyId: company.id, name: 'other admin', role: 'admin' })).key;
});
afterAll(async () => {
  requestStatements.close();
  await server?.close();
});

const RUNS = 'query($f: RunFilter) { runs(first: 100, filter: $f) { edges { node { id } } } }';
/** The uuids of the runs the filter matches, sorted. */
async function matching(filter: Record<string, unknown>, key = server.adminKey): Promise<string[]> {
  const data = await gql(server, RUNS, { f: filter }, key);
  return data.runs.edges.map((edge: { node: { id: string } }) => rawId(edge.node.id)).sort();
}

describe('RunFilter.search by id', () => {
  it('a full global id, a bare uuid (any case), the 8-character short id and a 4-character prefix', async () => {
    expect(await matching({ search: runGid(DEPLOYED) })).toEqual([DEPLOYED]);
    expect(await matching({ search: DEPLOYED })).toEqual([DEPLOYED]);
    expect(await matching({ search: `  ${DEPLOYED.toUpperCase()} ` })).toEqual([DEPLOYED]);
    expect(await matching({ search: 'abcd1234' })).toEqual([DEPLOYED]);
    expect(await matching({ search: 'ABCD' })).toEqual([DEPLOYED, SIBLING]);
    // With the uuid's own dashes, or none at all.
    expect(await matching({ search: 'abcd1234-00' })).toEqual([DEPLOYED]);
    expect(await matching({ search: DEPLOYED.replaceAll('-', '') })).toEqual([DEPLOYED]);
    // Prefixes no run has.
    expect(await matching({ search: 'abce' })).toEqual([]);
    expect(await matching({ search: runGid('abcd1234-0000-4000-8000-00000000000f') })).toEqual([]);
  });

  it('is a range of the primary key, not a text match of a cast id', async () => {
    // A prefix no other test asks for: an answer the response cache holds would send no statement.
    const { statements } = await requestStatements.of(() => matching({ search: 'abcd123' }));
    const read = statements.find((statement) => statement.includes('from "heartbeat_runs"'));
    expect(read, statements.join('\n')).toBeDefined();
    expect(read).toMatch(/\("d0"\."id" >= \$\d+\) and \("d0"\."id" <= \$\d+\)/);
    expect(read).not.toMatch(/::text|ilike/i);
  });

  it("never matches another company's run, by id or by prefix, from either side", async () => {
    expect(await matching({ search: OTHER_COMPANY })).toEqual([]);
    expect(await matching({ search: runGid(OTHER_COMPANY) })).toEqual([]);
    expect(await matching({ search: 'abcd1234' }, otherCompanyKey)).toEqual([OTHER_COMPANY]);
    expect(await matching({ search: DEPLOYED }, otherCompanyKey)).toEqual([]);
  });
});

describe('RunFilter.search by text', () => {
  it("matches the result summary, the error and the error code, case-insensitively, within the caller's company", async () => {
    expect(await matching({ search: 'deployed the WIDGET' })).toEqual([DEPLOYED]);
    expect(await matching({ search: 'connection refused' })).toEqual([REFUSED, OTHER_AGENTS].sort());
    expect(await matching({ search: 'RATE_LIMITED' })).toEqual([REFUSED]);
    expect(await matching({ search: 'too_large' })).toEqual([PERCENT]);
    expect(await matching({ search: 'widget' }, otherCompanyKey)).toEqual([OTHER_COMPANY]);
  });

  it('reads %, _ and \\ as themselves, not as patterns', async () => {
    expect(await matching({ search: '%' })).toEqual([PERCENT]);
    expect(await matching({ search: '100%_f' })).toEqual([PERCENT]);
    expect(await matching({ search: 'to_do' })).toEqual([]);
    expect(await matching({ search: '\\' })).toEqual([]);
  });

  it("another type's global id is read as text, and matches no run", async () => {
    expect(await matching({ search: agentGid(agentId) })).toEqual([]);
  });

  it('combines with status, agent and creation time by AND', async () => {
    expect(await matching({ search: 'connection', status: ['FAILED'] })).toEqual([REFUSED, OTHER_AGENTS].sort());
    expect(await matching({ search: 'connection', status: ['SUCCEEDED'] })).toEqual([]);
    expect(await matching({ search: 'connection', agentId: agentGid(otherAgentId) })).toEqual([OTHER_AGENTS]);
    expect(await matching({ search: 'abcd', status: ['FAILED'] })).toEqual([]);
    expect(await matching({ search: 'abcd', createdBefore: '2000-01-01T00:00:00Z' })).toEqual([]);
  });
});

describe('RunFilter.search bad input', () => {
  it('empty after trimming, or longer than 200 characters: BAD_USER_INPUT naming search, no data', async () => {
    for (const search of ['', '   \n\t', 'x'.repeat(201)]) {
      const failure = await gqlFailure(matching({ search }));
      expect(failure.code, JSON.stringify(search)).toBe('BAD_USER_INPUT');
      expect(failure.errors[0].extensions?.argument).toBe('search');
      expect(failure.message).toMatch(/search must/);
    }
    // 200 characters are fine (and match nothing here).
    expect(await matching({ search: 'y'.repeat(200) })).toEqual([]);
    // Null filters nothing.
    expect(await matching({ search: null, agentId: agentGid(otherAgentId) })).toEqual([OTHER_AGENTS]);
  });
});
