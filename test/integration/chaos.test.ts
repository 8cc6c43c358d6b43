/**
 * One chaos cycle (ops/chaos/run.ts) in the suite: a production-shaped cluster of its own from
 * a fresh build, a NATS node, a gateway, an adapter node and a worker killed one at a time
 * under load, PostgreSQL and the Temporal server restarted; nothing lost or done twice, and
 * the synchronous calls answered across the kills. `npm run chaos` runs more cycles.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "../../ops/build";
import { runChaos } from "../../ops/chaos/run";
import { shiftedPorts } from "../../ops/stack/cluster";

// Outside the checkout: its folder may be one PostgreSQL's own user cannot enter (a clone in a 0700 folder), and
// outside the suite's stores: the final scan reads .data/test's files, and this PostgreSQL's hold the sandboxes' citizens.
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "chaos-"));
fs.chmodSync(dataDir, 0o755);

test("a chaos cycle loses no request, event, linkage or audit record", { timeout: 330_000 }, async () => {
  await build();
  const result = await runChaos({
    cycles: 1,
    downMs: 2000,
    healMs: 5000,
    perSecond: 10,
    ports: shiftedPorts(16_000),
    dataDir,
    say: (line) => console.log(`[chaos] ${line}`),
  });
  console.log(result.markdown);
  assert.deepEqual(
    result.checks.filter((c) => !c.ok),
    [],
  );
  assert.equal(result.faults.length, 6);
});
