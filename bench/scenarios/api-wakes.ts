// Waking agents through the API, as people and integrations do: CLIENTS concurrent GraphQL clients
// over HTTP (one request at a time each, keep-alive) against one Heartbeat server in its own process,
// with AGENTS script agents, N runs woken each way, one way after the other:
// - `enqueueWakeup`, no issue (the plain wake; a no-op agent);
// - `createIssue` with an assignee (each creation queues a run on its new issue);
// - `assignIssue` on issues created unassigned beforehand (untimed);
// - `addIssueComment` by a person on the issues the createIssue phase made, once their runs settled.
// An issue run comments on its issue (the script's one step), the evidence that makes it `advanced`.
// Per way: mutations/s (first request to last answer) and runs/s end to end (first request to the
// last run it woke settled), and the end-to-end rate of each issue way against the plain one.
import { generateApiKey } from '../../engine/index.ts';
import { type ChildServer, startChild } from '../lib/child.ts';
import { ISSUE_SCRIPT, issueTitle } from '../lib/issues.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { nowMs } from '../lib/stats.ts';

const SCENARIO = 'api-wakes';
const CLIENTS = 16;
const AGENTS = 40;

type Way = 'enqueueWakeup' | 'createIssue with an assignee' | 'assignIssue' | 'addIssueComment by a person';
const WAYS: Way[] = ['enqueueWakeup', 'createIssue with an assignee', 'assignIssue', 'addIssueComment by a person'];

interface Api {
  call<T>(query: string, variables: Record<string, unknown>): Promise<T>;
}

function api(url: string, key: string): Api {
  return {
    async call<T>(query: string, variables: Record<string, unknown>): Promise<T> {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query, variables }),
      });
      const body = (await response.json()) as { data?: T; errors?: Array<{ message: string }> };
      if (!body.data || body.errors?.length) throw new Error(`${query.slice(0, 40)}...: ${JSON.stringify(body.errors ?? body)}`);
      return body.data;
    },
  };
}

/** `count` calls of `call(i)`, CLIENTS at a time; the seconds from the first request to the last answer. */
async function concurrently(count: number, call: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  const t0 = nowMs();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (next < count) await call(next++);
    }),
  );
  return (nowMs() - t0) / 1000;
}

const ENQUEUE = `mutation Wake($input: EnqueueWakeupInput!) { enqueueWakeup(input: $input) { outcome } }`;
const CREATE = `mutation Create($input: CreateIssueInput!) { createIssue(input: $input) { issue { id } wakeup { outcome } } }`;
const ASSIGN = `mutation Assign($input: AssignIssueInput!) { assignIssue(input: $input) { wakeup { outcome } } }`;
const COMMENT = `mutation Comment($input: AddIssueCommentInput!) { addIssueComment(input: $input) { wakeup { outcome } } }`;

/** The answer's wakeup must have queued a run: anything else would not be the same work. */
function queued(way: Way, i: number, outcome: string | undefined): void {
  if (outcome !== 'QUEUED') throw new Error(`${way} ${i}: the wakeup was ${outcome ?? 'not made'}`);
}

async function round(ctx: ScenarioContext, server: ChildServer, key: string, n: number): Promise<Map<Way, { mutations: number; runs: number }>> {
  const client = api(String(server.ready.graphqlUrl), key);
  const plain = await server.request<Array<{ globalId: string }>>('agents', { count: AGENTS });
  const workers = await server.request<Array<{ globalId: string }>>('agents', { count: AGENTS, adapterConfig: ISSUE_SCRIPT });
  let settled = await server.request<number>('settled', { count: 0 });
  const rates = new Map<Way, { mutations: number; runs: number }>();
  /** Times `n` calls of one way, then waits for the `n` runs they woke to settle. */
  const measure = async (way: Way, call: (i: number) => Promise<void>) => {
    const t0 = nowMs();
    const seconds = await concurrently(n, call);
    settled = await server.request<number>('settled', { count: settled + n });
    const total = (nowMs() - t0) / 1000;
    rates.set(way, { mutations: n / seconds, runs: n / total });
    ctx.log(`${SCENARIO}: ${way}: ${(n / seconds).toFixed(0)} mutations/s, ${(n / total).toFixed(0)} runs/s end to end`);
  };

  await measure('enqueueWakeup', async (i) => {
    const data = await client.call<{ enqueueWakeup: { outcome: string } }>(ENQUEUE, { input: { agentId: plain[i % AGENTS].globalId, payload: { taskKey: `api-wakes-${i}` } } });
    queued('enqueueWakeup', i, data.enqueueWakeup.outcome);
  });

  const created: string[] = [];
  await measure('createIssue with an assignee', async (i) => {
    const data = await client.call<{ createIssue: { issue: { id: string }; wakeup: { outcome: string } | null } }>(CREATE, {
      input: { title: issueTitle(i), assigneeAgentId: workers[i % AGENTS].globalId },
    });
    queued('createIssue with an assignee', i, data.createIssue.wakeup?.outcome);
    created[i] = data.createIssue.issue.id;
  });

  // Untimed: the issues assignIssue will give out.
  const unassigned: string[] = [];
  await concurrently(n, async (i) => {
    const data = await client.call<{ createIssue: { issue: { id: string } } }>(CREATE, { input: { title: `${issueTitle(i)} (to assign)` } });
    unassigned[i] = data.createIssue.issue.id;
  });
  await measure('assignIssue', async (i) => {
    const data = await client.call<{ assignIssue: { wakeup: { outcome: string } | null } }>(ASSIGN, { input: { issueId: unassigned[i], agentId: workers[i % AGENTS].globalId } });
    queued('assignIssue', i, data.assignIssue.wakeup?.outcome);
  });

  await measure('addIssueComment by a person', async (i) => {
    const data = await client.call<{ addIssueComment: { wakeup: { outcome: string } | null } }>(COMMENT, { input: { issueId: created[i], body: `Please look again (${i}).` } });
    queued('addIssueComment by a person', i, data.addIssueComment.wakeup?.outcome);
  });
  return rates;
}

export const apiWakesScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const n = ctx.quick ? 100 : 1_000;
    ctx.results.note(
      SCENARIO,
      `${CLIENTS} GraphQL clients over HTTP in the bench process (one request at a time each, keep-alive, an admin key), one Heartbeat server in its own process, ` +
        `${AGENTS} no-op script agents for the plain wakes and ${AGENTS} whose one step comments on the run's issue; ${n.toLocaleString('en-US')} runs woken each way, one way after the other: ` +
        '`enqueueWakeup` (no issue), `createIssue` with an assignee, `assignIssue` (issues created unassigned beforehand, untimed), `addIssueComment` by a person ' +
        "(on the createIssue phase's issues, their first runs settled). mutations/s: first request to last answer; runs/s: first request to the last run woken settled. " +
        'Each issue way against the plain one: the ratio of their end-to-end rates.',
    );
    const key = generateApiKey();
    for (let r = 1; r <= ctx.rounds; r++) {
      const database = await ctx.pg.createHeartbeatDatabase();
      let server: ChildServer | null = null;
      try {
        server = await startChild('server.ts', { DATABASE_URL: database.url, HEARTBEAT_BOOTSTRAP_KEY: key });
        const rates = await round(ctx, server, key, n);
        const plainRuns = rates.get('enqueueWakeup')!.runs;
        for (const way of WAYS) {
          const rate = rates.get(way)!;
          ctx.results.record(SCENARIO, `${way}: mutations`, 'req/s', 'higher', 'heartbeat', rate.mutations);
          ctx.results.record(SCENARIO, `${way}: runs woken, end to end`, 'runs/s', 'higher', 'heartbeat', rate.runs);
          if (way !== 'enqueueWakeup') ctx.results.record(SCENARIO, `${way}: end-to-end rate / enqueueWakeup's`, 'x', 'higher', 'heartbeat', rate.runs / plainRuns);
        }
      } finally {
        await server?.close();
        await database.drop();
      }
    }
  },
};
