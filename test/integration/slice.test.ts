/**
 * The thin slice across processes joined only by NATS: gateway, civil-registry adapter and
 * linkage worker each in a process of its own, the sandbox over HTTP, Temporal and PostgreSQL.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { SUITE_PARTNER } from "../support/partner";
import { clusterEnv, json, post, seedCitizens, settle, startNode, type Citizen, type TestNode, hubTemporalClient } from "../support/hub";

describe("slice across three processes", () => {
  const nodes: TestNode[] = [];
  let api: string;
  let alice: Citizen, bob: Citizen;

  before(async () => {
    const env = clusterEnv();
    // Adapter and worker first, so the gateway finds their actions when it is ready.
    nodes.push(await startNode("civil-registry", env));
    nodes.push(await startNode("linkages,worker", env));
    nodes.push(await startNode("api", env));
    api = nodes[2]!.url;
    [alice, bob] = (await seedCitizens(2)) as [Citizen, Citizen];
  });
  after(async () => {
    for (const n of nodes.reverse()) await n.stop();
  });

  test("identity verification answers match or no match, and nothing else", async () => {
    const yes = await post(`${api}/v1/identity-verifications`, { idNumber: alice.citizenNo, name: alice.fullName });
    assert.equal(yes.status, 200);
    assert.deepEqual(await yes.json(), { match: true });
    const no = await post(`${api}/v1/identity-verifications`, { idNumber: alice.citizenNo, name: bob.fullName });
    assert.equal(no.status, 200);
    assert.deepEqual(await no.json(), { match: false });
  });

  test("a bad body is a 400 problem+json naming each field, never a 500", async () => {
    const res = await post(`${api}/v1/identity-verifications`, { idNumber: "110105194912310021", extra: true }, { "x-request-id": "req-bad-body-1" });
    assert.equal(res.status, 400);
    assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
    const problem = await json(res);
    assert.equal(problem.code, "HUB_ERR_REQUEST_INVALID");
    assert.equal(problem.requestId, "req-bad-body-1");
    assert.equal(res.headers.get("x-request-id"), "req-bad-body-1");
    const pointers = (problem.errors as { pointer: string }[]).map((e) => e.pointer).sort();
    assert.deepEqual(pointers, ["/extra", "/idNumber", "/name"]);
  });

  test("e-ID issuance: 202 with Location, runs on Temporal, status shows the signed e-ID", async () => {
    const applicationNo = `APP-${Date.now()}`;
    const res = await post(`${api}/v1/linkages/eid-issuances`, { applicationNo, idNumber: bob.citizenNo, name: bob.fullName });
    assert.equal(res.status, 202);
    const accepted = await json(res);
    const location = res.headers.get("location");
    assert.equal(location, `/v1/linkages/${accepted.id}`);

    const done = await settle(api + location);
    assert.equal(done.status, "COMPLETED", JSON.stringify(done));
    assert.deepEqual(done.stepsDone, ["verify-identity", "issue-eid"]);
    const eid = done.result as { credential: string; eidNo: string };
    const jwks = createRemoteJWKSet(new URL(`${process.env.CIVIL_REGISTRY_URL}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(eid.credential, jwks);
    assert.equal(payload.eid_no, eid.eidNo);
    assert.equal(payload.citizen_no, bob.citizenNo);

    // The same application again is the same linkage, not a second run.
    const again = await post(`${api}/v1/linkages/eid-issuances`, { applicationNo, idNumber: bob.citizenNo, name: bob.fullName });
    assert.equal(again.status, 202);
    const repeated = await json(again);
    assert.equal(repeated.id, accepted.id);
    assert.equal(repeated.status, "COMPLETED");
    assert.equal((repeated.result as { eidNo: string }).eidNo, eid.eidNo);
  });

  test("an identity mismatch ends the linkage as REFUSED, without an e-ID", async () => {
    const res = await post(`${api}/v1/linkages/eid-issuances`, { applicationNo: `APP-X-${Date.now()}`, idNumber: alice.citizenNo, name: bob.fullName });
    assert.equal(res.status, 202);
    const done = await settle(api + res.headers.get("location"));
    assert.equal(done.status, "REFUSED");
    assert.match(String(done.reason), /identity mismatch/);
    assert.equal(done.result, undefined);
  });

  test("an unknown linkage is a 404 problem", async () => {
    const res = await fetch(`${api}/v1/linkages/0f8fad5b-d9cb-469f-a165-70867728950e`);
    assert.equal(res.status, 404);
    assert.equal((await json(res)).code, "HUB_ERR_LINKAGE_NOT_FOUND");
  });
});

describe("linkage status without a worker, and visibility", () => {
  const nodes: TestNode[] = [];
  let api: string;
  const env = clusterEnv();

  before(async () => {
    nodes.push(await startNode("civil-registry", env));
    nodes.push(await startNode("api,linkages", env));
    api = nodes[1]!.url;
  });
  after(async () => {
    for (const n of nodes.reverse()) await n.stop();
  });

  test("status answers while no worker runs, for a running and then for a closed linkage", async () => {
    const [citizen] = await seedCitizens(1);
    const applicationNo = `NOWORKER-${Date.now()}`;
    const res = await post(`${api}/v1/linkages/eid-issuances`, { applicationNo, idNumber: citizen!.citizenNo, name: citizen!.fullName });
    assert.equal(res.status, 202);
    const url = api + res.headers.get("location");
    const waiting = await json(await fetch(url));
    assert.equal(waiting.status, "RUNNING");
    assert.deepEqual(waiting.stepsDone, []);

    const worker = await startNode("worker", env);
    const done = await settle(url);
    assert.equal(done.status, "COMPLETED");
    await worker.stop();
    const closed = await json(await fetch(url));
    assert.equal(closed.status, "COMPLETED", "answered from the description and result, no worker needed");
    assert.deepEqual(closed.stepsDone, ["verify-identity", "issue-eid"]);

    // Ops can find it by its search attributes.
    const client = await hubTemporalClient();
    const query = `WorkflowId = "eid-issuance:${applicationNo}" AND LinkageType = "eid-issuance" AND LinkageStatus = "COMPLETED" AND LinkagePartner = "${SUITE_PARTNER}"`;
    let found = 0;
    for (let i = 0; i < 50 && !found; i++) {
      for await (const _ of client.workflow.list({ query })) found++;
      if (!found) await new Promise((r) => setTimeout(r, 100));
    }
    await client.connection.close();
    assert.equal(found, 1);
  });
});
