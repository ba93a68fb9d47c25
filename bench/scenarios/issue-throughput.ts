// Throughput of runs that each work on their own issue, the runs that matter most in real use: N
// issues, each created with an assignee (one of the agents), which wakes the agent with reason
// `issue_assigned` and queues a run on the issue. One instance then drains them; jobs/s from the
// moment the engine starts until the last run is settled. Each run is claimed (per run, under its
// agent's limit: the issue path of claim.ts), takes its issue's execution lock and checks the issue
// out, is executed by a `script` agent whose one step comments on the issue, is classified from
// that evidence (`advanced`), has its comment requirement satisfied by it, releases the issue's lock
// and is settled, with the agent's status and runtime counters.
// - Queue: the first issues are created through the engine (engine.issues.create with an assignee,
//   one per call, CALLERS callers, timed as "create"), the rest in bulk with the same rows
//   (lib/issues.ts), as the throughput scenario fills its queue.
// - Reference (bare-sql): the same rows with no engine (issue-bookkeeping-floor.ts).
// - Side by side, in the same rounds and at the same size: the drain of runs without an issue
//   (throughput.ts heartbeatRound) and its floor (bookkeeping-floor.ts), so that the ratio of the
//   two drains does not follow the machine's speed from one scenario to the next.
// Costs per run over each drain: CPU of this process (the engine) and of PostgreSQL, WAL bytes.
// Checked after each drain: every issue worked on by a run that succeeded, was classified advanced
// and satisfied by its comment, and released. A run that failed with an error (the engine's or its
// driver's) is counted ("runs failed by an error") and shown, not fatal: the engine's follow-ups
// (a comment retry, the stranded-issue pass) may rework its issue.
import { createBenchEngine } from '../lib/heartbeat.ts';
import { fillQueuedIssueRuns, ISSUE_ACTOR, ISSUE_SCRIPT, issueTitle } from '../lib/issues.ts';
import type { System } from '../lib/results.ts';
import { type DrainCosts, startDrainCosts } from '../lib/drain-costs.ts';
import type { Scenario, ScenarioContext } from '../lib/scenario.ts';
import { nowMs, until } from '../lib/stats.ts';
import { bookkeepingFloorRound, FLOOR_BATCH, FLOOR_CONNECTIONS } from './bookkeeping-floor.ts';
import { issueBookkeepingFloorRound } from './issue-bookkeeping-floor.ts';
import { heartbeatRound } from './throughput.ts';

const SCENARIO = 'issue-throughput';
/** As the throughput scenario: a pool of 10, 40 agents x 5 runs at a time. */
const POOL = 10;
const AGENTS = 40;
const PER_AGENT = 5;
const CALLERS = 16;

// Named in lib/targets.ts too.
const DRAIN_WITH_ISSUES = 'drain, each run on its own issue';
const DRAIN_WITHOUT_ISSUES = 'drain, runs without an issue (same rounds, same size)';
const CREATE = `create an issue with an assignee (queues its run), one per call, ${CALLERS} callers`;


function record(ctx: ScenarioContext, drain: string, system: System, rate: number, costs: DrainCosts): void {
  ctx.results.record(SCENARIO, drain, 'jobs/s', 'higher', system, rate);
  if (costs.workerCpu !== undefined) ctx.results.record(SCENARIO, `${drain}: CPU per job, worker process`, 'ms', 'lower', system, costs.workerCpu);
  if (costs.postgresCpu !== undefined) ctx.results.record(SCENARIO, `${drain}: CPU per job, PostgreSQL`, 'ms', 'lower', system, costs.postgresCpu);
  ctx.results.record(SCENARIO, `${drain}: WAL per job`, 'bytes', 'lower', system, costs.walBytes);
}

const describe = (rate: number, c: DrainCosts) =>
  `${rate.toFixed(0)} jobs/s (CPU ms/job worker ${c.workerCpu?.toFixed(3) ?? '-'}, PostgreSQL ${c.postgresCpu?.toFixed(3) ?? '-'}; WAL ${c.walBytes.toFixed(0)} B/job)`;

/** Heartbeat's issue drain: `jobs` issues, the first `creates` created through the engine; jobs/s, creations/s, costs. */
async function issueRound(
  ctx: ScenarioContext,
  jobs: number,
  creates: number,
): Promise<{ rate: number; createRate: number; costs: DrainCosts; failed: number }> {
  const database = await ctx.pg.createHeartbeatDatabase();
  const bench = await createBenchEngine({ url: database.url, agents: AGENTS, maxConcurrentRuns: PER_AGENT, poolSize: POOL });
  try {
    const sql = bench.connection.sql;
    await sql`update agents set adapter_config = ${JSON.stringify(ISSUE_SCRIPT)}::text::jsonb where company_id = ${bench.companyId}`;
    // Issues created through the engine while it is not started: each queues its run.
    let next = 0;
    const t0 = nowMs();
    await Promise.all(
      Array.from({ length: CALLERS }, async () => {
        while (next < creates) {
          const i = next++;
          const { wakeup } = await bench.engine.issues.create(
            { companyId: bench.companyId, title: issueTitle(i), assigneeAgentId: bench.agentIds[i % AGENTS] },
            ISSUE_ACTOR,
          );
          if (wakeup?.outcome !== 'queued') throw new Error(`the wakeup of issue ${i} was ${wakeup?.outcome ?? 'not made'}`);
        }
      }),
    );
    const createRate = creates / ((nowMs() - t0) / 1000);
    await fillQueuedIssueRuns(sql, { companyId: bench.companyId, agentIds: bench.agentIds, from: creates, count: jobs - creates });

    const done = new Promise<void>((resolve) => {
      bench.onSettled = () => {
        if (bench.settled.size >= jobs) resolve();
      };
    });
    const stopCosts = await startDrainCosts(ctx, `${SCENARIO}: heartbeat with issues`);
    const t1 = nowMs();
    // start() returns only once its first pass over the open assigned issues (stranded-issue
    // reconciliation, one issue at a time) is done, which with thousands of queued issues takes
    // longer than the drain: the drain is timed to its last settle, the pass goes on meanwhile and
    // is cut short by close(). A start that fails before the drain ends fails the round.
    const starting = bench.start();
    await Promise.race([done, starting.then(() => done)]);
    const rate = jobs / ((nowMs() - t1) / 1000);
    const costs = await stopCosts(jobs);
    starting.catch(() => {});
    // A run that failed may have left a follow-up (a comment retry): the round waits for it, untimed.
    await until('the follow-ups of failed runs', async () => {
      const [left] = await sql<{ n: number }[]>`select count(*)::int as n from heartbeat_runs where settled_at is null`;
      return left.n === 0;
    }, 120_000, 50);
    const [row] = await sql<{ issues: number; done: number; locked: number; succeeded: number; unproven: number; failed: number; errors: string | null }[]>`
      select (select count(*) from issues)::int as issues,
        (select count(*) from issues i where exists (select 1 from heartbeat_runs r where r.issue_id = i.id and r.status = 'succeeded'))::int as done,
        (select count(*) from issues where execution_run_id is not null or status <> 'in_progress')::int as locked,
        (select count(*) from heartbeat_runs where status = 'succeeded')::int as succeeded,
        (select count(*) from heartbeat_runs where status = 'succeeded' and (liveness_state is distinct from 'advanced' or issue_comment_status <> 'satisfied'))::int as unproven,
        (select count(*) from heartbeat_runs where status <> 'succeeded')::int as failed,
        (select string_agg(distinct status || coalesce(' (' || error_code || ': ' || error || ')', ''), '; ') from heartbeat_runs where status <> 'succeeded') as errors`;
    // Every issue worked on and released, every success proven by its comment, nothing lost. A run
    // that failed with an error of the engine's (or its driver's) is counted and shown, not fatal.
    if (row.issues !== jobs || row.locked !== 0 || row.unproven !== 0 || row.succeeded > jobs || row.done + row.failed < jobs) {
      // What is wrong, for whoever reads the failure: the first few such issues with their runs.
      const odd = await sql`
        select i.identifier, i.status as issue_status, i.execution_run_id, i.checkout_run_id, r.id as run_id, r.status, r.liveness_state,
          r.liveness_reason, r.issue_comment_status, r.error_code, r.context_snapshot->>'issueCheckedOut' as checked_out,
          (select count(*) from issue_comments c where c.created_by_run_id = r.id)::int as comments
        from issues i left join heartbeat_runs r on r.issue_id = i.id
        where i.execution_run_id is not null or i.status <> 'in_progress' or r.status <> 'succeeded'
          or r.liveness_state is distinct from 'advanced' or r.issue_comment_status <> 'satisfied'
        order by i.identifier limit 5`;
      throw new Error(
        `expected ${jobs} issues worked on and released by runs that succeeded, advanced and satisfied by their comment; found ${row.issues} issues, ` +
          `${row.done} with a succeeded run, ${row.locked} not released, ${row.succeeded} succeeded runs (${row.unproven} without their evidence), ` +
          `${row.failed} other runs${row.errors ? `: ${row.errors}` : ''}; for example ${JSON.stringify(odd)}`,
      );
    }
    if (row.failed > 0) ctx.log(`${SCENARIO}: ${row.failed} of the issue drain's runs failed: ${row.errors}`);
    return { rate, createRate, costs, failed: row.failed };
  } finally {
    await bench.close();
    await database.drop();
  }
}

export const issueThroughputScenario: Scenario = {
  name: SCENARIO,
  async run(ctx) {
    // 5,000 issues, not the throughput scenario's 20,000, so that a round stays short (runs on
    // issues drained at tens a second before issue #21, hundreds since). Both drains run at this size.
    const jobs = ctx.quick ? 300 : 5_000;
    const creates = ctx.quick ? 100 : 1_000;
    ctx.results.note(
      SCENARIO,
      `${jobs.toLocaleString('en-US')} issues, each assigned to one of ${AGENTS} script agents (maxConcurrentRuns ${PER_AGENT}), queued before the engine starts ` +
        `(the first ${creates.toLocaleString('en-US')} created through the engine with their assignee, one per call, timed as "create"; the rest in bulk with the same rows), ` +
        `drained by one instance with a pool of ${POOL} connections; finished = settled. Each run takes its issue's execution lock and checks it out, ` +
        'comments on it (the script step), is classified advanced from that comment, releases the lock. ' +
        `Side by side, in the same rounds: ${jobs.toLocaleString('en-US')} runs without an issue (the throughput scenario's drain). ` +
        `Reference (bare-sql): each drain's rows by bare SQL with no engine, ${FLOOR_BATCH} runs a statement on ${FLOOR_CONNECTIONS} connections ` +
        '(issue-bookkeeping-floor.ts: claim with checkout and lock and what the run is told, the comments, finish with release and the continuation summary; bookkeeping-floor.ts). ' +
        'Costs per job over each drain: CPU of this process (the engine) and of PostgreSQL (embedded only), WAL bytes.',
    );
    for (let round = 1; round <= ctx.rounds; round++) {
      const plain = await heartbeatRound(ctx, jobs, 0);
      record(ctx, DRAIN_WITHOUT_ISSUES, 'heartbeat', plain.rate, plain.costs);
      ctx.log(`${SCENARIO} round ${round}: heartbeat without issues ${describe(plain.rate, plain.costs)}`);
      const plainFloor = await bookkeepingFloorRound(ctx, jobs, AGENTS, () => startDrainCosts(ctx, `${SCENARIO}: bare SQL without issues`));
      record(ctx, DRAIN_WITHOUT_ISSUES, 'bare-sql', plainFloor.rate, plainFloor.costs);
      ctx.log(`${SCENARIO} round ${round}: its rows in bare SQL ${describe(plainFloor.rate, plainFloor.costs)}`);

      const hb = await issueRound(ctx, jobs, creates);
      record(ctx, DRAIN_WITH_ISSUES, 'heartbeat', hb.rate, hb.costs);
      ctx.results.record(SCENARIO, `${DRAIN_WITH_ISSUES}: runs failed by an error`, 'runs', 'lower', 'heartbeat', hb.failed);
      ctx.results.record(SCENARIO, CREATE, 'issues/s', 'higher', 'heartbeat', hb.createRate);
      ctx.log(`${SCENARIO} round ${round}: heartbeat with issues ${describe(hb.rate, hb.costs)}; create ${hb.createRate.toFixed(0)} issues/s`);
      const floor = await issueBookkeepingFloorRound(ctx, jobs, AGENTS, () => startDrainCosts(ctx, `${SCENARIO}: bare SQL with issues`));
      record(ctx, DRAIN_WITH_ISSUES, 'bare-sql', floor.rate, floor.costs);
      ctx.log(`${SCENARIO} round ${round}: its rows in bare SQL ${describe(floor.rate, floor.costs)}`);
    }
  },
};
