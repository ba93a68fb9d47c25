import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { RunStateSnapshot } from '../../engine/live/live-events.ts';
import { queryKey, readOncePerChange } from '../../schema/shared-reads.ts';

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
