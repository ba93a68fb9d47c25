// Fault: the server is killed with SIGKILL while wakeups pour in. After a restart on the same
// database, every wakeup it had accepted has a run that reached a terminal state.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawId } from '../support/api.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';
import { postGraphQL } from '../support/graphql.ts';
import { spawnHeartbeat, type HeartbeatProcess } from '../support/process.ts';
import { waitFor } from '../support/wait.ts';

const KEY = 'hb_sigkill_test_bootstrap_key_0000000001';

describe('SIGKILL of a server under load', () => {
  let database: TestDatabase;
  let dir: string;
  const servers: HeartbeatProcess[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'heartbeat-sigkill-'));
  });
  afterAll(async () => {
    for (const server of servers) server.child.kill('SIGKILL');
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const serve = async (name: string) => {
    const server = spawnHeartbeat(['serve'], {
      DATABASE_URL: database.url,
      PORT: '0',
      HEARTBEAT_BOOTSTRAP_KEY: KEY,
      HEARTBEAT_DATA_DIR: join(dir, name),
      HEARTBEAT_MUTATION_RATE: '10000',
      HEARTBEAT_MUTATION_BURST: '10000',
    });
    servers.push(server);
    const [, url] = await server.waitFor(/GraphiQL:\s+(\S+)/);
    return { server, url };
  };

  it('every accepted wakeup ends in a terminal run after the restart', async () => {
    const first = await serve('first');
    const gql = (url: string, query: string, variables?: Record<string, unknown>) => postGraphQL<any>(url, query, { key: KEY, variables });
    const agents: string[] = [];
    for (const steps of [[{ sleepMs: 300 }], [], [{ log: 'hello' }]]) {
      const { body } = await gql(first.url, `mutation($input: CreateAgentInput!) { createAgent(input: $input) { id } }`, {
        input: { name: `agent-${agents.length}`, adapterType: 'SCRIPT', adapterConfig: { steps }, heartbeat: { maxConcurrentRuns: 3 } },
      });
      agents.push(body.data.createAgent.id);
    }

    const accepted: string[] = [];
    let stop = false;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        const result = await gql(first.url, `mutation($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { run { id } } }`, {
          input: { agentId: agents[i % agents.length], payload: { taskKey: `t${i}` } },
        }).catch(() => null);
        const runId = result?.body.data?.enqueueWakeup?.run?.id;
        if (runId) accepted.push(runId);
        else if (!result) return; // the server is gone
      }
    })();
    await waitFor('some load to be taken', () => accepted.length >= 150, { timeoutMs: 30_000 });
    first.server.child.kill('SIGKILL');
    expect(await first.server.exited).toBe('SIGKILL');
    stop = true;
    await load;

    // A new server on the same database picks up what the dead one left: queued runs resume,
    // runs it was executing are failed as process_lost and retried once.
    await serve('second');
    const ids = accepted.map(rawId);
    const unfinished = async () =>
      (await database.sql<{ n: number }[]>`select count(*)::int as n from heartbeat_runs where id = any(${ids}) and status not in ('succeeded', 'failed', 'cancelled', 'timed_out')`)[0].n;
    await waitFor('every accepted run to be terminal', async () => (await unfinished()) === 0, { timeoutMs: 60_000, intervalMs: 250 });
    const found = await database.sql<{ n: number }[]>`select count(*)::int as n from heartbeat_runs where id = any(${ids})`;
    expect(found[0].n).toBe(accepted.length);
    const lost = await database.sql<{ id: string }[]>`select id from heartbeat_runs where id = any(${ids}) and error_code = 'process_lost'`;
    // A run the dead server was executing got exactly one retry, which also finished.
    for (const { id } of lost) {
      const retries = await database.sql<{ status: string }[]>`select status from heartbeat_runs where retry_of_run_id = ${id}`;
      expect(retries.length).toBe(1);
      await waitFor('the retry to finish', async () => {
        const [retry] = await database.sql<{ status: string }[]>`select status from heartbeat_runs where retry_of_run_id = ${id}`;
        return !retry || ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(retry.status);
      });
    }
    console.info(`sigkill: ${accepted.length} accepted, ${lost.length} were mid-run and recovered as process_lost`);
  }, 120_000);
});
