// The bench reduces rounds to medians: an even number of rounds must not report the better one.
import { describe, expect, it } from 'vitest';
import { median, percentile } from '../../bench/lib/stats.ts';

describe('bench statistics', () => {
  it('median: the middle round, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([77, 47])).toBe(62);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });

  it('percentile: nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile([5], 99)).toBe(5);
  });
});
