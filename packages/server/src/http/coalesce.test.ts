import { describe, expect, it } from 'vitest';
import { createReplyCoalescer } from './coalesce.js';

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
const checkPhase = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('reply coalescing', () => {
  it('sends at once when no request has been read in this turn', () => {
    const c = createReplyCoalescer();
    const sent: string[] = [];
    c.release((a: string, b: string) => sent.push(a + b), 'x', 'y');
    expect(sent).toEqual(['xy']);
  });

  it('holds the replies of a turn that read requests until its check phase, then sends them in order', async () => {
    const c = createReplyCoalescer();
    const sent: number[] = [];
    c.mark();
    c.release((n: number) => sent.push(n), 1, null);
    c.mark();
    c.release((n: number) => sent.push(n), 2, null);
    expect(sent).toEqual([]);
    await checkPhase();
    expect(sent).toEqual([1, 2]);
  });

  it('sends a reply completed in a later turn at once (a group commit acknowledged after the turn closed)', async () => {
    const c = createReplyCoalescer();
    const sent: string[] = [];
    c.mark();
    await checkPhase();
    c.release((s: string) => sent.push(s), 'ack', null);
    expect(sent).toEqual(['ack']);
  });

  it('opens a new turn for requests read after the previous one closed', async () => {
    const c = createReplyCoalescer();
    const sent: string[] = [];
    c.mark();
    await nextTurn();
    c.mark();
    c.release((s: string) => sent.push(s), 'held', null);
    expect(sent).toEqual([]);
    await checkPhase();
    expect(sent).toEqual(['held']);
  });
});
