// When an instance counts as dead (engine/cluster/leases.ts judgeOwner): a pure rule.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { instanceProcessAlive, judgeOwner, type JudgeContext, type OwnerRow, processStartTime } from '../../../engine/cluster/leases.ts';

const now = new Date('2026-12-01T12:00:00Z');
const ctx = (over: Partial<JudgeContext> = {}): JudgeContext => ({
  now,
  self: 'me',
  host: 'here',
  pid: 100,
  leasesTrusted: true,
  runningHere: new Set(['sibling']),
  processAlive: () => true,
  ...over,
});
const owner = (over: Partial<OwnerRow> = {}): OwnerRow => ({
  id: 'other',
  host: 'elsewhere',
  pid: 200,
  startedAt: new Date(now.getTime() - 60_000),
  leaseExpiresAt: new Date(now.getTime() + 3_000),
  stoppedAt: null,
  ...over,
});
const lapsed = { leaseExpiresAt: new Date(now.getTime() - 1) };

describe('judgeOwner', () => {
  it('a run with no owner, or an owner whose row is gone or stopped, has a dead owner', () => {
    expect(judgeOwner(null, null, ctx())).toEqual({ dead: true, why: 'no_owner' });
    expect(judgeOwner('other', null, ctx())).toEqual({ dead: true, why: 'instance_gone' });
    expect(judgeOwner('other', owner({ stoppedAt: now }), ctx())).toEqual({ dead: true, why: 'stopped' });
  });

  it('this instance is never dead to itself', () => {
    expect(judgeOwner('me', owner({ id: 'me', ...lapsed, host: 'here', pid: 100 }), ctx({ runningHere: new Set() }))).toEqual({ dead: false });
  });

  it('a lease that lapsed while this instance renewed its own for a full lease means dead', () => {
    expect(judgeOwner('other', owner(lapsed), ctx())).toEqual({ dead: true, why: 'lease_lapsed' });
  });

  it('a lapsed lease means nothing while this instance has not itself renewed for a full lease (the database was away)', () => {
    expect(judgeOwner('other', owner(lapsed), ctx({ leasesTrusted: false }))).toEqual({ dead: false });
  });

  it('a lease still running means alive', () => {
    expect(judgeOwner('other', owner(), ctx())).toEqual({ dead: false });
  });

  it('on this host, the process decides, whatever the lease says', () => {
    const local = owner({ host: 'here', ...lapsed });
    expect(judgeOwner('other', local, ctx({ processAlive: () => true }))).toEqual({ dead: false });
    expect(judgeOwner('other', owner({ host: 'here' }), ctx({ processAlive: () => false }))).toEqual({ dead: true, why: 'process_exited' });
  });

  it('another engine of this same process is alive while it runs', () => {
    const sibling = owner({ id: 'sibling', host: 'here', pid: 100, ...lapsed });
    expect(judgeOwner('sibling', sibling, ctx())).toEqual({ dead: false });
    expect(judgeOwner('sibling', sibling, ctx({ runningHere: new Set() }))).toEqual({ dead: true, why: 'process_exited' });
  });
});

describe('instanceProcessAlive', () => {
  it('is true for this process, registered after it started', () => {
    expect(instanceProcessAlive(process.pid, new Date())).toBe(true);
  });

  it('is false for a process that exited', () => {
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!;
    expect(instanceProcessAlive(exited, new Date())).toBe(false);
  });

  it('is false for a pid that a newer process reuses: it started after the instance registered', () => {
    const started = processStartTime(process.pid);
    expect(started).not.toBeNull();
    expect(instanceProcessAlive(process.pid, new Date(started!.getTime() - 60_000))).toBe(false);
  });
});
