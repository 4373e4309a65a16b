import { describe, expect, it } from 'vitest';
import { groupCommit } from './group-commit.js';

/** Resolves after the current turn of the event loop (and its batch) is over. */
const nextTurn = () => new Promise<void>((r) => setImmediate(r));

describe('groupCommit', () => {
  it('runs the items of one turn as one batch and answers each with its own result, in order', async () => {
    const batches: number[][] = [];
    const g = groupCommit<number, string>(async (items) => {
      batches.push(items);
      return items.map((i) => `r${i}`);
    });
    const answers = await Promise.all([1, 2, 3, 4].map((i) => g.add(i)));
    expect(answers).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(batches).toEqual([[1, 2, 3, 4]]);
    expect(g.pending).toBe(0);
  });

  it('fills the next batch while one commits, and keeps batches at most maxBatch items', async () => {
    const batches: number[][] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const g = groupCommit<number, number>(
      async (items) => {
        batches.push(items);
        if (batches.length === 1) await gate;
        return items;
      },
      { maxBatch: 3 },
    );
    const first = g.add(0);
    await nextTurn();
    expect(batches).toEqual([[0]]);
    // The first batch is still committing: these wait for the next ones.
    const later = [1, 2, 3, 4].map((i) => g.add(i));
    expect(g.pending).toBe(5);
    await nextTurn();
    expect(batches).toHaveLength(1);
    release();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3, 4]);
    expect(batches).toEqual([[0], [1, 2, 3], [4]]);
    expect(g.pending).toBe(0);
  });

  it('when a batch fails, runs its items one by one: only the bad one is refused', async () => {
    const batches: string[][] = [];
    const g = groupCommit<string, string>(async (items) => {
      batches.push(items);
      if (items.includes('bad')) throw new Error(`refused: ${items.join(',')}`);
      return items.map((i) => i.toUpperCase());
    });
    const results = await Promise.allSettled(['a', 'bad', 'c'].map((i) => g.add(i)));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual(['A', 'refused: bad', 'C']);
    expect(batches).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
    expect(g.pending).toBe(0);
  });

  it('refuses a run that answers a different number of results than items (each item then alone)', async () => {
    const g = groupCommit<number, number>(async (items) => (items.length > 1 ? [1] : items));
    expect(await Promise.all([7, 8].map((i) => g.add(i)))).toEqual([7, 8]);
    const broken = groupCommit<number, number>(async () => []);
    await expect(broken.add(1)).rejects.toThrow('group commit: 0 results for 1 items');
  });

  it('starts again after going idle', async () => {
    let runs = 0;
    const g = groupCommit<number, number>(async (items) => {
      runs++;
      return items;
    });
    expect(await g.add(1)).toBe(1);
    await nextTurn();
    expect(await g.add(2)).toBe(2);
    expect(runs).toBe(2);
  });
});
