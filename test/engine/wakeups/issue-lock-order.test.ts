// Lock order on an issue's runs: an issue wakeup locks the runs it may join before the issue, as
// claims, finishes, cancels and retries do. Were it to hold the issue while waiting for a run, a
// claim holding that run and stamping the issue would wait for it in turn: a deadlock, which
// PostgreSQL breaks only after deadlock_timeout by aborting one of them.
import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { issues } from '../../../db/schema.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { postgres } from '../../support/pg-client.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
let holder: ReturnType<typeof postgres>;
beforeEach(async () => {
  f = await engineFixture();
  holder = postgres(f.database.url);
});
afterEach(async () => {
  await holder.end();
  await f.close();
});

/** Backends of this database waiting for a lock. */
async function lockWaiters(): Promise<number> {
  const [row] = await holder<{ n: number }[]>`
    select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where not l.granted and a.datname = current_database()`;
  return row.n;
}

it.each([
  ['a queued run of the issue (a claim holds it)', 'queued'],
  ['the running run holding its execution lock (a finish holds it)', 'running'],
] as const)('an issue wakeup waiting for %s does not hold the issue meanwhile', async (_, status) => {
  const agent = await f.agent();
  const issue = await f.issue({ status: 'todo', assigneeAgentId: agent.id });
  const run = await f.run({ agentId: agent.id, issueId: issue.id, status });
  if (status === 'running') await f.db.update(issues).set({ executionRunId: run.id }).where(eq(issues.id, issue.id));

  let wakeup: Promise<Awaited<ReturnType<typeof f.engine.enqueueWakeup>>> | null = null;
  await holder.begin(async (claim) => {
    // What a claim (or a finish) holds when it is about to stamp (or release) the issue: the run.
    await claim`select id from heartbeat_runs where id = ${run.id} for update`;
    wakeup = f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'issue_commented', payload: { issueId: issue.id } });
    await waitFor('the wakeup to wait for the run', async () => (await lockWaiters()) > 0);
    // The claim's next step: the issue. Taken at once (nowait fails with 55P03 if the wakeup holds it).
    await claim`select id from issues where id = ${issue.id} for update nowait`;
  });

  const result = await wakeup!;
  expect(result).toMatchObject({ outcome: 'coalesced', run: { id: run.id } });
});
