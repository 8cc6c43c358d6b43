/** SIGTERM: the node stops taking work, finishes the request in flight, then exits 0. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDb, type Db } from "../../platform/db";
import { startSandbox } from "../../adapters/civil-registry/sandbox/server";
import { clusterEnv, post, startNode, type TestNode } from "../support/hub";

let db: Db;
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let node: TestNode;

before(async () => {
  // A sandbox of this test's own: its latency fault must not slow other tests.
  db = await openDb({ pgliteDir: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "shutdown-")), "pglite") });
  sandbox = await startSandbox({ port: 0, db, seedCount: 10 });
  node = await startNode("all", { ...clusterEnv(), CIVIL_REGISTRY_URL: sandbox.url });
});
after(async () => {
  await node?.stop();
  await sandbox?.close();
  await db?.close();
});

test("an in-flight request completes across SIGTERM, and the node then exits 0", async () => {
  const [citizen] = (await (await post(`${sandbox.url}/_sandbox/citizens`, { count: 1 })).json()) as { citizenNo: string; fullName: string }[];
  await fetch(`${sandbox.url}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ latencyMs: 1500 }) });

  const started = Date.now();
  const inFlight = post(`${node.url}/v1/identity-verifications`, { idNumber: citizen!.citizenNo, name: citizen!.fullName });
  await new Promise((r) => setTimeout(r, 300));
  const child = node.service.child!;
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  child.kill("SIGTERM");

  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { match: true });
  assert.ok(Date.now() - started >= 1500, "the answer waited for the slow agency");
  assert.equal(await exited, 0);
  await assert.rejects(fetch(`${node.url}/healthz`), "a stopped node takes no more requests");
});
