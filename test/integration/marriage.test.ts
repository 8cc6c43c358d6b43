/**
 * The marriage linkage on the real stack: gateway, adapter and worker as separate nodes,
 * Temporal, the civil-registry sandbox over HTTP.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clusterEnv, json, post, settle, startNode, type TestNode } from "../support/hub";
import { connectBus } from "../../platform/events/bus";
import { readStream } from "../../platform/events/admin";
import type { CloudEvent } from "../../platform/events/envelope";

interface Person {
  citizenNo: string;
  fullName: string;
  sex: "MALE" | "FEMALE";
  birthDate: string;
  address: Record<string, string>;
}

const nodes: TestNode[] = [];
let api: string;
const registry = process.env.CIVIL_REGISTRY_URL!;

before(async () => {
  const env = clusterEnv();
  nodes.push(await startNode("civil-registry", env), await startNode("linkages,worker", env), await startNode("api", env));
  api = nodes[2]!.url;
});
after(async () => {
  for (const n of nodes.reverse()) await n.stop();
});

/** A man and a woman of marriageable age, fresh from the sandbox (unmarried, no e-ID). */
async function couple(): Promise<[Person, Person]> {
  const people = (await json(await post(`${registry}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as Person[];
  return [people.find((p) => p.sex === "MALE")!, people.find((p) => p.sex === "FEMALE")!];
}

const applicant = (p: Person, credential?: string) => ({ idNumber: p.citizenNo, name: p.fullName, ...(credential ? { credential } : {}) });

async function marry(body: object): Promise<Record<string, unknown>> {
  const res = await post(`${api}/v1/linkages/marriages`, body);
  assert.equal(res.status, 202, JSON.stringify(await res.clone().json()));
  return settle(api + res.headers.get("location"));
}

async function eidStatus(eidNo: string): Promise<string> {
  return String((await json(await fetch(`${registry}/registry/v2/eids/${eidNo}`))).status);
}

/** The holders of the e-IDs some events name, as the registry itself knows them (the events do not say). */
async function eidHolders(events: CloudEvent[]): Promise<string[]> {
  const eidNos = [...new Set(events.map((e) => String(e.data.eidNo)))];
  return Promise.all(eidNos.map(async (eidNo) => String((await json(await fetch(`${registry}/registry/v2/eids/${eidNo}`))).citizenNo)));
}

test("both without e-IDs: identities verified, e-IDs issued, marriage registered, shared address set", async () => {
  const [him, her] = await couple();
  const applicationNo = `MR-OK-${Date.now()}`;
  const done = await marry({ applicationNo, applicants: [applicant(him), applicant(her)], householdAddress: her.address });
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  assert.deepEqual(done.stepsDone, ["verify-identities", "check-eligibility", "issue-eids", "register-marriage", "update-household-address"]);
  const result = done.result as { registrationNo: string; eids: { eidNo: string; issuedHere: boolean }[]; householdAddressChanged: boolean };
  assert.match(result.registrationNo, /^MR/);
  assert.deepEqual(
    result.eids.map((e) => e.issuedHere),
    [true, true],
  );
  for (const e of result.eids) assert.equal(await eidStatus(e.eidNo), "ACTIVE", "used e-IDs stay valid");
  assert.equal(result.householdAddressChanged, true);

  // The same application again is the same linkage, not a second marriage.
  const again = await post(`${api}/v1/linkages/marriages`, { applicationNo, applicants: [applicant(him), applicant(her)] });
  assert.equal((await json(again)).id, done.id);
});

test("an applicant who is already married is refused before any e-ID is issued", async () => {
  const [him, her] = await couple();
  const [, other] = await couple();
  assert.equal((await marry({ applicationNo: `MR-A-${Date.now()}`, applicants: [applicant(him), applicant(her)] })).status, "COMPLETED");
  const refused = await marry({ applicationNo: `MR-B-${Date.now()}`, applicants: [applicant(him), applicant(other)] });
  assert.equal(refused.status, "REFUSED");
  assert.match(String(refused.reason), /already married/);
  assert.ok(!(refused.stepsDone as string[]).includes("issue-eids"));
});

test("an identity mismatch, an under-age applicant and the same person twice are refused", async () => {
  const [him, her] = await couple();
  const mismatch = await marry({ applicationNo: `MR-M-${Date.now()}`, applicants: [applicant(him), { idNumber: her.citizenNo, name: him.fullName }] });
  assert.equal(mismatch.status, "REFUSED");
  assert.match(String(mismatch.reason), /identity mismatch/);

  const young = ((await json(await post(`${registry}/_sandbox/citizens`, { count: 10, minAge: 18, maxAge: 19 }))) as unknown as Person[])[0]!;
  const tooYoung = await marry({ applicationNo: `MR-Y-${Date.now()}`, applicants: [applicant(him), applicant(young)] });
  assert.equal(tooYoung.status, "REFUSED");
  assert.match(String(tooYoung.reason), /under the legal marriage age/);

  const twice = await marry({ applicationNo: `MR-T-${Date.now()}`, applicants: [applicant(him), applicant(him)] });
  assert.equal(twice.status, "REFUSED");
});

test("a registration refused after an e-ID was issued for it: that e-ID is revoked (compensation)", async () => {
  const [him, her] = await couple();
  const forged = "eyJhbGciOiJFZERTQSJ9.eyJlaWRfbm8iOiJGT1JHRUQifQ.c2lnbmF0dXJl";
  const refused = await marry({ applicationNo: `MR-C-${Date.now()}`, applicants: [applicant(him), applicant(her, forged)] });
  assert.equal(refused.status, "REFUSED", JSON.stringify(refused));
  assert.deepEqual(refused.stepsDone, ["verify-identities", "check-eligibility", "issue-eids"]);
  // The e-ID issued for him during this application was revoked: the registry's events say so.
  const bus = await connectBus(process.env.NATS_URL!, "marriage-test");
  try {
    const events = (await readStream(bus, "EVENTS", "events.civil-registry.eid.>")).map((m) => JSON.parse(new TextDecoder().decode(m.data)) as CloudEvent);
    // Events name the e-ID, not its holder: the linkage's events, and the registry says whose e-ID it is.
    const his = events.filter((e) => e.linkageid === refused.id);
    assert.deepEqual(
      his.map((e) => e.type),
      ["civil-registry.eid.issued", "civil-registry.eid.revoked"],
    );
    assert.ok(his.every((e) => !JSON.stringify(e).includes(him.citizenNo)));
    assert.deepEqual(await eidHolders(his), [him.citizenNo]);
    assert.equal(await eidStatus(String(his[0]!.data.eidNo)), "REVOKED");
  } finally {
    await bus.close();
  }
});

test("consent withdrawn over REST before the marriage is registered: CANCELLED, the e-IDs issued for it revoked", async (t) => {
  const [him, her] = await couple();
  await fetch(`${registry}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ latencyMs: 300 }) });
  t.after(() => fetch(`${registry}/_sandbox/faults`, { method: "DELETE" }));
  const res = await post(`${api}/v1/linkages/marriages`, { applicationNo: `MR-W-${Date.now()}`, applicants: [applicant(him), applicant(her)] });
  const url = api + res.headers.get("location");
  for (let i = 0; i < 200 && (await json(await fetch(url))).currentStep !== "issue-eids"; i++) await new Promise((r) => setTimeout(r, 20));
  const signalled = await post(`${url}/signals`, { signal: "consent-withdrawn", reason: "the bride changed her mind" });
  assert.equal(signalled.status, 202, await signalled.clone().text());
  const done = await settle(url);
  assert.equal(done.status, "CANCELLED", JSON.stringify(done));
  assert.equal(done.reason, "the bride changed her mind");
  assert.deepEqual(done.stepsDone, ["verify-identities", "check-eligibility", "issue-eids"]);
  const married = await json(await fetch(`${registry}/registry/v2/persons/${him.citizenNo}/marital-status`));
  assert.equal(married.maritalStatus, "SINGLE");
  const bus = await connectBus(process.env.NATS_URL!, "marriage-test");
  try {
    const events = (await readStream(bus, "EVENTS", "events.civil-registry.eid.>")).map((m) => JSON.parse(new TextDecoder().decode(m.data)) as CloudEvent);
    const ours = events.filter((e) => e.linkageid === done.id);
    assert.deepEqual((await eidHolders(ours)).sort(), [him.citizenNo, her.citizenNo].sort());
    for (const eidNo of new Set(ours.map((e) => String(e.data.eidNo))))
      assert.deepEqual(
        ours.filter((e) => e.data.eidNo === eidNo).map((e) => e.type),
        ["civil-registry.eid.issued", "civil-registry.eid.revoked"],
      );
  } finally {
    await bus.close();
  }
});

test("a marriage cancelled over REST ends CANCELLED; an unknown signal is a 400", async () => {
  const [him, her] = await couple();
  await fetch(`${registry}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ latencyMs: 500 }) });
  try {
    const res = await post(`${api}/v1/linkages/marriages`, { applicationNo: `MR-X-${Date.now()}`, applicants: [applicant(him), applicant(her)] });
    const url = api + res.headers.get("location");
    assert.equal((await post(`${url}/signals`, { signal: "wake-up" })).status, 400);
    const cancelled = await fetch(`${url}/cancellation`, { method: "POST" });
    assert.equal(cancelled.status, 202, await cancelled.clone().text());
    const done = await settle(url);
    assert.equal(done.status, "CANCELLED", JSON.stringify(done));
    assert.match(String(done.reason), /cancelled on request/);
  } finally {
    await fetch(`${registry}/_sandbox/faults`, { method: "DELETE" });
  }
});
