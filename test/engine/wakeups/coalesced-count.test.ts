// coalescedCount: the wakeup a run was created from counts the later wakeups merged into it; each
// merged (COALESCED) wakeup carries 1, as the reference writes it (spec §6.1 step 3e). The merged
// requests' payloads all reach the run, key by key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent, createIssue, enqueue, gql, rawId, runGid } from '../../support/api.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';

const BUSY = { steps: [{ sleepMs: 600_000 }] };

describe('coalescedCount', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const counts = async (ids: string[]) => {
    const { nodes } = await gql(server, 'query($ids: [ID!]!) { nodes(ids: $ids) { ... on WakeupRequest { status coalescedCount } } }', { ids });
    return nodes as Array<{ status: string; coalescedCount: number }>;
  };
  const cancel = (runId: string) => gql(server, 'mutation($id: ID!) { cancelRun(id: $id) { status } }', { id: runGid(runId) });

  it('without an issue: the absorbing wakeup counts two merges, each merged one shows 1', async () => {
    const agentId = await createAgent(server, { adapterConfig: BUSY });
    // The agent's one slot is taken, so the second scope's run stays queued while two more join it.
    const busy = await enqueue(server, { agentId, payload: { taskKey: 'a' } });
    const first = await enqueue(server, { agentId, payload: { taskKey: 'b', one: 1 } });
    const second = await enqueue(server, { agentId, payload: { taskKey: 'b', two: 2 } });
    const third = await enqueue(server, { agentId, payload: { taskKey: 'b', one: 'again', three: 3 } });
    expect([first.outcome, second.outcome, third.outcome]).toEqual(['QUEUED', 'COALESCED', 'COALESCED']);
    expect(second.runId).toBe(first.runId);

    expect(await counts([first.wakeupRequest.id, second.wakeupRequest.id, third.wakeupRequest.id])).toEqual([
      { status: 'QUEUED', coalescedCount: 2 },
      { status: 'COALESCED', coalescedCount: 1 },
      { status: 'COALESCED', coalescedCount: 1 },
    ]);
    const { run } = await gql(server, 'query($id: ID!) { run(id: $id) { context } }', { id: runGid(first.runId!) });
    expect(run.context.payload).toEqual({ taskKey: 'b', one: 'again', two: 2, three: 3 });
    await cancel(first.runId!);
    await cancel(busy.runId!);
  });

  it('on an issue: the run owning the issue absorbs same-agent wakeups the same way', async () => {
    const agentId = await createAgent(server, { adapterConfig: BUSY });
    const { issueId, wakeup } = await createIssue(server, { assigneeAgentId: agentId });
    const runId = rawId(wakeup!.run!.id);
    const again = await enqueue(server, { agentId, issueId, reason: 'again' });
    expect(again).toMatchObject({ outcome: 'COALESCED', runId });
    const { run } = await gql(server, 'query($id: ID!) { run(id: $id) { wakeupRequest { coalescedCount } } }', { id: runGid(runId) });
    expect(run.wakeupRequest.coalescedCount).toBe(1);
    expect((await counts([again.wakeupRequest.id]))[0]).toEqual({ status: 'COALESCED', coalescedCount: 1 });
    await cancel(runId);
  });
});
