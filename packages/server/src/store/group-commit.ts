/**
 * Group commit for small writes that arrive together (concurrent requests): the items queued during
 * one turn of the event loop run as one batch (one transaction, one commit, chosen by `run`), and
 * while a batch commits the next one fills, so batches grow with the load. Each caller is answered
 * with its own result after its batch's `run` resolved, that is after the commit.
 *
 * If a batch fails, its items run again one by one (batches of one), so that one bad item fails
 * alone and the others are not refused for it; a batch of one that fails rejects its caller.
 */
export interface GroupCommit<I, O> {
  /** Queue an item; resolves with its result once its batch has committed. */
  add(item: I): Promise<O>;
  /** Items queued and not yet answered. */
  readonly pending: number;
}

export interface GroupCommitOptions {
  /** Most items per batch. Default 256. */
  maxBatch?: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

/**
 * `run(items)` does the batch's work (in one transaction) and returns one result per item, in order;
 * it may be called again with a single item of a failed batch. So `run` must not throw once its
 * transaction has committed (work after the commit, such as refreshing an in-memory view, catches its
 * own failures): a batch that throws is run again, and its committed writes would be written twice.
 */
export function groupCommit<I, O>(run: (items: I[]) => Promise<O[]>, options: GroupCommitOptions = {}): GroupCommit<I, O> {
  const maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 256));
  let queue: Waiting<I, O>[] = [];
  let running = false;
  let inFlight = 0;

  const runBatch = async (batch: Waiting<I, O>[]): Promise<void> => {
    let results: O[];
    try {
      results = await run(batch.map((w) => w.item));
      if (results.length !== batch.length) throw new Error(`group commit: ${results.length} results for ${batch.length} items`);
    } catch (err) {
      if (batch.length === 1) {
        (batch[0] as Waiting<I, O>).reject(err);
        return;
      }
      for (const w of batch) await runBatch([w]);
      return;
    }
    batch.forEach((w, i) => {
      w.resolve(results[i] as O);
    });
  };

  const drain = async (): Promise<void> => {
    try {
      while (queue.length > 0) {
        const batch = queue.slice(0, maxBatch);
        queue = queue.slice(batch.length);
        await runBatch(batch);
      }
    } finally {
      running = false;
    }
  };

  return {
    add(item) {
      return new Promise<O>((resolve, reject) => {
        inFlight++;
        queue.push({
          item,
          resolve: (out) => {
            inFlight--;
            resolve(out);
          },
          reject: (err) => {
            inFlight--;
            reject(err);
          },
        });
        if (!running) {
          running = true;
          // After the current turn: every request that arrived with this one joins its batch.
          setImmediate(() => void drain());
        }
      });
    },
    get pending() {
      return inFlight;
    },
  };
}
