// The response cache's coalescing, on a real yoga with a resolver the test holds open: concurrent
// requests for one answer under one snapshot wait for a single execution. (Snapshots against a
// real database: test/server/response-cache.test.ts.)
import { createSchema, createYoga } from 'graphql-yoga';
import { describe, expect, it } from 'vitest';
import type { HeartbeatContext } from '../../schema/context.ts';
import { useResponseCache } from '../../server/response-cache.ts';
import { waitFor } from '../support/wait.ts';

function harness() {
  let snapshot = 'snapshot-1';
  let calls = 0;
  let fail = false;
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  const yoga = createYoga<Record<string, unknown>, HeartbeatContext>({
    schema: createSchema({
      typeDefs: 'type Query { answer: String }',
      resolvers: {
        Query: {
          answer: async () => {
            calls++;
            await gate;
            if (fail) throw new Error('failed on purpose');
            return `answer ${calls}`;
          },
        },
      },
    }),
    context: () => ({ principal: { kind: 'apiKey', keyId: 'key', companyId: 'company', role: 'admin' }, readSnapshot: snapshot }) as HeartbeatContext,
    plugins: [useResponseCache({ maxBytes: 1024 * 1024 })],
    logging: false,
    maskedErrors: false,
  });
  const ask = async () => {
    const response = await yoga.fetch('http://heartbeat.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ answer }' }),
    });
    return (await response.json()) as { data?: { answer: string }; errors?: unknown[] };
  };
  return {
    ask,
    calls: () => calls,
    setSnapshot: (next: string) => void (snapshot = next),
    failNext: () => void (fail = true),
    hold: () => void (gate = new Promise<void>((resolve) => (release = resolve))),
    release: () => release(),
  };
}

describe('response cache coalescing', () => {
  it('executes once for concurrent misses under one snapshot, and again under the next', async () => {
    const h = harness();
    const answers = Array.from({ length: 5 }, () => h.ask());
    await waitFor('the first execution', () => h.calls() === 1);
    h.release();
    expect(await Promise.all(answers)).toEqual(Array.from({ length: 5 }, () => ({ data: { answer: 'answer 1' } })));
    expect(h.calls()).toBe(1);
    expect(await h.ask()).toEqual({ data: { answer: 'answer 1' } });

    h.setSnapshot('snapshot-2');
    h.hold();
    const next = [h.ask(), h.ask()];
    await waitFor('the second execution', () => h.calls() === 2);
    h.release();
    expect(await Promise.all(next)).toEqual([{ data: { answer: 'answer 2' } }, { data: { answer: 'answer 2' } }]);
    expect(h.calls()).toBe(2);
  });

  it('lets every waiter execute on its own when the shared execution fails', async () => {
    const h = harness();
    h.failNext();
    const answers = Array.from({ length: 3 }, () => h.ask());
    await waitFor('the first execution', () => h.calls() === 1);
    h.release();
    const results = await Promise.all(answers);
    for (const result of results) expect(result.errors).toHaveLength(1);
    // The first failed; the two that waited for it ran their own (failing) executions.
    expect(h.calls()).toBe(3);
  });
});
