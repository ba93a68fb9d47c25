// A run that only planned is settled after its liveness continuation (docs/engine.md §6.4 step 10).
// When the database refuses that continuation (here a trigger refuses its wakeup), the refusal is
// logged as what it is and the run is settled all the same; it is not taken for an adapter failure.
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
  await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
});
afterEach(() => f.close());

describe('a liveness continuation the database refuses', () => {
  it('leaves the plan-only run settled, with no continuation queued', async () => {
    await f.db.execute(sql`
      create function refuse_continuations() returns trigger language plpgsql as $$
      begin
        if new.reason = 'run_liveness_continuation' then raise exception 'continuations are refused here'; end if;
        return new;
      end $$`);
    await f.db.execute(sql`create trigger refuse_continuations before insert on agent_wakeup_requests for each row execute function refuse_continuations()`);
    const logged: Array<{ msg: string; runId?: string }> = [];
    f.engine.deps.logger = pino({ level: 'warn' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const agent = await f.agent({ adapterConfig: { steps: [{ result: {}, summary: 'I will look at the failing test next.' }] } });
    const issue = await f.issue({ status: 'in_progress', assigneeAgentId: agent.id });

    const woken = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'issue_assigned', payload: { issueId: issue.id } });
    const run = await waitFor('the plan-only run to be settled', async () => {
      const row = await f.db.query.heartbeatRuns.findFirst({ where: { id: woken.run!.id } });
      return row?.settledAt ? row : null;
    });
    expect(run).toMatchObject({ status: 'succeeded', livenessState: 'plan_only' });
    expect(await f.db.query.wakeupRequests.findMany({ where: { agentId: agent.id, reason: 'run_liveness_continuation' } })).toEqual([]);
    expect(logged.filter((line) => line.runId === run.id).map((line) => line.msg)).toEqual([
      'the liveness continuation could not be queued; the run is settled without it',
    ]);
  });
});
