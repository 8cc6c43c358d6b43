/**
 * A worker killed in the middle of a marriage linkage: the linkage waits, answers its status
 * meanwhile, and completes once another worker starts, with exactly one marriage and one
 * e-ID per applicant (activities repeat under their idempotency keys; nothing doubles).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { clusterEnv, json, post, settle, startNode, type TestNode } from "../support/hub";
import { openDb, type Db } from "../../platform/db";

interface Person {
  citizenNo: string;
  fullName: string;
  sex: "MALE" | "FEMALE";
}

const registry = process.env.CIVIL_REGISTRY_URL!;
const env = clusterEnv();
const nodes: TestNode[] = [];
let api: string;
let db: Db;

const faults = (body: object) =>
  fetch(`${registry}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

before(async () => {
  nodes.push(await startNode("civil-registry", env), await startNode("linkages", env), await startNode("api", env));
  api = nodes[2]!.url;
  db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: fs.mkdtempSync(path.join(os.tmpdir(), "worker-crash-")) });
});
after(async () => {
  await fetch(`${registry}/_sandbox/faults`, { method: "DELETE" });
  for (const n of nodes.reverse()) await n.stop();
  await db?.close();
});

test("kill -9 the worker mid-marriage, start another: one marriage, one e-ID each", async () => {
  const people = (await json(await post(`${registry}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as Person[];
  const [him, her] = [people.find((p) => p.sex === "MALE")!, people.find((p) => p.sex === "FEMALE")!];
  let worker = await startNode("worker", env);
  // Slow registry answers, so the worker dies with calls in flight.
  await faults({ latencyMs: 400 });

  const started = await post(`${api}/v1/linkages/marriages`, {
    applicationNo: `MR-CRASH-${Date.now()}`,
    applicants: [him, her].map((p) => ({ idNumber: p.citizenNo, name: p.fullName })),
  });
  assert.equal(started.status, 202);
  const url = api + started.headers.get("location");
  for (let i = 0; i < 200; i++) {
    if ((await json(await fetch(url))).currentStep === "issue-eids") break;
    await new Promise((r) => setTimeout(r, 25));
  }
  await new Promise((r) => setTimeout(r, 100));
  worker.service.child!.kill("SIGKILL");
  await worker.stop();

  // No worker: the status still answers, from the workflow's memo.
  const meanwhile = await json(await fetch(url));
  assert.equal(meanwhile.status, "RUNNING");
  assert.equal(meanwhile.currentStep, "issue-eids");

  await faults({});
  worker = await startNode("worker", env);
  nodes.push(worker);
  const done = await settle(url, 90_000);
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));

  const S = "sandbox_civil_registry";
  const marriages = await db.query(`SELECT 1 FROM ${S}.marriage WHERE $1 IN (spouse_a, spouse_b) OR $2 IN (spouse_a, spouse_b)`, [
    him.citizenNo,
    her.citizenNo,
  ]);
  assert.equal(marriages.length, 1, "exactly one marriage");
  const eids = await db.query<{ citizen_no: string; n: number }>(
    `SELECT citizen_no, count(*)::int AS n FROM ${S}.eid WHERE citizen_no = ANY($1) GROUP BY citizen_no ORDER BY citizen_no`,
    [[him.citizenNo, her.citizenNo]],
  );
  assert.deepEqual(
    eids.map((e) => e.n),
    [1, 1],
    "one e-ID each",
  );
});
