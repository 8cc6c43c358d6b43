/**
 * Group commit: work handed in by concurrent callers is gathered into batches, and each batch
 * is written by one call of `flush` (one transaction). A batch closes `maxWaitMs` after its
 * first item or at `maxSize` items, whichever comes first. With `atTurnEndWhenIdle`, a batch
 * also closes as soon as nothing is being written, at the end of the event loop's turn: an item
 * handed in on an idle node goes with those handed in during the same turn (the answers that
 * arrived together), never waiting for a timer (2 ms and more on a busy event loop, against an
 * append of 1 to 3 ms), and the items that came while a batch was being written go together
 * when it has committed. On embedded PGlite, whose appends are quick enough that the chain is
 * nearly always idle, closing at once made a transaction per record. Batches are flushed one at a time,
 * in the order they closed: they all wait for the same chain lock anyway, and one node's
 * records then reach the chain in the order they were handed in. A caller's promise settles
 * only once its batch has committed (or failed: then every caller in the batch is rejected
 * with the same error, since nothing of the batch was written).
 */

export interface BatchBounds {
  maxWaitMs: number;
  maxSize: number;
  atTurnEndWhenIdle?: boolean;
}

/** The bounds of the audit log's batches: a caller waits at most about 2 ms for others to join, and not at all alone. */
export const AUDIT_BATCH: BatchBounds = { maxWaitMs: 2, maxSize: 64, atTurnEndWhenIdle: true };

export interface GroupCommit<T> {
  /** Resolves once `item` is committed with its batch; rejects if its batch failed. */
  add(item: T): Promise<void>;
  /** Closes the open batch and resolves once everything handed in so far is flushed. */
  drain(): Promise<void>;
}

interface Waiting<T> {
  item: T;
  resolve(): void;
  reject(err: unknown): void;
}

export function groupCommit<T>(flush: (items: T[]) => Promise<void>, bounds: BatchBounds = AUDIT_BATCH): GroupCommit<T> {
  let open: Waiting<T>[] = [];
  let timer: NodeJS.Timeout | undefined;
  let turnEnd: NodeJS.Immediate | undefined;
  const closed: Waiting<T>[][] = [];
  // Set and cleared synchronously (not when a promise settles), so no closed batch is left behind.
  let flushing = false;
  let flushed = Promise.resolve();

  async function flushAll(): Promise<void> {
    try {
      for (let batch = closed.shift(); batch; batch = closed.shift()) await flushOne(batch);
    } finally {
      flushing = false;
      // Those who came while the chain was busy have waited for it already: they go now, together.
      if (bounds.atTurnEndWhenIdle && open.length) close();
    }
  }

  async function flushOne(batch: Waiting<T>[]): Promise<void> {
    try {
      await flush(batch.map((w) => w.item));
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  }

  function close(): void {
    clearTimeout(timer);
    clearImmediate(turnEnd);
    timer = turnEnd = undefined;
    if (open.length) closed.push(open);
    open = [];
    if (flushing || !closed.length) return;
    flushing = true;
    flushed = flushAll();
  }

  return {
    add(item) {
      return new Promise<void>((resolve, reject) => {
        open.push({ item, resolve, reject });
        if (open.length >= bounds.maxSize) close();
        else if (bounds.atTurnEndWhenIdle && !flushing) turnEnd ??= setImmediate(close);
        else timer ??= setTimeout(close, bounds.maxWaitMs);
      });
    },
    async drain() {
      close();
      while (flushing) await flushed;
    },
  };
}
