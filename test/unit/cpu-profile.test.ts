/** The bench's CPU profile summary: self time per function, idle left out, a window honoured. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { sourceOf, summariseProfile, type CpuProfile } from "../../ops/bench/cpu-profile";

const frame = (functionName: string, url = "", lineNumber = -1) => ({ functionName, url, lineNumber, columnNumber: 0 });

// Ten samples 1 ms apart from t = 1000 µs: root (never sampled), idle x2, hash x4, log x3 (two
// nodes of one function, reached by two stacks), GC x1.
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame("(root)") },
    { id: 2, callFrame: frame("(idle)") },
    { id: 3, callFrame: frame("hash", "file:///repo/audit/chain.ts", 41) },
    { id: 4, callFrame: frame("write", "file:///repo/platform/log.ts", 9) },
    { id: 5, callFrame: frame("write", "file:///repo/platform/log.ts", 9) },
    { id: 6, callFrame: frame("(garbage collector)") },
  ],
  startTime: 1000,
  endTime: 11_000,
  samples: [2, 3, 3, 4, 5, 3, 2, 5, 3, 6],
  timeDeltas: [1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000],
};

test("self time per function, the same function's nodes added up, idle left out of the whole", () => {
  const s = summariseProfile(profile, { root: "/repo" });
  assert.equal(s.samples, 8);
  assert.equal(s.windowed, false);
  assert.deepEqual(s.top, [
    { name: "hash", where: "audit/chain.ts:42", selfMs: 4, percent: 50 },
    { name: "write", where: "platform/log.ts:10", selfMs: 3, percent: 37.5 },
    { name: "(garbage collector)", where: "", selfMs: 1, percent: 12.5 },
  ]);
});

test("only the window's samples count, and the list is cut at top", () => {
  // Sample i is at 1000 + (i + 1) * 1000 µs: the window 5000..8000 holds samples 3..6 (write, write, hash, idle).
  const s = summariseProfile(profile, { root: "/repo", window: { fromUs: 5000, toUs: 8000 }, top: 1 });
  assert.equal(s.windowed, true);
  assert.equal(s.samples, 3);
  assert.deepEqual(s.top, [{ name: "write", where: "platform/log.ts:10", selfMs: 2, percent: 66.7 }]);
});

test("a window the profile does not reach falls back to the whole profile, and says so", () => {
  const s = summariseProfile(profile, { window: { fromUs: 1e12, toUs: 2e12 } });
  assert.equal(s.windowed, false);
  assert.equal(s.samples, 8);
  assert.equal(s.top[0]!.where, "/repo/audit/chain.ts:42");
});

test("self time by source: the project's folders, packages, Node's modules, WebAssembly and native code", () => {
  const s = summariseProfile(profile, { root: "/repo" });
  assert.deepEqual(s.sources, [
    { source: "audit/", percent: 50 },
    { source: "platform/", percent: 37.5 },
    { source: "native", percent: 12.5 },
  ]);
  for (const [url, source] of [
    ["file:///repo/node_modules/@electric-sql/pglite/dist/x.js", "@electric-sql/pglite"],
    ["file:///repo/node_modules/moleculer/src/broker.js", "moleculer"],
    ["node:internal/deps/undici/undici", "node:undici"],
    ["node:internal/crypto/hash", "node:crypto"],
    ["wasm://wasm/0123abcd", "wasm"],
  ])
    assert.equal(sourceOf(url!, "/repo"), source);
});
