/**
 * Determinism guard: the recorded histories of every workflow path (workflows/histories/)
 * replay against today's workflow code, so a change that would break running linkages fails
 * here. Changes that must alter running workflows go behind `patched()`.
 *
 * Record anew (after a deliberate, patched change, or for a new path):
 *   RECORD_HISTORIES=1 npm test -- test/integration/workflow-histories.test.ts
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { historyFromJSON } from "@temporalio/common/lib/proto-utils";
import { ensureBinary } from "../../ops/stack/provision";
import { Worker } from "@temporalio/worker";
import { clusterEnv, json, post, seedCitizens, settle, startNode, type TestNode } from "../support/hub";

const DIR = path.join(__dirname, "../../workflows/histories");
const WORKFLOWS = require.resolve("../../workflows");

async function replay(workflowsPath: string, files: string[]): Promise<{ file: string; error?: Error }[]> {
  const histories = files.map((file) => ({ workflowId: file, history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8"))) }));
  const results: { file: string; error?: Error }[] = [];
  for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: "determinism-guard" }, histories)) results.push({ file: r.workflowId, error: r.error });
  return results;
}

const recorded = () => fs.readdirSync(DIR).filter((f) => f.endsWith(".json"));

if (process.env.RECORD_HISTORIES === "1") {
  const nodes: TestNode[] = [];
  before(async () => {
    const env = clusterEnv();
    nodes.push(await startNode("civil-registry", env), await startNode("linkages,worker", env), await startNode("api", env));
  });
  after(async () => {
    for (const n of nodes.reverse()) await n.stop();
  });

  test("record one history per workflow path", async () => {
    const api = nodes[2]!.url;
    const [a, b] = await seedCitizens(2);
    const paths = {
      "eid-issuance-completed": { applicationNo: `HIST-OK-${Date.now()}`, idNumber: a!.citizenNo, name: a!.fullName },
      "eid-issuance-refused-mismatch": { applicationNo: `HIST-NO-${Date.now()}`, idNumber: a!.citizenNo, name: b!.fullName },
    };
    // Exported the way Temporal's docs do it: `temporal workflow show --output json`.
    const temporal = await ensureBinary("temporal", () => {});
    for (const [name, body] of Object.entries(paths)) {
      const res = await post(`${api}/v1/linkages/eid-issuances`, body);
      await settle(api + res.headers.get("location"));
      const history = execFileSync(temporal, ["workflow", "show", "--address", process.env.TEMPORAL_ADDRESS!, "--workflow-id", `eid-issuance:${body.applicationNo}`, "--output", "json"], { encoding: "utf8" });
      fs.writeFileSync(path.join(DIR, `${name}.json`), history);
    }
    assert.ok((await json(await fetch(`${api}/healthz`))).status === "ok");
  });
}

test("every recorded history replays against today's workflows", async () => {
  const files = recorded();
  assert.ok(files.length >= 2, "workflows/histories/ holds the recorded paths");
  for (const r of await replay(WORKFLOWS, files)) assert.equal(r.error, undefined, `${r.file}: ${r.error?.message}`);
});

test("the guard bites: a reordered copy of a workflow fails the replay", async () => {
  const results = await replay(require.resolve("../fixtures/reordered-eid-issuance"), recorded().filter((f) => f.startsWith("eid-issuance-completed")));
  assert.equal(results.length, 1);
  assert.match(String(results[0]!.error?.name), /DeterminismViolationError/);
});
