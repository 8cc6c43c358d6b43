/**
 * Natural batching of a message stream: each batch is every message that arrived while the
 * previous batch was being handled, up to `max`. A lone message is a batch of one at once (no
 * waiting for company, so latency at low rates is that of one message); under load batches
 * grow and their fixed cost (a transaction's commit) is shared. At most `max` messages wait
 * here besides the batch in hand, so nothing sits unacknowledged for long.
 */
export async function* batchesOf<T>(source: AsyncIterable<T>, max: number): AsyncGenerator<T[]> {
  const queue: T[] = [];
  let ended = false;
  let abandoned = false;
  let failure: unknown;
  let arrived: (() => void) | undefined;
  let room: (() => void) | undefined;
  const pump = (async () => {
    try {
      for await (const item of source) {
        if (abandoned) break;
        queue.push(item);
        arrived?.();
        if (queue.length >= max) await new Promise<void>((r) => (room = r));
      }
    } catch (err) {
      failure = err;
    } finally {
      ended = true;
      arrived?.();
    }
  })();
  try {
    for (;;) {
      if (!queue.length) {
        if (ended) break;
        await new Promise<void>((r) => (arrived = r));
        arrived = undefined;
        continue;
      }
      const batch = queue.splice(0, max);
      room?.();
      room = undefined;
      yield batch;
    }
    await pump;
    if (failure) throw failure;
  } finally {
    // Left early (a break): the pump stops taking messages; those it holds are never handed out.
    abandoned = true;
    room?.();
  }
}
