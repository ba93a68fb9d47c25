// The default mutation rate is sized for automation: one key sending 50 wakeups/s, after a batch of
// 1,000, is never refused; one sending far more than that still is.
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.ts';
import { useMutationRateLimit } from '../../server/hardening.ts';

/** A limiter on a clock the test moves; `send()` says whether one mutation from one key was let through. */
function limiter(options: { ratePerSec: number; burst: number }) {
  let time = 0;
  const plugin = useMutationRateLimit({ ...options, now: () => time });
  const document = parse('mutation { enqueueWakeup(input: {}) { outcome } }');
  return {
    advance: (ms: number) => void (time += ms),
    send(): boolean {
      let refused = false;
      const onExecute = plugin.onExecute as (payload: unknown) => void;
      onExecute({
        args: { contextValue: { principal: { kind: 'apiKey', keyId: 'automation' } }, document, operationName: null },
        setResultAndStopExecution: () => void (refused = true),
      });
      return !refused;
    },
  };
}

describe('mutation rate defaults', () => {
  const config = loadConfig({});

  it('are 200/s with bursts of 1,000, and still configurable', () => {
    expect({ rate: config.mutationRate, burst: config.mutationBurst }).toEqual({ rate: 200, burst: 1_000 });
    const set = loadConfig({ HEARTBEAT_MUTATION_RATE: '20', HEARTBEAT_MUTATION_BURST: '100' });
    expect({ rate: set.mutationRate, burst: set.mutationBurst }).toEqual({ rate: 20, burst: 100 });
  });

  it('let a batch of 1,000 and then 50 wakeups/s for a minute through', () => {
    const limit = limiter({ ratePerSec: config.mutationRate, burst: config.mutationBurst });
    for (let i = 0; i < 1_000; i++) expect(limit.send()).toBe(true);
    // Right after the batch the bucket is empty: the steady load lives on the refill alone.
    for (let i = 0; i < 50 * 60; i++) {
      limit.advance(20);
      expect(limit.send()).toBe(true);
    }
  });

  it('still refuse one key sending at 1,000/s once its burst is spent', () => {
    const limit = limiter({ ratePerSec: config.mutationRate, burst: config.mutationBurst });
    let refused = 0;
    for (let i = 0; i < 10_000; i++) {
      limit.advance(1);
      if (!limit.send()) refused += 1;
    }
    // 10 s at 1,000/s: the burst and 10 s of the rate get through, the rest does not.
    expect(refused).toBeGreaterThan(10_000 - 1_000 - 2_000 - 10);
    expect(refused).toBeLessThan(10_000 - 1_000 - 2_000 + 10);
  });

  it('the former defaults (20/s, bursts of 100) refused that automation load within seconds', () => {
    const limit = limiter({ ratePerSec: 20, burst: 100 });
    let refused = 0;
    for (let i = 0; i < 50 * 10; i++) {
      limit.advance(20);
      if (!limit.send()) refused += 1;
    }
    expect(refused).toBeGreaterThan(0);
  });
});
