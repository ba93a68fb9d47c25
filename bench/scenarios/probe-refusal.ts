// Refusing an oversized probe: `nodes(ids:)` with 14,000 ids in a variable, asking for each agent's
// runs and their events, sent to a Heartbeat server in its own process. It is refused with
// BAD_USER_INPUT before anything is loaded (test/server/operation-cost.test.ts checks that);
// measured here: how long the answer takes, request to response, in ms, one request at a time.
import { generateApiKey } from '../../engine/index.ts';
import { type ChildServer, startChild } from '../lib/child.ts';
import type { Scenario } from '../lib/scenario.ts';
import { latencySummary, nowMs } from '../lib/stats.ts';

const SCENARIO = 'probe-refusal';
const IDS = 14_000;
const PROBE = `query($i: [ID!]!) { nodes(ids: $i) { ... on Agent { runs(first: 50) { edges { node { id context events { seq message } } } } } } }`;

export const probeRefusalScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    const requests = ctx.quick ? 5 : 50;
    ctx.results.note(
      SCENARIO,
      `\`${PROBE}\` with ${IDS.toLocaleString('en-US')} ids (one agent's, repeated) in the variable, ${requests} requests one after another per round ` +
        '(after 3 unrecorded), with `Authorization: Bearer <key>`, over HTTP from the bench process.',
    );
    const database = await ctx.pg.createHeartbeatDatabase();
    const key = generateApiKey();
    let server: ChildServer | null = null;
    try {
      server = await startChild('server.ts', { DATABASE_URL: database.url, HEARTBEAT_BOOTSTRAP_KEY: key });
      const url = String(server.ready.graphqlUrl);
      const [agent] = await server.request<Array<{ globalId: string }>>('agents', { count: 1 });
      const body = JSON.stringify({ query: PROBE, variables: { i: Array.from({ length: IDS }, () => agent.globalId) } });
      const refuse = async (): Promise<number> => {
        const started = nowMs();
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
        const answer = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
        const elapsed = nowMs() - started;
        const code = answer.errors?.[0]?.extensions?.code;
        if (code !== 'BAD_USER_INPUT') throw new Error(`the probe was answered with ${code ?? 'no error'} (HTTP ${response.status})`);
        return elapsed;
      };
      for (let i = 0; i < 3; i++) await refuse();
      for (let round = 1; round <= ctx.rounds; round++) {
        const samples: number[] = [];
        for (let i = 0; i < requests; i++) samples.push(await refuse());
        const { p50, p99 } = latencySummary(samples);
        ctx.log(`${SCENARIO} round ${round}: refused in p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
        ctx.results.record(SCENARIO, `nodes(ids:) with ${IDS.toLocaleString('en-US')} ids refused: latency p50`, 'ms', 'lower', 'heartbeat', p50);
        ctx.results.record(SCENARIO, `nodes(ids:) with ${IDS.toLocaleString('en-US')} ids refused: latency p99`, 'ms', 'lower', 'heartbeat', p99);
      }
    } finally {
      await server?.close();
      await database.drop();
    }
  },
};
