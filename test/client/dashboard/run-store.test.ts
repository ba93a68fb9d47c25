// The dashboard's store of runs: answers may arrive out of order, the newest state wins.
import { describe, expect, it } from 'vitest';
import { RunStore } from '../../../client/dashboard/run-store.ts';
import type { Run } from '../../../client/index.ts';

const run = (status: string, updatedAt: string) => ({ id: 'r1', status, updatedAt, agent: { id: 'a1', name: 'agent' } }) as unknown as Run;

describe('RunStore.putRun', () => {
  it('keeps the newest state when an older answer arrives after a newer one', () => {
    const store = new RunStore();
    expect(store.putRun(run('QUEUED', '2026-01-01T00:00:00.000Z'))).toMatchObject({ kept: true, agentRunningChanged: false });
    // The live update of the claim, then the mutation's answer from before it.
    expect(store.putRun(run('RUNNING', '2026-01-01T00:00:00.005Z'))).toMatchObject({ kept: true, agentRunningChanged: true });
    expect(store.putRun(run('QUEUED', '2026-01-01T00:00:00.000Z'))).toMatchObject({ kept: false, agentRunningChanged: false });
    expect(store.runs.get('r1')?.status).toBe('RUNNING');
    expect(store.runningRunIds('a1')).toEqual(['r1']);
    // The same time again (a repeat) and later times are taken.
    expect(store.putRun(run('RUNNING', '2026-01-01T00:00:00.005Z')).kept).toBe(true);
    expect(store.putRun(run('SUCCEEDED', '2026-01-01T00:00:01.000Z'))).toMatchObject({ kept: true, agentRunningChanged: true });
    expect(store.runningRunIds('a1')).toEqual([]);
  });
});
