// The cost ledger (docs/engine.md §13): what real CLIs print becomes one cost event per run, written
// with the run's terminal state, and the agent's counters grow by the same amounts; summaries group it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishRuns, type RunFinish } from '../../../engine/runs/finish.ts';
import { createAgent, runFinished } from '../../support/api.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { startTestServer, type TestServer } from '../../support/server.ts';
import { waitFor } from '../../support/wait.ts';

const FAKE_CLI = new URL('../../fixtures/agents/fake-cli.mjs', import.meta.url).pathname;
const stream = (name: string) => new URL(`../../fixtures/cli-streams/${name}`, import.meta.url).pathname;

describe('cost events from what agents print', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const db = () => server.database.db;
  async function runOnce(args: string[]) {
    const agentId = await createAgent(server, { adapterType: 'process', adapterConfig: { command: process.execPath, args: [FAKE_CLI, ...args] } });
    const { run } = await server.app.engine.enqueueWakeup({ companyId: server.companyId, agentId, reason: 'work' });
    const finished = await runFinished(server, run!.id);
    const runtime = await waitFor('the agent counters', () => db().query.agentRuntimeState.findFirst({ where: { agentId } }));
    const events = await db().query.costEvents.findMany({ where: { runId: run!.id } });
    return { finished, runtime, events, agentId };
  }

  it('a recorded Claude Code stream: 12 cents and 15,000 cached tokens, on the run, its agent and one cost event', async () => {
    const { finished, runtime, events, agentId } = await runOnce([stream('claude-code-stream.jsonl')]);
    expect(finished.status).toBe('succeeded');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ agentId, costCents: 12, costUsd: 0.1234, cachedInputTokens: 15_000, provider: 'anthropic', biller: 'anthropic' });
    expect(events[0].model).toMatch(/^claude-/);
    expect(runtime).toMatchObject({ totalCostCents: 12, totalCachedInputTokens: 15_000, totalInputTokens: events[0].inputTokens, totalOutputTokens: events[0].outputTokens });
    expect(finished.usageJson).toMatchObject({ costCents: 12, costUsd: 0.1234, cachedInputTokens: 15_000 });
  });

  it("a recorded Codex stream: its turn.completed usage", async () => {
    const { events } = await runOnce([stream('codex-exec.jsonl')]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ provider: 'openai', costCents: 0 });
    expect(events[0].inputTokens).toBeGreaterThan(0);
    expect(events[0].outputTokens).toBeGreaterThan(0);
  });

  it('a subscription-included run records its tokens and 0 cents', async () => {
    const line = JSON.stringify({ result: { ok: true }, usage: { inputTokens: 1200, outputTokens: 300 }, costUsd: 0.5, billingType: 'subscription' });
    const { events, runtime } = await runOnce([stream('empty.jsonl'), line]);
    expect(events).toEqual([expect.objectContaining({ billingType: 'subscription_included', inputTokens: 1200, outputTokens: 300, costUsd: 0.5, costCents: 0 })]);
    expect(runtime).toMatchObject({ totalCostCents: 0, totalInputTokens: 1200 });
  });

  it('a run that used nothing writes no cost event', async () => {
    const { events } = await runOnce([stream('empty.jsonl'), JSON.stringify({ result: { ok: true } })]);
    expect(events).toEqual([]);
  });
});

describe('the ledger, at the finish', () => {
  let f: EngineFixture;
  beforeAll(async () => {
    f = await engineFixture();
  });
  afterAll(() => f?.close());

  const finish = (runId: string, usage: Record<string, unknown>): RunFinish => ({
    runId,
    agent: { id: '', adapterType: 'script', adapterConfig: {} },
    result: { exitCode: 0, resultJson: { ok: true }, usage },
    output: null,
    crashed: false,
    events: [],
  });

  async function runningOn(issueId: string | null) {
    const agent = await f.agent();
    return f.run({ agentId: agent.id, issueId, status: 'running' });
  }

  it('costSummary by issue: two runs on I and one on J are two buckets with their sums', async () => {
    const i = await f.issue();
    const j = await f.issue();
    const runs = [await runningOn(i.id), await runningOn(i.id), await runningOn(j.id)];
    const usages = [
      { inputTokens: 100, outputTokens: 10, costUsd: 0.1 },
      { inputTokens: 200, outputTokens: 20, costUsd: 0.25 },
      { inputTokens: 50, outputTokens: 5, costUsd: 0.02 },
    ];
    await finishRuns(f.engine.deps, runs.map((run, k) => ({ ...finish(run.id, usages[k]), agent: { id: run.agentId, adapterType: 'script', adapterConfig: {} } })), { wait: true });
    const buckets = await f.engine.costs.summary(f.companyId, { from: null, to: null }, ['issue']);
    const mine = buckets.filter((b) => b.issueId === i.id || b.issueId === j.id);
    expect(mine).toEqual([
      expect.objectContaining({ issueId: i.id, costCents: 35, inputTokens: 300, outputTokens: 30, runs: 2, agentId: null, day: null }),
      expect.objectContaining({ issueId: j.id, costCents: 2, inputTokens: 50, outputTokens: 5, runs: 1 }),
    ]);
    const byDay = await f.engine.costs.summary(f.companyId, { issueId: i.id }, ['day']);
    expect(byDay).toEqual([expect.objectContaining({ day: '2026-01-01', costCents: 35, runs: 2 })]);
    expect(await f.engine.costs.totals(f.companyId, { issueId: j.id })).toMatchObject({ costCents: 2, runs: 1 });
  });

  it('a batched finish and single finishes write the same ledger rows', async () => {
    const usage = { inputTokens: 1000, cachedInputTokens: 400, outputTokens: 80, costUsd: 0.0456, provider: 'anthropic', model: 'claude-x' };
    const issue = await f.issue();
    const batched = [await runningOn(issue.id), await runningOn(null)];
    const single = [await runningOn(issue.id), await runningOn(null)];
    const item = (run: (typeof batched)[number]) => ({ ...finish(run.id, usage), agent: { id: run.agentId, adapterType: 'script' as const, adapterConfig: {} } });
    await finishRuns(f.engine.deps, batched.map(item), { wait: false });
    for (const run of single) await finishRuns(f.engine.deps, [item(run)], { wait: true });
    const rows = async (runs: typeof batched) =>
      Promise.all(
        runs.map(async (run) => {
          const [event] = await f.db.query.costEvents.findMany({ where: { runId: run.id } });
          const { id: _id, runId: _run, agentId: _agent, ...rest } = event;
          return rest;
        }),
      );
    expect(await rows(batched)).toEqual(await rows(single));
    expect((await rows(batched))[0]).toMatchObject({ issueId: issue.id, costCents: 5, cachedInputTokens: 400, billingType: 'unknown', biller: 'anthropic' });
  });
});
