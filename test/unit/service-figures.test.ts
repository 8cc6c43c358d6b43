/**
 * The catalogue's figures, their pure parts: the p95 from buckets summed over days, a rate
 * that is null with nothing counted, what completes, the windows' first days, and the tally's
 * batching (one statement per flush, a failed flush's counts kept for the next, added once).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { addDay, emptySums, figuresFrom, p95Of, rateOf, windowStart } from "../../catalogue/figures";
import { bucketOf, completedDespite, LATENCY_BOUNDS_MS, ServiceDays } from "../../catalogue/service-days";
import { HubError } from "../../platform/errors";
import type { Db } from "../../platform/db";

const buckets = (counts: Record<number, number>) => Array.from({ length: LATENCY_BOUNDS_MS.length + 1 }, (_, i) => counts[i] ?? 0);

test("a rate with nothing counted is null, never 0 or 1", () => {
  assert.equal(rateOf(0, 0), null);
  assert.equal(rateOf(3, 4), 0.75);
  assert.equal(rateOf(0, 5), 0);
  const none = figuresFrom(emptySums());
  assert.deepEqual(none, { completion: { rate: null, completed: 0, total: 0 }, availability: { rate: null, ok: 0, probes: 0 }, latencyP95Ms: null });
});

test("a duration falls in the first bucket whose bound holds it; beyond the last, in the open bucket", () => {
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(10), 0);
  assert.equal(bucketOf(10.5), 1);
  assert.equal(bucketOf(999), LATENCY_BOUNDS_MS.indexOf(1000));
  assert.equal(bucketOf(1e12), LATENCY_BOUNDS_MS.length);
});

test("the p95 of buckets summed over days, interpolated inside its bucket", () => {
  assert.equal(p95Of(buckets({})), null);
  // 100 calls: 90 within 10 ms, 10 in (100, 250]: the 95th is the 5th of those 10, halfway up.
  const monday = { ...emptySums(), latency: buckets({ 0: 45, 4: 5 }) };
  const tuesday = { ...emptySums(), latency: buckets({ 0: 45, 4: 5 }) };
  const week = emptySums();
  addDay(week, monday);
  addDay(week, tuesday);
  assert.deepEqual(week.latency, buckets({ 0: 90, 4: 10 }));
  assert.equal(p95Of(week.latency), 175);
  // Each day alone gives the same; a day of slow calls moves the summed p95 up.
  assert.equal(p95Of(monday.latency), 175);
  addDay(week, { ...emptySums(), latency: buckets({ 6: 100 }) });
  assert.ok(p95Of(week.latency)! > 250, String(p95Of(week.latency)));
  // All in the open bucket: the last bound (a floor, said as such in docs/catalogue.md).
  assert.equal(p95Of(buckets({ [LATENCY_BOUNDS_MS.length]: 3 })), LATENCY_BOUNDS_MS.at(-1));
  // Rows written before a bound was added are shorter: they still sum.
  const short = emptySums();
  addDay(short, { ...emptySums(), latency: [1, 1] });
  addDay(short, { ...emptySums(), latency: buckets({ 2: 2 }) });
  assert.deepEqual(short.latency.slice(0, 3), [1, 1, 2]);
});

test("a call completes when answered below 500: a 4xx or a refusal yes, a 5xx or a timeout no", () => {
  assert.equal(completedDespite(new HubError("HUB_ERR_FORBIDDEN", "no")), true);
  assert.equal(completedDespite(new HubError("HUB_ERR_AGENCY_REFUSED", "no")), true);
  assert.equal(completedDespite(new HubError("HUB_ERR_AGENCY_UNAVAILABLE", "down")), false);
  assert.equal(completedDespite(new HubError("HUB_ERR_AGENCY_TIMEOUT", "slow")), false);
  assert.equal(completedDespite(new HubError("HUB_ERR_INTERNAL", "bug")), false);
  assert.equal(completedDespite(new TypeError("bug")), false);
});

test("the windows: the last 7 and 30 UTC days, today included", () => {
  assert.equal(windowStart("2026-11-30", 7), "2026-11-24");
  assert.equal(windowStart("2026-11-30", 30), "2026-11-01");
  assert.equal(windowStart("2026-03-01", 7), "2026-02-23");
});

/** A database that records the statements it is given and fails while told to. */
function fakeDb() {
  const batches: unknown[][] = [];
  const state = { failing: false, deletes: 0 };
  const db = {
    kind: "postgres",
    async query(sql: string, params?: unknown[]) {
      if (state.failing) throw new Error("connection lost");
      if (sql.includes("DELETE")) state.deletes++;
      else batches.push(JSON.parse(params![0] as string) as unknown[]);
      return [];
    },
  } as unknown as Db;
  return { db, batches, state };
}

test("the tally writes one statement per flush, keeps a failed flush's counts and adds them once", async () => {
  const { db, batches, state } = fakeDb();
  const tally = new ServiceDays(db, "LOCAL");
  for (let i = 0; i < 50; i++) tally.called("S", i % 10 !== 0, 20);
  tally.linkageEnded("eid-issuance", true, 5000);
  tally.probed("S", true);
  assert.equal(batches.length, 0, "nothing written before a flush");
  state.failing = true;
  await assert.rejects(tally.flush());
  state.failing = false;
  tally.called("S", false, 20_000);
  await tally.flush();
  assert.equal(batches.length, 1);
  const rows = batches[0] as { key: string; calls: number; completed: number; probes: number; probes_ok: number; latency: number[] }[];
  const s = rows.find((r) => r.key === "S")!;
  assert.deepEqual([s.calls, s.completed, s.probes, s.probes_ok], [51, 45, 1, 1]);
  assert.equal(s.latency[bucketOf(20)], 50);
  assert.equal(s.latency[bucketOf(20_000)], 1);
  assert.deepEqual(
    rows.map((r) => r.key),
    ["S", "linkage/eid-issuance"],
  );
  await tally.flush();
  assert.equal(batches.length, 1, "an empty flush writes nothing");
  assert.equal(state.deletes, 1, "old rows are deleted at most once a day");
});

test("a built-in agency's probe counts for each of its operations in the contract, nothing else", async () => {
  const { db, batches } = fakeDb();
  const tally = new ServiceDays(db, "LOCAL");
  tally.agencyProbed(["civil-registry.identity.verify", "civil-registry.not-an-operation"], false);
  await tally.flush();
  const rows = batches[0] as { key: string; probes: number; probes_ok: number; calls: number }[];
  assert.deepEqual(
    rows.map((r) => [r.key, r.probes, r.probes_ok, r.calls]),
    [["LOCAL/GOV/civil-registry/hub/identity.verify", 1, 0, 0]],
  );
});
