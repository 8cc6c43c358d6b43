/**
 * Quota leases, the pure part: the lease size, one lease write shared by the requests that find
 * the lease empty, never more than the quota across gateways, the bound on what they under-admit,
 * unspent tokens given back, a changed quota and a new window. The window's count is an
 * in-memory stand-in that clamps as the database's one statement does (partners/quota.ts; the
 * real one is exercised by test/integration/quota-leases.test.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { leaseSize, QuotaLeases, windowStartOf, type QuotaStore } from "../../partners/quota-leases";

/** Windows' counts in memory: each write lands after a turn of the event loop, as a database's would. */
class Counts implements QuotaStore {
  readonly used = new Map<string, number>();
  writes = 0;
  async lease(partnerId: string, windowStart: number, want: number, limit: number) {
    await new Promise((resolve) => setImmediate(resolve));
    this.writes++;
    const key = `${partnerId}@${windowStart}`;
    const used = this.used.get(key) ?? 0;
    const granted = Math.max(0, Math.min(want, limit - used));
    this.used.set(key, used + granted);
    return { granted, left: Math.max(0, limit - used - granted) };
  }
  /** Slower than a lease, so that an order the leases do not enforce would show. */
  async giveBack(partnerId: string, windowStart: number, tokens: number) {
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    this.writes++;
    const key = `${partnerId}@${windowStart}`;
    this.used.set(key, (this.used.get(key) ?? 0) - tokens);
  }
}

const HOUR = 3600;
const unexpected = (err: unknown) => assert.fail(String(err));

test("a lease is a twentieth of the quota, at least 1 and at most 50", () => {
  assert.deepEqual([1, 2, 19, 20, 30, 39, 40, 200, 999, 1000, 5000].map(leaseSize), [1, 1, 1, 1, 1, 1, 2, 10, 49, 50, 50]);
  assert.equal(windowStartOf(7_250_000, 3600), 7200);
  assert.equal(windowStartOf(7_199_999, 3600), 3600);
});

test("requests that find the lease empty share one lease write: 100 requests, quota 200, 10 writes", async () => {
  const counts = new Counts();
  const gateway = new QuotaLeases(counts, unexpected, () => 1000);
  const answers = await Promise.all(Array.from({ length: 100 }, () => gateway.take("p", 200, HOUR)));
  assert.ok(answers.every((a) => a.admitted));
  assert.equal(counts.writes, 10);
  // Remaining: what nobody has leased (100) plus this gateway's unspent tokens (none after 100 of 100 leased).
  assert.equal(answers.at(-1)!.remaining, 100);
  assert.deepEqual(
    answers.slice(0, 3).map((a) => a.remaining),
    [199, 198, 197],
  );
});

test("two gateways under load: never more than the quota, at most (gateways − 1) × L fewer, both admit", async () => {
  for (const quota of [1, 7, 30, 200, 1000]) {
    const counts = new Counts();
    const gateways = [new QuotaLeases(counts, unexpected, () => 1000), new QuotaLeases(counts, unexpected, () => 1000)];
    const taken = await Promise.all(
      Array.from({ length: 3 * quota + 20 }, (_, i) => gateways[i % 2]!.take("p", quota, HOUR).then((a) => ({ ...a, via: i % 2 }))),
    );
    const admitted = taken.filter((a) => a.admitted);
    assert.ok(admitted.length <= quota, `quota ${quota}: ${admitted.length} admitted`);
    assert.ok(admitted.length >= quota - leaseSize(quota), `quota ${quota}: ${admitted.length} admitted`);
    if (quota > 1) assert.ok(admitted.some((a) => a.via === 0) && admitted.some((a) => a.via === 1), `quota ${quota}: both gateways admit`);
    assert.ok(taken.filter((a) => !a.admitted).every((a) => a.remaining === 0));
    // Stopped, each gives back what it did not spend: the count is what was admitted.
    await Promise.all(gateways.map((g) => g.close()));
    assert.equal(counts.used.get("p@0"), admitted.length);
  }
});

test("a refused request costs no write once the window has run dry", async () => {
  const counts = new Counts();
  const gateway = new QuotaLeases(counts, unexpected, () => 1000);
  for (let i = 0; i < 40; i++) await gateway.take("p", 40, HOUR);
  const writes = counts.writes;
  for (let i = 0; i < 10; i++) assert.equal((await gateway.take("p", 40, HOUR)).admitted, false);
  assert.equal(counts.writes, writes);
});

test("a changed quota applies at the next request: the old lease's unspent tokens are given back", async () => {
  const counts = new Counts();
  const gateway = new QuotaLeases(counts, unexpected, () => 1000);
  await gateway.take("p", 1000, HOUR); // a lease of 50, one spent
  assert.equal(counts.used.get("p@0"), 50);
  // 49 given back, and only then a lease of 1 of the 20 (taken first, it would find the window full).
  const lowered = await gateway.take("p", 20, HOUR);
  assert.equal(lowered.limit, 20);
  assert.equal(counts.used.get("p@0"), 2);
  let more = 0;
  while ((await gateway.take("p", 20, HOUR)).admitted) more++;
  assert.equal(more, 18, "the window's 20 with the lowered quota: 1 (old lease) + 1 + 18");
});

test("a new window takes a new lease and gives the old window back what was not spent", async () => {
  const counts = new Counts();
  let now = 1000;
  const gateway = new QuotaLeases(counts, unexpected, () => now);
  await gateway.take("p", 200, HOUR);
  now = HOUR * 1000 + 5;
  const next = await gateway.take("p", 200, HOUR);
  assert.equal(next.remaining, 199);
  assert.equal(next.resetS, HOUR);
  await gateway.close();
  assert.deepEqual(Object.fromEntries(counts.used), { "p@0": 1, [`p@${HOUR}`]: 1 });
});

test("when the window ends, unspent tokens are given back without a request", async () => {
  const counts = new Counts();
  const gateway = new QuotaLeases(counts, unexpected);
  await gateway.take("p", 40, 1); // a lease of 2 in a one-second window, one spent
  const start = windowStartOf(Date.now(), 1);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  assert.equal(counts.used.get(`p@${start}`), 1);
});

test("a failed lease write fails the requests waiting for it; the next request writes again", async () => {
  const counts = new Counts();
  let fail = true;
  const flaky: QuotaStore = {
    lease: async (...args) => {
      if (fail) throw new Error("database down");
      return counts.lease(...args);
    },
    giveBack: (...args) => counts.giveBack(...args),
  };
  const gateway = new QuotaLeases(flaky, unexpected, () => 1000);
  const failed = await Promise.allSettled([gateway.take("p", 200, HOUR), gateway.take("p", 200, HOUR)]);
  assert.deepEqual(
    failed.map((f) => f.status),
    ["rejected", "rejected"],
  );
  fail = false;
  assert.equal((await gateway.take("p", 200, HOUR)).admitted, true);
});
