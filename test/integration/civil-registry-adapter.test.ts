/**
 * What the civil registry sends back is checked before it passes on: a malformed answer is
 * a 502 naming the agency, an outage a 503, silence a 504; never a corrupt result or a 500.
 */
import { after, before, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDb, type Db } from "../../platform/db";
import { startSandbox } from "../../adapters/civil-registry/sandbox/server";
import { operations } from "../../contracts";
import { callerBroker, clusterEnv, json, post, startNode, type Citizen, type TestNode } from "../support/hub";
import { assertDocumented, assertProblem } from "../support/contract";

const verify = operations().find((o) => o.operationId === "civil-registry.identity.verify")!;
let db: Db;
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let node: TestNode;
let citizen: Citizen;
const env = clusterEnv();

const faults = (body: object) =>
  fetch(`${sandbox.url}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

before(async () => {
  // A sandbox of this test's own, so its faults reach no other test.
  db = await openDb({ pgliteDir: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "adapter-")), "pglite") });
  sandbox = await startSandbox({ port: 0, db, seedCount: 10 });
  node = await startNode("api,civil-registry", { ...env, CIVIL_REGISTRY_URL: sandbox.url, CIVIL_REGISTRY_TIMEOUT_MS: "500" });
  citizen = ((await json(await post(`${sandbox.url}/_sandbox/citizens`, { count: 1 }))) as unknown as Citizen[])[0]!;
});
beforeEach(async () => void (await fetch(`${sandbox.url}/_sandbox/faults`, { method: "DELETE" })));
after(async () => {
  await node?.stop();
  await sandbox?.close();
  await db?.close();
});

async function verifyWith(fault: object): Promise<Record<string, unknown>> {
  await faults(fault);
  const res = await post(`${node.url}/v1/identity-verifications`, { idNumber: citizen.citizenNo, name: citizen.fullName });
  return { status: res.status, ...((await assertDocumented(verify, res)) as object) };
}

test("a healthy registry answers", async () => {
  assert.deepEqual(await verifyWith({}), { status: 200, match: true });
});

// In this order: the timeouts, the outage and the 5xx open the breaker (ten failures in a row,
// counting retries).
for (const [name, fault, status, code] of [
  ["a malformed answer", { malformedRate: 1 }, 502, "HUB_ERR_AGENCY_BAD_ANSWER"],
  ["no answer in time", { timeoutRate: 1 }, 504, "HUB_ERR_AGENCY_TIMEOUT"],
  ["a full outage", { outage: true }, 503, "HUB_ERR_AGENCY_UNAVAILABLE"],
  ["a 5xx", { errorRate: 1 }, 503, "HUB_ERR_AGENCY_UNAVAILABLE"],
] as const)
  test(`${name} is a ${status} problem naming the agency`, async () => {
    const problem = await verifyWith(fault);
    assertProblem(problem, status);
    assert.equal(problem.code, code);
    assert.equal(problem.agency, "civil-registry");
    assert.equal(problem.match, undefined, "no result passed on");
  });

test("the breaker is open after those failures, fails fast, and closes once the registry answers again", async () => {
  const circuit = async () => Number(/^hub_agency_circuit_state\{agency="civil-registry"\} (\d)/m.exec(await (await fetch(`${node.url}/metrics`)).text())?.[1]);
  assert.equal(await circuit(), 2, "open");
  await faults({ latencyMs: 2000 }); // were the registry called, this would take 2 s
  const t0 = Date.now();
  const problem = await verifyWith({ latencyMs: 2000 });
  assert.equal(problem.status, 503);
  assert.match(String(problem.detail), /circuit open/);
  assert.ok(Date.now() - t0 < 1000, "failed fast, without calling the registry");

  await new Promise((r) => setTimeout(r, 5000)); // the breaker's open period
  assert.deepEqual(await verifyWith({}), { status: 200, match: true });
  assert.equal(await circuit(), 0, "closed");
});

test("an unreachable registry is a 503 problem", async () => {
  const down = await startNode("api,civil-registry", { ...clusterEnv(), CIVIL_REGISTRY_URL: "http://127.0.0.1:9" });
  try {
    const res = await post(`${down.url}/v1/identity-verifications`, { idNumber: citizen.citizenNo, name: citizen.fullName });
    const problem = (await assertDocumented(verify, res)) as Record<string, unknown>;
    assertProblem(problem, 503);
    assert.equal(problem.agency, "civil-registry");
  } finally {
    await down.stop();
  }
});

test("a caller over NATS has its params checked by the action, whatever meta it sends", async () => {
  const broker = await callerBroker(env.HUB_NAMESPACE!, ["civil-registry"]);
  try {
    // The gateway's own call skips the action's check (it checked the body itself); a caller
    // from another node may set any meta, the fields the gateway sets among them.
    const meta = {
      ...{ operationId: verify.operationId, partner: "forged", purpose: "identity-verification", requestHash: "sha-256=:AAAA:" },
      ...{ validated: true, checked: true, caller: "api" },
    };
    for (const params of [{ idNumber: citizen.citizenNo }, { idNumber: "not-an-id-number", name: citizen.fullName }, { ...citizen }])
      await assert.rejects(broker.call(verify.operationId, params, { meta }), (err: { type?: string; message?: string }) => {
        assert.equal(err.type, "HUB_ERR_REQUEST_INVALID", JSON.stringify(params));
        assert.match(String(err.message), /Params of civil-registry.identity.verify do not match its contract/);
        return true;
      });
    // The same caller with valid params is answered: it was refused for its params alone.
    assert.deepEqual(await broker.call(verify.operationId, { idNumber: citizen.citizenNo, name: citizen.fullName }, { meta }), { match: true });
    // Over REST the gateway refuses the same bodies itself.
    const res = await post(`${node.url}/v1/identity-verifications`, { idNumber: citizen.citizenNo });
    assertProblem((await assertDocumented(verify, res)) as Record<string, unknown>, 400);
  } finally {
    await broker.stop();
  }
});
