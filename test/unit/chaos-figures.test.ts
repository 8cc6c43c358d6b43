/** The chaos run's figures (ops/chaos/figures.ts): rate, percentiles and failures per kind. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { describeFigures, kindFigures, percentile } from "../../ops/chaos/figures";
import type { Outcome } from "../../ops/chaos/client";

const outcome = (i: number, o: Partial<Outcome> = {}): Outcome => ({
  kind: "verification",
  key: `K${i}`,
  start: i * 100,
  end: i * 100 + i,
  status: 200,
  ...o,
});

test("percentiles by nearest rank", () => {
  const ms = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual([percentile(ms, 50), percentile(ms, 99), percentile(ms, 100), percentile([7], 99)], [50, 99, 100, 7]);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test("per kind: sent, 2xx, latency percentiles and the failures by what the client saw; the rate over the run's span", () => {
  const outcomes = [
    ...Array.from({ length: 10 }, (_, i) => outcome(i + 1)),
    outcome(11, { kind: "incident", status: 503, problemType: "/problems/unavailable" }),
    outcome(12, { kind: "incident", status: 0, error: "fetch failed" }),
    outcome(13, { kind: "incident", status: 201 }),
  ];
  const [verification, incident] = kindFigures(outcomes);
  assert.deepEqual(verification, { kind: "verification", sent: 10, ok: 10, p50Ms: 5, p99Ms: 10, failures: {} });
  assert.deepEqual(incident!.failures, { "503 /problems/unavailable": 1, "0 fetch failed": 1 });
  assert.equal(incident!.ok, 1);
  assert.equal(
    describeFigures(outcomes),
    "10.0 requests/s; verification 10/10 2xx, p50 5 ms, p99 10 ms; incident 1/3 2xx, p50 12 ms, p99 13 ms (1× 503 /problems/unavailable, 1× 0 fetch failed)",
  );
});
