// The response cache (server/response-cache.ts): a repeated query is answered from memory while
// the database snapshot is unchanged, and executed again after any commit. The snapshot is the
// whole PostgreSQL cluster's, so this file runs on a cluster of its own: other test files writing
// to the shared one would turn every repeat into a miss.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDatabase } from '../../db/client.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../db/embedded.ts';
import { agents, companies } from '../../db/schema.ts';
import { createApiKey, revokeApiKey } from '../../engine/access/api-keys.ts';
import { postGraphQL } from '../support/graphql.ts';
import { agentGid, createAgent } from '../support/api.ts';
import { recordRequestStatements } from '../support/request-statements.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let clusterDir: string;
let cluster: EmbeddedPostgres;
let server: TestServer;
let otherWriter: postgres.Sql;
const requests = recordRequestStatements();

/** A test server on this file's own cluster (its first database is created by the embedded start). */
async function serverOnCluster(database: string, env: Record<string, string> = {}): Promise<TestServer> {
  const admin = postgres(cluster.url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database "${database}"`);
  await admin.end();
  const url = cluster.url.replace(/\/[^/]*$/, `/${database}`);
  const connection = connectDatabase(url, { max: 2 });
  const started = await startTestServer({
    database: { ...connection, url, name: database, drop: () => connection.close() },
    // No engine loop: nothing but the tests writes.
    env: { HEARTBEAT_TICK_MS: '0', ...env },
    onQuery: requests.onQuery,
  });
  return { ...started, close: () => started.close().finally(() => connection.close()) };
}

beforeAll(async () => {
  clusterDir = await mkdtemp(join(tmpdir(), 'heartbeat-cache-pg-'));
  cluster = await startEmbeddedPostgres({ dataDir: join(clusterDir, 'pg'), port: 0, database: 'postgres' });
  server = await serverOnCluster('cache');
  otherWriter = postgres(server.database.url, { max: 1, onnotice: () => {} });
}, 120_000);

afterAll(async () => {
  requests.close();
  await otherWriter?.end();
  await server?.close();
  await cluster?.stop();
  if (clusterDir) await rm(clusterDir, { recursive: true, force: true });
});

interface Answer {
  body: string;
  /** Whether the request ran only its key check: the answer came from the cache. */
  fromCache: boolean;
}

async function ask(query: string, options: { variables?: Record<string, unknown>; key?: string; on?: TestServer } = {}): Promise<Answer> {
  const target = options.on ?? server;
  const { result, statements } = await requests.of(() =>
    postGraphQL(target.graphqlUrl, query, { key: options.key ?? target.adminKey, variables: options.variables }),
  );
  return { body: JSON.stringify(result.body), fromCache: statements.length === 1 };
}

/**
 * Asks until an answer comes from the cache (a background write, such as a lease renewal, can
 * make a repeat miss once), and returns it with the executed answer before it.
 */
async function askUntilCached(query: string, options: Parameters<typeof ask>[1] = {}) {
  const deadline = Date.now() + 10_000;
  let previous = await ask(query, options);
  for (;;) {
    const answer = await ask(query, options);
    if (answer.fromCache) return { executed: previous, cached: answer };
    if (Date.now() > deadline) throw new Error(`never answered from the cache: ${query}`);
    previous = answer;
  }
}

const AGENT_NAMES = '{ agents(first: 50) { edges { node { id name status } } } }';

describe('response cache', () => {
  it('answers a repeated query from memory, byte for byte, while nothing is written', async () => {
    await createAgent(server, { name: 'first' });
    const first = await ask(AGENT_NAMES);
    expect(first.fromCache).toBe(false);
    const { executed, cached } = await askUntilCached(AGENT_NAMES);
    expect(cached.body).toBe(executed.body);
    expect(JSON.parse(cached.body).data.agents.edges.map((e: { node: { name: string } }) => e.node.name)).toContain('first');
  });

  it('counts how cacheable queries were answered in /metrics', async () => {
    const lookups = async () => {
      const text = await (await fetch(`${server.app.url}/metrics`)).text();
      const count = (outcome: string) => Number(new RegExp(`^heartbeat_response_cache_lookups_total\\{outcome="${outcome}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { hit: count('hit'), executed: count('executed') };
    };
    const before = await lookups();
    await otherWriter`select pg_current_xact_id()`;
    await askUntilCached(AGENT_NAMES);
    const after = await lookups();
    expect(after.hit).toBeGreaterThan(before.hit);
    expect(after.executed).toBeGreaterThan(before.executed);
  });

  it('executes again after a commit by anyone else, and sees it', async () => {
    const agentId = await createAgent(server, { name: 'before' });
    await askUntilCached(AGENT_NAMES);
    await otherWriter`update agents set name = 'after' where id = ${agentId}`;
    const answer = await ask(AGENT_NAMES);
    expect(answer.fromCache).toBe(false);
    expect(answer.body).toContain('"after"');
    expect(answer.body).not.toContain('"before"');
  });

  it('does not keep serving an answer computed while a writer was still open, once it commits', async () => {
    const agentId = await createAgent(server, { name: 'open-before' });
    await otherWriter.begin(async (tx) => {
      await tx`update agents set name = 'open-after' where id = ${agentId}`;
      // A later transaction commits first: the open one now sits in the snapshot's in-progress
      // list, below its upper bound, which its own commit then leaves unchanged.
      await createAgent(server, { name: 'committed-meanwhile' });
      // The update is not visible yet: the answers (cached or not) still say open-before.
      const { cached } = await askUntilCached(AGENT_NAMES);
      expect(cached.body).toContain('"open-before"');
    });
    const answer = await ask(AGENT_NAMES);
    expect(answer.fromCache).toBe(false);
    expect(answer.body).toContain('"open-after"');
  });

  it('keeps answers per key: another key of the same company or of another company never gets them', async () => {
    const sameCompany = await createApiKey(server.database.db, { companyId: server.companyId, name: 'second' });
    const [other] = await server.database.db.insert(companies).values({ name: 'Other company' }).returning({ id: companies.id });
    const otherCompany = await createApiKey(server.database.db, { companyId: other.id, name: 'other' });
    await server.database.db.insert(agents).values({ companyId: other.id, name: 'other-agent', adapterType: 'script', adapterConfig: { steps: [] } });

    const { cached: admins } = await askUntilCached(AGENT_NAMES);
    const sameCompanyFirst = await ask(AGENT_NAMES, { key: sameCompany.key });
    expect(sameCompanyFirst.fromCache).toBe(false);
    expect(sameCompanyFirst.body).toBe(admins.body);
    const otherFirst = await ask(AGENT_NAMES, { key: otherCompany.key });
    expect(otherFirst.fromCache).toBe(false);
    expect(otherFirst.body).toContain('"other-agent"');
    expect(admins.body).not.toContain('"other-agent"');
    const { cached: othersCached } = await askUntilCached(AGENT_NAMES, { key: otherCompany.key });
    expect(othersCached.body).toBe(otherFirst.body);
  });

  it('keeps answers per variables', async () => {
    const query = 'query ($first: Int) { agents(first: $first) { edges { node { name } } } }';
    const { cached: one } = await askUntilCached(query, { variables: { first: 1 } });
    const two = await ask(query, { variables: { first: 2 } });
    expect(two.fromCache).toBe(false);
    expect(JSON.parse(one.body).data.agents.edges).toHaveLength(1);
    expect(JSON.parse(two.body).data.agents.edges).toHaveLength(2);
  });

  it('refuses a revoked key even when an answer for it is stored', async () => {
    const created = await createApiKey(server.database.db, { companyId: server.companyId, name: 'to revoke' });
    await askUntilCached(AGENT_NAMES, { key: created.key });
    await revokeApiKey(server.database.db, { companyId: server.companyId, keyId: created.id, now: new Date() });
    const { body } = await postGraphQL(server.graphqlUrl, AGENT_NAMES, { key: created.key });
    expect(body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(body.data ?? null).toBeNull();
  });

  it('never stores answers with errors, answers that read a log file, or mutations', async () => {
    const withError = '{ agents(first: 1) { edges { node { name } } } run(id: "not-a-run") { id } }';
    const readsLog = '{ runs(first: 1) { edges { node { id log } } } }';
    for (const query of [withError, readsLog]) {
      for (let i = 0; i < 3; i++) expect((await ask(query)).fromCache, query).toBe(false);
    }
    const rename = 'mutation ($id: ID!) { updateAgent(input: { id: $id, name: "renamed" }) { name } }';
    const id = agentGid(await createAgent(server, {}));
    for (let i = 0; i < 3; i++) {
      const answer = await ask(rename, { variables: { id } });
      expect(answer.fromCache).toBe(false);
      expect(answer.body).toContain('"renamed"');
    }
  });

  it('is off with HEARTBEAT_RESPONSE_CACHE_MB=0, and does not keep answers too big for its size', async () => {
    const off = await serverOnCluster('cache_off', { HEARTBEAT_RESPONSE_CACHE_MB: '0' });
    // 4 KiB: an answer may take at most 256 bytes (a 40-character one fits, a 300-character one does not).
    const tiny = await serverOnCluster('cache_tiny', { HEARTBEAT_RESPONSE_CACHE_MB: String(4 / 1024) });
    try {
      for (const target of [off, tiny]) {
        await createAgent(target, { name: 'long-'.repeat(30) });
        for (let i = 0; i < 4; i++) expect((await ask(AGENT_NAMES, { on: target })).fromCache).toBe(false);
      }
      const { cached } = await askUntilCached('{ viewer { name } }', { on: tiny });
      expect(cached.body.length).toBeLessThan(60);
      for (let i = 0; i < 3; i++) expect((await ask('{ viewer { name } }', { on: off })).fromCache).toBe(false);
    } finally {
      await off.close();
      await tiny.close();
    }
  });
});
