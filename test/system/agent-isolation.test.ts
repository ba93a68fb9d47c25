// Agents never run with the server's privileges: a real server process (the `heartbeat` binary, as
// CI runs it: root) with the sandbox on, and process agents that go looking for its secrets.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { companies } from '../../db/schema.ts';
import { createApiKey, generateApiKey } from '../../engine/access/api-keys.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postGraphQL } from '../support/graphql.ts';
import { type HeartbeatProcess, spawnHeartbeat } from '../support/process.ts';
import { waitFor } from '../support/wait.ts';

const isRoot = process.getuid?.() === 0;
const BOOTSTRAP_KEY = generateApiKey();
/** In the server's environment only: an agent that finds it has read the server's environment. */
const SERVER_SECRET = `server-secret-${generateApiKey()}`;

/** Everything a curious agent can read: its ids, every process's environment, the data directory, the password file. */
const snoop = (dataDir: string) => `
echo "uid=$(id -u)"
for p in /proc/[0-9]*; do tr '\\0' '\\n' < "$p/environ" 2>/dev/null; done
echo "parent: $(tr '\\0' ' ' < /proc/$PPID/environ 2>/dev/null)"
ls -la "${dataDir}" 2>&1
cat "${dataDir}/pg.password" 2>&1
find "${dataDir}" -maxdepth 4 2>&1 | head -50
echo "mine" > my-file && echo "wrote my-file in $(pwd)"
ls "${dataDir}/agents" 2>&1
for d in "${dataDir}"/agents/*/; do ls "$d" 2>&1; cat "$d"*/my-file 2>&1; done
echo done
`;

describe.skipIf(process.platform !== 'linux')('agents in the sandbox of a real server', () => {
  let database: TestDatabase;
  let dataDir: string;
  let server: HeartbeatProcess;
  let graphqlUrl: string;
  let otherKey: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    dataDir = await mkdtemp(join(tmpdir(), 'heartbeat-isolation-'));
    server = spawnHeartbeat(['serve'], {
      DATABASE_URL: database.url,
      PORT: '0',
      HEARTBEAT_DATA_DIR: dataDir,
      HEARTBEAT_BOOTSTRAP_KEY: BOOTSTRAP_KEY,
      HEARTBEAT_AGENT_SANDBOX: 'auto',
      HEARTBEAT_ISOLATION_TEST_SECRET: SERVER_SECRET,
    });
    [, graphqlUrl] = await server.waitFor(/GraphiQL:\s+(\S+)/);
    // A second company, with an admin key of its own.
    const [other] = await database.db.insert(companies).values({ name: 'Other company', issuePrefix: 'OT' }).returning();
    otherKey = (await createApiKey(database.db, { companyId: other.id, name: 'other admin', role: 'admin' })).key;
  }, 120_000);

  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const call = async <T>(query: string, variables: Record<string, unknown>, key: string) => {
    const { body } = await postGraphQL<T>(graphqlUrl, query, { key, variables });
    if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
    return body.data as T;
  };

  /** Creates a process agent running `script` with `key`'s company, wakes it and returns its output once it has finished. */
  async function runScript(key: string, name: string, script: string) {
    const { createAgent } = await call<{ createAgent: { id: string } }>(
      'mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }',
      { input: { name, adapterType: 'PROCESS', adapterConfig: { command: 'sh', args: ['-c', script] } } },
      key,
    );
    const { enqueueWakeup } = await call<{ enqueueWakeup: { run: { id: string } } }>(
      'mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { run { id } } }',
      { input: { agentId: createAgent.id } },
      key,
    );
    return waitFor(
      `the ${name} run to finish`,
      async () => {
        const { run } = await call<{ run: { status: string; exitCode: number | null; error: string | null; log: string } }>(
          'query($id: ID!) { run(id: $id) { status exitCode error log(stream: STDOUT) } }',
          { id: enqueueWakeup.run.id },
          key,
        );
        return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(run.status) ? run : null;
      },
      { timeoutMs: 60_000 },
    );
  }

  it("learns none of the server's secrets, and is not the server's user", { timeout: 120_000 }, async () => {
    const run = await runScript(BOOTSTRAP_KEY, 'snoop', snoop(dataDir));
    expect(run.log, run.error ?? '').toContain('done');
    expect(run.log).not.toContain(SERVER_SECRET);
    expect(run.log).not.toContain(BOOTSTRAP_KEY);
    expect(run.log).not.toContain(database.url);
    expect(run.log).not.toContain(new URL(database.url).pathname.slice(1)); // not even the database's name
    const uid = Number(/uid=(\d+)/.exec(run.log)?.[1]);
    expect(uid).not.toBe(process.getuid?.());
    if (isRoot) expect(uid).toBeGreaterThanOrEqual(2_000_000_000);
    // It did work in a directory of its own.
    expect(run.log).toMatch(/wrote my-file in .*agents\//);
  });

  it("cannot read another company's working directories", { timeout: 120_000 }, async () => {
    const mine = await runScript(BOOTSTRAP_KEY, 'writer', 'echo "first company secret" > my-file && pwd');
    expect(mine.status).toBe('SUCCEEDED');
    const other = await runScript(otherKey, 'reader', snoop(dataDir));
    expect(other.log).toContain('done');
    expect(other.log).not.toContain('first company secret');
  });
});
