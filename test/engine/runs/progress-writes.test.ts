// The progress columns (last_output_*) of a running run (docs/engine.md §6.5): written a second
// after its first chunk when the run is still going, never on their own for a run that ends sooner
// (its terminal write has them). A trigger records each write of them while the run is running.
import { sql } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';
import { waitFor } from '../../support/wait.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
  await f.db.execute(sql`create table progress_writes (run_id uuid, seq int)`);
  await f.db.execute(sql`
    create function record_progress_write() returns trigger language plpgsql as $$
    begin
      insert into progress_writes values (new.id, new.last_output_seq);
      return new;
    end $$`);
  await f.db.execute(sql`
    create trigger record_progress_write after update on heartbeat_runs for each row
    when (new.status = 'running' and old.last_output_seq is distinct from new.last_output_seq)
    execute function record_progress_write()`);
  await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
});
afterEach(() => f.close());

const progressWrites = async (runId: string) =>
  (await f.db.execute<{ seq: number }>(sql`select seq from progress_writes where run_id = ${runId}`)).map((row) => Number(row.seq));

async function settledRun(adapter: { adapterType?: 'process'; adapterConfig: Record<string, unknown> }) {
  const agent = await f.agent({ adapterConfig: adapter.adapterConfig });
  if (adapter.adapterType) await f.db.execute(sql`update agents set adapter_type = ${adapter.adapterType} where id = ${agent.id}`);
  const { run } = await f.engine.enqueueWakeup({ companyId: f.companyId, agentId: agent.id, reason: 'test' });
  return waitFor('the run to settle', async () => {
    const row = await f.db.query.heartbeatRuns.findFirst({ where: { id: run!.id } });
    return row?.settledAt ? row : null;
  });
}

describe('progress writes', () => {
  it('a run that prints and ends within the second has its progress from its terminal write alone', async () => {
    const run = await settledRun({ adapterConfig: { steps: [{ log: 'one' }, { log: 'two' }, { log: 'three' }, { result: {}, summary: 'done' }] } });
    expect(run).toMatchObject({ status: 'succeeded', lastOutputSeq: 3 });
    expect(run.lastOutputAt).not.toBeNull();
    expect(await progressWrites(run.id)).toEqual([]);
  });

  it('a run still going a second after its first chunk has its progress written while it runs', async () => {
    const script = "console.log('started'); setTimeout(() => process.exit(0), 2500);";
    const run = await settledRun({ adapterType: 'process', adapterConfig: { command: process.execPath, args: ['-e', script] } });
    expect(run.status).toBe('succeeded');
    expect(await progressWrites(run.id)).toEqual([1]);
  });
});
