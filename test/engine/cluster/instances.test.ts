// Instance leases: registered, renewed, ended on deregistration and when a started engine stops.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LEASE_TTL_MS, deregisterInstance, registerInstance, renewInstanceLease } from '../../../engine/cluster/instances.ts';
import { type EngineFixture, engineFixture } from '../../support/engine.ts';

let f: EngineFixture;
beforeEach(async () => {
  f = await engineFixture();
});
afterEach(() => f.close());

describe('instance leases', () => {
  it('registers with a lease of three beats, renews it, and ends it on deregistration', async () => {
    const { id } = await registerInstance(f.db, f.clock);
    const row = () => f.db.query.engineInstances.findFirst({ where: { id } });
    expect((await row())!.leaseExpiresAt.getTime()).toBe(f.clock.now().getTime() + LEASE_TTL_MS);
    f.clock.advance(2_000);
    await renewInstanceLease(f.db, f.clock, id);
    expect((await row())!.leaseExpiresAt.getTime()).toBe(f.clock.now().getTime() + LEASE_TTL_MS);
    await deregisterInstance(f.db, f.clock, id);
    expect(await row()).toMatchObject({ stoppedAt: f.clock.now(), leaseExpiresAt: f.clock.now() });
  });

  it('a started engine registers itself and ends its lease when it stops', async () => {
    await f.engine.start({ apiUrl: 'http://127.0.0.1:9/graphql' });
    const id = f.engine.instanceId;
    const row = () => f.db.query.engineInstances.findFirst({ where: { id } });
    expect(await row()).toMatchObject({ pid: process.pid, stoppedAt: null });
    expect((await row())!.leaseExpiresAt.getTime()).toBeGreaterThan(f.clock.now().getTime());
    await f.engine.stop();
    expect(await row()).toMatchObject({ stoppedAt: f.clock.now(), leaseExpiresAt: f.clock.now() });
  });
});
