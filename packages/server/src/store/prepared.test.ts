import { describe, expect, it } from 'vitest';
import { MULTI_ROW_CHUNK, rowsInStatement } from './prepared.js';

/** The row counts of the statements that insert `count` rows. */
const split = (count: number): number[] => {
  const out: number[] = [];
  for (let left = count; left > 0; left -= out[out.length - 1] as number) out.push(rowsInStatement(left));
  return out;
};

describe('rowsInStatement', () => {
  it('puts a batch of up to 32 rows in one statement', () => {
    for (let n = 1; n <= 32; n++) expect(split(n)).toEqual([n]);
  });

  it('splits larger batches into 256-row chunks, then powers of two, then the rest of at most 32 at once', () => {
    expect(split(33)).toEqual([32, 1]);
    expect(split(64)).toEqual([64]);
    expect(split(100)).toEqual([64, 32, 4]);
    expect(split(256)).toEqual([256]);
    expect(split(300)).toEqual([256, 32, 12]);
    expect(split(1000)).toEqual([256, 256, 256, 128, 64, 32, 8]);
  });

  it('covers every row exactly once, with at most 35 distinct statement sizes', () => {
    const sizes = new Set<number>();
    for (let n = 1; n <= 2 * MULTI_ROW_CHUNK + 77; n++) {
      const parts = split(n);
      expect(parts.reduce((a, b) => a + b, 0)).toBe(n);
      for (const p of parts) {
        expect(p).toBeGreaterThanOrEqual(1);
        expect(p).toBeLessThanOrEqual(MULTI_ROW_CHUNK);
        sizes.add(p);
      }
    }
    expect(sizes.size).toBeLessThanOrEqual(35);
  });
});
