/**
 * The audit log's group commit (audit/batch.ts) with a fake appender and mocked timers: a batch
 * closes at its size or its time, whichever first; nobody is answered before their batch
 * commits; a failed batch rejects everyone in it and only them; batches go one at a time, in order;
 * and, as the audit log runs it, no wait on an idle node.
 */
import { afterEach, beforeEach, mock, test } from "node:test";
import assert from "node:assert/strict";
import { groupCommit } from "../../audit/batch";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
afterEach(() => mock.timers.reset());

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A fake appender that records each flush and commits only when told to. */
function fakeAppender() {
  const flushes: { items: number[]; commit(): void; fail(err: Error): void }[] = [];
  const flush = (items: number[]) =>
    new Promise<void>((resolve, reject) => {
      flushes.push({ items, commit: resolve, fail: reject });
    });
  return { flushes, flush };
}

/** Which of `promises` have settled, and how. */
function watch(promises: Promise<void>[]) {
  const state: string[] = promises.map(() => "pending");
  promises.forEach((p, i) =>
    p.then(
      () => (state[i] = "ok"),
      (err: Error) => (state[i] = `failed: ${err.message}`),
    ),
  );
  return state;
}

test("a batch closes at its size, without waiting for its time", async () => {
  const { flushes, flush } = fakeAppender();
  const batches = groupCommit(flush, { maxWaitMs: 1000, maxSize: 4 });
  const state = watch([1, 2, 3, 4, 5].map((i) => batches.add(i)));
  await settle();
  assert.deepEqual(
    flushes.map((f) => f.items),
    [[1, 2, 3, 4]],
  );
  assert.deepEqual(state, ["pending", "pending", "pending", "pending", "pending"], "nobody is answered before the commit");
  flushes[0]!.commit();
  await settle();
  assert.deepEqual(state, ["ok", "ok", "ok", "ok", "pending"]);
  mock.timers.tick(1000);
  await settle();
  assert.deepEqual(
    flushes.map((f) => f.items),
    [[1, 2, 3, 4], [5]],
  );
});

test("a batch closes at its time when it is not full", async () => {
  const { flushes, flush } = fakeAppender();
  const batches = groupCommit(flush, { maxWaitMs: 2, maxSize: 64 });
  const state = watch([1, 2].map((i) => batches.add(i)));
  mock.timers.tick(1);
  const late = watch([batches.add(3)]);
  await settle();
  assert.equal(flushes.length, 0, "still open after 1 ms");
  mock.timers.tick(1);
  await settle();
  assert.deepEqual(
    flushes.map((f) => f.items),
    [[1, 2, 3]],
    "the time counts from the batch's first item",
  );
  flushes[0]!.commit();
  await settle();
  assert.deepEqual([...state, ...late], ["ok", "ok", "ok"]);
});

test("a failed batch rejects every caller in it, and only them; the next batch still commits", async () => {
  const { flushes, flush } = fakeAppender();
  const batches = groupCommit(flush, { maxWaitMs: 2, maxSize: 2 });
  const state = watch([1, 2, 3, 4].map((i) => batches.add(i)));
  await settle();
  flushes[0]!.fail(new Error("connection lost"));
  await settle();
  assert.deepEqual(state, ["failed: connection lost", "failed: connection lost", "pending", "pending"]);
  assert.deepEqual(flushes[1]!.items, [3, 4]);
  flushes[1]!.commit();
  await settle();
  assert.deepEqual(state.slice(2), ["ok", "ok"]);
});

test("one batch at a time, in the order they closed; drain flushes the open one", async () => {
  const { flushes, flush } = fakeAppender();
  const batches = groupCommit(flush, { maxWaitMs: 2, maxSize: 2 });
  const state = watch([1, 2, 3, 4, 5].map((i) => batches.add(i)));
  await settle();
  assert.equal(flushes.length, 1, "the second full batch waits for the first to commit");
  flushes[0]!.commit();
  await settle();
  assert.deepEqual(flushes[1]!.items, [3, 4]);
  const drained = batches.drain();
  flushes[1]!.commit();
  await settle();
  assert.deepEqual(flushes[2]!.items, [5], "drain closed the open batch without waiting for its time");
  flushes[2]!.commit();
  await drained;
  assert.deepEqual(state, ["ok", "ok", "ok", "ok", "ok"]);
});

test("atTurnEndWhenIdle: on an idle node a turn's items go together at its end; those that came during a write go when it commits", async () => {
  const { flushes, flush } = fakeAppender();
  const batches = groupCommit(flush, { maxWaitMs: 1000, maxSize: 64, atTurnEndWhenIdle: true });
  const first = watch([batches.add(0), batches.add(1)]);
  assert.equal(flushes.length, 0, "the turn's other items may still come");
  await settle();
  assert.deepEqual(
    flushes.map((f) => f.items),
    [[0, 1]],
    "no wait for a timer on an idle node",
  );
  const more = watch([2, 3].map((i) => batches.add(i)));
  await settle();
  assert.equal(flushes.length, 1, "they gather while the first is written");
  flushes[0]!.commit();
  await settle();
  assert.deepEqual(
    flushes.map((f) => f.items),
    [
      [0, 1],
      [2, 3],
    ],
    "they go when it has committed, not at their time",
  );
  assert.deepEqual([...first, ...more], ["ok", "ok", "pending", "pending"]);
  flushes[1]!.commit();
  await settle();
  assert.deepEqual(more, ["ok", "ok"]);
});
