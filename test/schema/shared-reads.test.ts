import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { RunStateSnapshot } from '../../engine/live/live-events.ts';
import { queryKey, readMoment, readOnceInFlight, readOncePerChange } from '../../schema/shared-reads.ts';

const snapshot = (): RunStateSnapshot => ({
  status: 'running',
  createdAt: '2026-01-01T00:00:00.000Z',
  error: null,
  errorCode: null,
  startedAt: '2026-01-01T00:00:01.000Z',
  finishedAt: null,
  settledAt: null,
  updatedAt: '2026-01-01T00:00:01.000Z',
  livenessState: null,
  scheduledRetryAt: null,
  scheduledRetryAttempt: 0,
});

describe('queryKey', () => {
  const query = { where: { id: 'r1', companyId: 'c1' }, columns: { id: true, status: true }, with: { agent: { columns: { name: true }, limit: 1 } } };

  it('is equal for equal queries and differs when anything differs', () => {
    expect(queryKey(structuredClone(query))).toBe(queryKey(query));
    expect(queryKey({ ...query, where: { id: 'r1', companyId: 'c2' } })).not.toBe(queryKey(query));
    expect(queryKey({ ...query, columns: { id: true } })).not.toBe(queryKey(query));
    expect(queryKey({ ...query, with: { agent: { columns: { name: true }, limit: 2 } } })).not.toBe(queryKey(query));
  });

  it('tells an undefined option from a missing one', () => {
    expect(queryKey({ where: { id: 'r1' }, columns: undefined })).not.toBe(queryKey({ where: { id: 'r1' } }));
  });

  it.each([
    ['a function', { extras: { n: () => 1 } }],
    ['an SQL object', { extras: { n: sql`1` } }],
    ['a date', { where: { createdAt: new Date(0) } }],
    ['a bigint', { where: { n: 1n } }],
    ['a number JSON cannot spell', { limit: Number.NaN }],
    ['a symbol-keyed property', { where: { id: 'r1', [Symbol('hidden')]: true } }],
  ])('is null for a query holding %s', (_what, value) => {
    expect(queryKey(value)).toBeNull();
  });
});

describe('readOncePerChange', () => {
  const db = {};
  const query = { where: { id: 'r1', companyId: 'c1' } };

  it('reads once per change and query, again for another change or another query', async () => {
    let reads = 0;
    const read = async () => ({ id: 'r1', read: ++reads });
    const change = snapshot();
    const [a, b] = await Promise.all([readOncePerChange(db, change, query, read), readOncePerChange(db, change, structuredClone(query), read)]);
    expect(b).toBe(a);
    expect(await readOncePerChange(db, change, query, read)).toBe(a);
    expect(reads).toBe(1);
    await readOncePerChange(db, snapshot(), query, read);
    await readOncePerChange(db, change, { ...query, columns: { id: true } }, read);
    await readOncePerChange({}, change, query, read);
    expect(reads).toBe(4);
  });

  it('does not hand a failed read on', async () => {
    const change = snapshot();
    await expect(readOncePerChange(db, change, query, () => Promise.reject(new Error('connection lost')))).rejects.toThrow('connection lost');
    await expect(readOncePerChange(db, change, query, async () => 'read again')).resolves.toBe('read again');
  });

  it('never shares a query it cannot key', async () => {
    let reads = 0;
    const read = async () => ++reads;
    const change = snapshot();
    const unkeyable = { extras: { n: sql`1` } };
    await readOncePerChange(db, change, unkeyable, read);
    await readOncePerChange(db, change, unkeyable, read);
    expect(reads).toBe(2);
  });
});

describe('readOnceInFlight', () => {
  const query = { where: { runId: 'r1', seq: { gt: 4 } }, limit: 500 };
  /** A read that answers when told to, counting how many were started. */
  function gatedReads() {
    const gates: Array<(value: string) => void> = [];
    return {
      gates,
      read: () => new Promise<string>((resolve) => gates.push(resolve)),
    };
  }

  it('shares a read in flight with callers woken before it started', async () => {
    const db = {};
    const { gates, read } = gatedReads();
    const wokenA = readMoment();
    const wokenB = readMoment();
    const a = readOnceInFlight(db, query, wokenA, read);
    const b = readOnceInFlight(db, structuredClone(query), wokenB, read);
    expect(gates).toHaveLength(1);
    gates[0]('page');
    expect(await b).toBe(await a);
  });

  it('does not hand a caller a read that started before it was woken', async () => {
    const db = {};
    const { gates, read } = gatedReads();
    const first = readOnceInFlight(db, query, readMoment(), read);
    // Woken after that read started (new rows committed since): it must read again.
    const later = readOnceInFlight(db, query, readMoment(), read);
    expect(gates).toHaveLength(2);
    gates[0]('old page');
    gates[1]('new page');
    expect(await first).toBe('old page');
    expect(await later).toBe('new page');
  });

  it('runs a query builder\'s thenable once, however many callers await it', async () => {
    const db = {};
    let executions = 0;
    // Like drizzle's query builders: every then() executes the statement again.
    const thenable = { then: (resolve: (value: string) => void) => resolve(`execution ${++executions}`) };
    const woken = readMoment();
    const results = await Promise.all([1, 2, 3].map(() => readOnceInFlight(db, query, woken, () => thenable as unknown as Promise<string>)));
    expect(results).toEqual(['execution 1', 'execution 1', 'execution 1']);
    expect(executions).toBe(1);
  });

  it('keeps nothing once a read is done, and does not hand a failure on', async () => {
    const db = {};
    let reads = 0;
    const woken = readMoment();
    await readOnceInFlight(db, query, woken, async () => ++reads);
    await readOnceInFlight(db, query, woken, async () => ++reads);
    expect(reads).toBe(2);
    await expect(readOnceInFlight(db, query, woken, () => Promise.reject(new Error('connection lost')))).rejects.toThrow('connection lost');
    await expect(readOnceInFlight(db, query, woken, async () => 'read again')).resolves.toBe('read again');
  });

  it('shares nothing across databases or queries, nor a query it cannot key', async () => {
    const { gates, read } = gatedReads();
    const woken = readMoment();
    void readOnceInFlight({}, query, woken, read);
    void readOnceInFlight({}, query, woken, read);
    const db = {};
    void readOnceInFlight(db, query, woken, read);
    void readOnceInFlight(db, { ...query, limit: 1 }, woken, read);
    void readOnceInFlight(db, { extras: { n: sql`1` } }, woken, read);
    void readOnceInFlight(db, { extras: { n: sql`1` } }, woken, read);
    expect(gates).toHaveLength(6);
    for (const gate of gates) gate('done');
  });
});
