import { test } from "node:test";
import assert from "node:assert/strict";
import { answeredShare, faultReport, markdown, type Answered, type FaultWindow } from "../../ops/chaos/report";

const at = (kind: string, start: number, status: number, end = start + 50): Answered => ({ kind, start, end, status });
const gateway: FaultWindow = { kind: "gateway", target: "gateway-1", start: 1000, back: 4000, until: 9000 };
const nats: FaultWindow = { kind: "nats-node", target: "nats n1", start: 9000, back: 12_000, until: 20_000 };
const outcomes = [
  at("verification", 900, 0), // before any fault: in no window
  at("verification", 1000, 200),
  at("verification", 1500, 0, 2500),
  at("linkage", 2000, 503, 2600),
  at("linkage", 3000, 202),
  at("verification", 9500, 200),
  at("verification", 19_999, 504, 21_000),
  at("verification", 20_000, 200), // the window ends where the next begins
];

test("a fault's report counts the requests sent from its start to the next fault's, and how long errors went on", () => {
  const r = faultReport(gateway, outcomes);
  assert.deepEqual(r, {
    kind: "gateway",
    target: "gateway-1",
    downMs: 3000,
    requests: 4,
    failed: 2,
    errors: { "verification 0": 1, "linkage 503": 1 },
    errorsForMs: 1600,
  });
  assert.equal(faultReport({ ...gateway, start: 5000, until: 9000 }, outcomes).errorsForMs, 0);
});

test("the answered share takes only the named kinds during the named faults", () => {
  assert.deepEqual(answeredShare(outcomes, [gateway, nats], ["verification"], ["gateway"]), { requests: 2, ok: 1, share: 0.5 });
  assert.deepEqual(answeredShare(outcomes, [gateway, nats], ["verification"], ["gateway", "nats-node"]), { requests: 4, ok: 2, share: 0.5 });
  assert.equal(answeredShare([], [gateway], ["verification"], ["gateway"]).share, 1);
});

test("the Markdown report has a row per fault and marks each check", () => {
  const md = markdown(
    [faultReport(gateway, outcomes)],
    [
      { name: "audit verify", ok: true },
      { name: "e-IDs once", ok: false, detail: "EID-1 twice" },
    ],
    ["8 requests"],
  );
  assert.match(md, /\| gateway-1 \| 3\.0 \| 4 \| 2 \| verification 0 ×1, linkage 503 ×1 \| 1\.6 \|/);
  assert.match(md, /✔ audit verify/);
  assert.match(md, /✘ e-IDs once: EID-1 twice/);
});
