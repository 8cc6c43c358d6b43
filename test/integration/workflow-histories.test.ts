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
    const people = (await json(await post(`${process.env.CIVIL_REGISTRY_URL}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as { citizenNo: string; fullName: string; sex: string; address: object }[];
    const [m1, m2] = people.filter((p) => p.sex === "MALE");
    const [f1, f2] = people.filter((p) => p.sex === "FEMALE");
    const who = (p: { citizenNo: string; fullName: string }) => ({ idNumber: p.citizenNo, name: p.fullName });
    const stamp = Date.now();
    const paths: [string, string, string, Record<string, unknown>][] = [
      ["eid-issuance-completed", "eid-issuances", "eid-issuance", { applicationNo: `HIST-OK-${stamp}`, idNumber: a!.citizenNo, name: a!.fullName }],
      ["eid-issuance-refused-mismatch", "eid-issuances", "eid-issuance", { applicationNo: `HIST-NO-${stamp}`, idNumber: a!.citizenNo, name: b!.fullName }],
      ["marriage-completed", "marriages", "marriage-registration", { applicationNo: `HIST-MR-${stamp}`, applicants: [who(m1!), who(f1!)], householdAddress: f1!.address }],
      ["marriage-refused-married", "marriages", "marriage-registration", { applicationNo: `HIST-MR2-${stamp}`, applicants: [who(m1!), who(f2!)] }],
      ["marriage-compensated", "marriages", "marriage-registration", { applicationNo: `HIST-MR3-${stamp}`, applicants: [who(m2!), { ...who(f2!), credential: "eyJhbGciOiJFZERTQSJ9.eyJlaWRfbm8iOiJGT1JHRUQifQ.c2lnbmF0dXJl" }] }],
    ];
    // Exported the way Temporal's docs do it: `temporal workflow show --output json`.
    const temporal = await ensureBinary("temporal", () => {});
    for (const [name, route, type, body] of paths) {
      const res = await post(`${api}/v1/linkages/${route}`, body);
      const done = await settle(api + res.headers.get("location"));
      assert.notEqual(done.status, "FAILED", `${name}: ${JSON.stringify(done)}`);
      const history = execFileSync(temporal, ["workflow", "show", "--address", process.env.TEMPORAL_ADDRESS!, "--workflow-id", `${type}:${body.applicationNo}`, "--output", "json"], { encoding: "utf8" });
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
