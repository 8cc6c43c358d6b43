/** Natural batching of deliveries: what arrives while a batch is handled is the next batch, bounded. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { batchesOf } from "../../platform/events/batches";

const tick = () => new Promise((r) => setImmediate(r));

/** A source the test feeds by hand. */
function feed<T>() {
  const items: T[] = [];
  let waiting: (() => void) | undefined;
  let ended = false;
  let failure: Error | undefined;
  let taken = 0;
  const source: AsyncIterable<T> = {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (!items.length && !ended && !failure) await new Promise<void>((r) => (waiting = r));
        if (items.length) {
          taken++;
          yield items.shift()!;
        } else if (failure) throw failure;
        else return;
      }
    },
  };
  const wake = () => (waiting?.(), (waiting = undefined));
  return {
    source,
    push: (...more: T[]) => (items.push(...more), wake()),
    end: () => ((ended = true), wake()),
    fail: (err: Error) => ((failure = err), wake()),
    taken: () => taken,
  };
}

test("a lone item is a batch at once; items arriving meanwhile form the next batch, at most max", async () => {
  const f = feed<number>();
  const it = batchesOf(f.source, 3);
  f.push(1);
  assert.deepEqual((await it.next()).value, [1]);
  // While batch [1] was "handled", five arrived: the next batches take them, three at most.
  f.push(2, 3, 4, 5, 6);
  await tick();
  assert.deepEqual((await it.next()).value, [2, 3, 4]);
  await tick();
  assert.deepEqual((await it.next()).value, [5, 6]);
  f.end();
  assert.equal((await it.next()).done, true);
});

test("no more than max wait besides the batch in hand", async () => {
  const f = feed<number>();
  const it = batchesOf(f.source, 2);
  f.push(1);
  assert.deepEqual((await it.next()).value, [1]);
  f.push(2, 3, 4, 5, 6, 7);
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(f.taken(), 3, "the pump stopped taking at max");
  assert.deepEqual((await it.next()).value, [2, 3]);
});

test("the source's failure reaches the consumer after what was taken", async () => {
  const f = feed<number>();
  const it = batchesOf(f.source, 10);
  f.push(1);
  await tick();
  f.fail(new Error("the connection closed"));
  assert.deepEqual((await it.next()).value, [1]);
  await assert.rejects(it.next(), /the connection closed/);
});

test("leaving early stops the pump", async () => {
  const f = feed<number>();
  f.push(1);
  for await (const batch of batchesOf(f.source, 5)) {
    assert.deepEqual(batch, [1]);
    break;
  }
  f.push(2, 3);
  for (let i = 0; i < 5; i++) await tick();
  assert.ok(f.taken() <= 2, `the pump took ${f.taken()} after the consumer left`);
});
