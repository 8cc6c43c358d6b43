/**
 * Civil status at the registry through the hub, over real HTTP, NATS and PostgreSQL:
 * marital status, marriage registration (both e-IDs verified by the registry; each refusal),
 * household address changes; each change once per idempotency key, with one event.
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { awaitEvents, post, startRegistryStack, type RegistryCitizen, type RegistryStack } from "../support/civil-registry";

let stack: RegistryStack;
const S = "sandbox_civil_registry";

before(async () => void (stack = await startRegistryStack()));
afterEach(async () => void (await fetch(`${stack.sandbox.url}/_sandbox/faults`, { method: "DELETE" })));
after(async () => stack?.stop());

interface Marriage {
  registrationNo: string;
  spouses: string[];
  registeredAt: string;
}

const key = (what: string) => `${what}-${randomUUID()}`;
const eidOf = async (c: RegistryCitizen) =>
  await stack.call<{ eidNo: string; credential: string }>("civil-registry.eid.issue", { idNumber: c.citizenNo, idempotencyKey: key("issue") });
const maritalStatus = (c: RegistryCitizen) => stack.call<{ maritalStatus: string }>("civil-registry.marital-status.get", { idNumber: c.citizenNo });
const applicant = (c: RegistryCitizen, credential: string) => ({ idNumber: c.citizenNo, credential });

/** Adults of one sex, in an age range, each with an e-ID. */
async function people(sex: "MALE" | "FEMALE", count: number, ages: { minAge: number; maxAge: number }) {
  const out: { c: RegistryCitizen; credential: string; eidNo: string }[] = [];
  while (out.length < count) {
    for (const c of await stack.citizens(10, ages)) {
      if (c.sex !== sex || out.length === count) continue;
      const eid = await eidOf(c);
      out.push({ c, credential: eid.credential, eidNo: eid.eidNo });
    }
  }
  return out;
}

const ADULT = { minAge: 25, maxAge: 60 };
const address = { province: "浙江省", city: "杭州市", district: "西湖区", street: "文化路88号", postcode: "310013" };

describe("marital status and marriage registration", () => {
  test("a couple marries once per key: both MARRIED, one record, one event", async () => {
    const [m] = await people("MALE", 1, ADULT);
    const [f] = await people("FEMALE", 1, ADULT);
    assert.deepEqual(await maritalStatus(m!.c), { maritalStatus: "SINGLE" }, "the status and nothing else");

    const params = { applicants: [applicant(m!.c, m!.credential), applicant(f!.c, f!.credential)], idempotencyKey: key("marriage") };
    const marriage = await stack.call<Marriage>("civil-registry.marriage.register", params);
    assert.match(marriage.registrationNo, /^MR\d{4}[0-9A-F]{12}$/);
    assert.deepEqual(marriage.spouses, [m!.c.citizenNo, f!.c.citizenNo]);
    assert.deepEqual(await stack.call("civil-registry.marriage.register", params), marriage, "the same key: the same marriage");

    for (const p of [m!, f!]) assert.deepEqual(await maritalStatus(p.c), { maritalStatus: "MARRIED" });
    const rows = await stack.db.query(`SELECT registration_no FROM ${S}.marriage WHERE spouse_a = $1 OR spouse_b = $1`, [m!.c.citizenNo]);
    assert.deepEqual(rows, [{ registration_no: marriage.registrationNo }]);

    const events = await awaitEvents(stack.bus, "civil-registry.marriage.registered", stack.since, (e) => e.subject === marriage.registrationNo);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]!.data, { registrationNo: marriage.registrationNo, registeredAt: marriage.registeredAt }, "the reference, not the spouses");

    // The spouses, for a purpose: the marriage's own read.
    const { registrationNo } = marriage;
    assert.deepEqual(await stack.call("civil-registry.marriage.get", { registrationNo }, { purpose: "civil-registration" }), marriage);
    const noPurpose = await stack.refusal("civil-registry.marriage.get", { registrationNo });
    const otherPurpose = await stack.refusal("civil-registry.marriage.get", { registrationNo }, { purpose: "event-safety" });
    assert.deepEqual([noPurpose.code, noPurpose.type, otherPurpose.code, otherPurpose.type], [403, "HUB_ERR_FORBIDDEN", 403, "HUB_ERR_FORBIDDEN"]);
    const unknown = await stack.refusal("civil-registry.marriage.get", { registrationNo: "MR2026000000000000" }, { purpose: "civil-registration" });
    assert.deepEqual([unknown.code, unknown.type, unknown.data.reason], [404, "HUB_ERR_RECORD_NOT_FOUND", "MARRIAGE_NOT_FOUND"]);
  });

  test("refusals: already married, under age (22 men, 20 women), same person, invalid, revoked or someone else's e-ID", async () => {
    const [m1, m2] = await people("MALE", 2, ADULT);
    const [f1, f2] = await people("FEMALE", 2, ADULT);
    const refuse = async (applicants: object[], reason: string, which?: number) => {
      const err = await stack.refusal("civil-registry.marriage.register", { applicants, idempotencyKey: key("marriage") });
      assert.deepEqual([err.code, err.type, err.data.reason, err.data.agency], [422, "HUB_ERR_AGENCY_REFUSED", reason, "civil-registry"], err.message);
      if (which !== undefined) assert.equal(err.data.applicant, which);
    };

    await refuse([applicant(m1!.c, m1!.credential), applicant(m1!.c, m1!.credential)], "SAME_PERSON");
    const [h, p, s] = f1!.credential.split(".") as [string, string, string];
    await refuse([applicant(m1!.c, m1!.credential), applicant(f1!.c, `${h}.${p.slice(0, -2)}${p.endsWith("AA") ? "BB" : "AA"}.${s}`)], "EID_INVALID", 1);
    await refuse([applicant(m1!.c, f2!.credential), applicant(f1!.c, f1!.credential)], "EID_NOT_HOLDER", 0);

    await stack.call("civil-registry.eid.revoke", { eidNo: f2!.eidNo, idempotencyKey: key("revoke") });
    await refuse([applicant(m2!.c, m2!.credential), applicant(f2!.c, f2!.credential)], "EID_REVOKED", 1);

    // Men under 22 and women under 20 may not marry; a woman of 21 may.
    const [young] = await people("MALE", 1, { minAge: 21, maxAge: 21 });
    const [woman21] = await people("FEMALE", 1, { minAge: 21, maxAge: 21 });
    const [girl] = await people("FEMALE", 1, { minAge: 18, maxAge: 19 });
    await refuse([applicant(young!.c, young!.credential), applicant(f1!.c, f1!.credential)], "UNDER_LEGAL_AGE", 0);
    await refuse([applicant(m1!.c, m1!.credential), applicant(girl!.c, girl!.credential)], "UNDER_LEGAL_AGE", 1);
    for (const x of [m1!, m2!, f1!, f2!, young!, girl!]) assert.deepEqual(await maritalStatus(x.c), { maritalStatus: "SINGLE" }, "a refusal changes nothing");
    await stack.call("civil-registry.marriage.register", {
      applicants: [applicant(m1!.c, m1!.credential), applicant(woman21!.c, woman21!.credential)],
      idempotencyKey: key("marriage"),
    });

    await refuse([applicant(m1!.c, m1!.credential), applicant(f1!.c, f1!.credential)], "ALREADY_MARRIED", 0);
    const unknown = { idNumber: "11010519491231002X", credential: f1!.credential };
    await refuse([applicant(m2!.c, m2!.credential), unknown], "CITIZEN_NOT_FOUND");
    const err = await stack.refusal("civil-registry.marital-status.get", { idNumber: "11010519491231002X" });
    assert.deepEqual([err.code, err.data.reason], [422, "CITIZEN_NOT_FOUND"]);
  });

  test("two registrations of one person at once: exactly one succeeds", async () => {
    const [m] = await people("MALE", 1, ADULT);
    const women = await people("FEMALE", 4, ADULT);
    const outcomes = await Promise.all(
      women.map((w) =>
        stack
          .call<Marriage>("civil-registry.marriage.register", {
            applicants: [applicant(m!.c, m!.credential), applicant(w.c, w.credential)],
            idempotencyKey: key("marriage"),
          })
          .then(
            (r) => r.registrationNo,
            (e: { data: { reason: string } }) => e.data.reason,
          ),
      ),
    );
    assert.equal(outcomes.filter((o) => o.startsWith("MR")).length, 1, outcomes.join());
    assert.equal(outcomes.filter((o) => o === "ALREADY_MARRIED").length, 3, outcomes.join());
    assert.equal((await stack.db.query(`SELECT 1 FROM ${S}.marriage WHERE spouse_a = $1`, [m!.c.citizenNo])).length, 1);
  });
});

describe("household address change", () => {
  test("a household moves once per key; the registry records it; one event", async () => {
    const household = await stack.citizens(3);
    const params = { idNumbers: household.map((c) => c.citizenNo), address, idempotencyKey: key("move") };
    const change = await stack.call<{ changeNo: string; idNumbers: string[]; address: object; effectiveAt: string }>(
      "civil-registry.household.change-address",
      params,
    );
    assert.match(change.changeNo, /^AC[0-9A-F]{16}$/);
    assert.deepEqual([change.idNumbers, change.address], [params.idNumbers, address]);
    assert.deepEqual(await stack.call("civil-registry.household.change-address", params), change, "the same key: the same change");

    const rows = await stack.db.query<{ address: object }>(`SELECT address FROM ${S}.citizen WHERE citizen_no = ANY($1::text[])`, [params.idNumbers]);
    assert.deepEqual(
      rows.map((r) => r.address),
      [address, address, address],
    );
    assert.equal((await stack.db.query(`SELECT 1 FROM ${S}.address_change WHERE citizen_nos @> $1::jsonb`, [JSON.stringify([params.idNumbers[0]])])).length, 1);

    const events = await awaitEvents(stack.bus, "civil-registry.household.address-changed", stack.since, (e) => e.subject === change.changeNo);
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]!.data, { changeNo: change.changeNo, effectiveAt: change.effectiveAt }, "the reference, not the household");

    // The household and its address, for a purpose: the change's own read.
    const { changeNo } = change;
    assert.deepEqual(await stack.call("civil-registry.address-change.get", { changeNo }, { purpose: "utility-service" }), change);
    const refused = await stack.refusal("civil-registry.address-change.get", { changeNo }, { purpose: "aviation-safety" });
    assert.deepEqual([refused.code, refused.type], [403, "HUB_ERR_FORBIDDEN"]);
    const unknown = await stack.refusal("civil-registry.address-change.get", { changeNo: "AC0000000000000000" }, { purpose: "civil-registration" });
    assert.deepEqual([unknown.code, unknown.type, unknown.data.reason], [404, "HUB_ERR_RECORD_NOT_FOUND", "CHANGE_NOT_FOUND"]);
  });

  test("an unknown member moves nobody; bad addresses are refused by the contract", async () => {
    const [c] = await stack.citizens(1);
    const err = await stack.refusal("civil-registry.household.change-address", {
      idNumbers: [c!.citizenNo, "11010519491231002X"],
      address,
      idempotencyKey: key("move"),
    });
    assert.deepEqual([err.code, err.data.reason], [422, "CITIZEN_NOT_FOUND"]);
    const [row] = await stack.db.query<{ address: object }>(`SELECT address FROM ${S}.citizen WHERE citizen_no = $1`, [c!.citizenNo]);
    assert.deepEqual(row!.address, c!.address);

    for (const bad of [
      { ...address, postcode: "31001" },
      { ...address, street: "" },
      { ...address, floor: 3 },
    ]) {
      const invalid = await stack.refusal("civil-registry.household.change-address", { idNumbers: [c!.citizenNo], address: bad, idempotencyKey: key("move") });
      assert.deepEqual([invalid.code, invalid.type], [400, "HUB_ERR_REQUEST_INVALID"], JSON.stringify(bad));
    }
    const twice = await stack.refusal("civil-registry.household.change-address", {
      idNumbers: [c!.citizenNo, c!.citizenNo],
      address,
      idempotencyKey: key("move"),
    });
    assert.equal(twice.code, 400);
  });
});

describe("the registry's side: idempotency keys and faults", () => {
  test("every change requires an Idempotency-Key at the registry", async () => {
    const [c] = await stack.citizens(1);
    for (const [route, body] of [
      ["/registry/v2/marriages", { applicants: [] }],
      ["/registry/v2/address-changes", { citizenNos: [c!.citizenNo], address }],
      ["/registry/v2/eids/EID0000000000000000/revocation", {}],
    ] as const) {
      const res = await post(stack.sandbox.url + route, body);
      assert.deepEqual([res.status, ((await res.json()) as { errorCode: string }).errorCode], [400, "IDEMPOTENCY_KEY_MISSING"], route);
    }
    const status = await fetch(`${stack.sandbox.url}/registry/v2/persons/${c!.citizenNo}/marital-status`);
    assert.deepEqual(await status.json(), { citizenNo: c!.citizenNo, maritalStatus: "SINGLE" });
  });

  test("malformed answers are 502s; a lost marriage answer, retried with the same key, is one marriage", async () => {
    const [m] = await people("MALE", 1, ADULT);
    const [f] = await people("FEMALE", 1, ADULT);
    await stack.faults({ malformedRate: 1 });
    for (const [action, params] of [
      ["civil-registry.marital-status.get", { idNumber: m!.c.citizenNo }],
      ["civil-registry.household.change-address", { idNumbers: [m!.c.citizenNo], address, idempotencyKey: key("move") }],
    ] as const) {
      const err = await stack.refusal(action, params);
      assert.deepEqual([err.code, err.type, err.data.agency], [502, "HUB_ERR_AGENCY_BAD_ANSWER", "civil-registry"], action);
    }

    const params = { applicants: [applicant(m!.c, m!.credential), applicant(f!.c, f!.credential)], idempotencyKey: key("marriage") };
    await stack.faults({ lostResponseRate: 1 });
    const lost = await stack.refusal("civil-registry.marriage.register", params);
    assert.equal(lost.type, "HUB_ERR_AGENCY_UNAVAILABLE");
    await stack.faults({});
    const marriage = await stack.call<Marriage>("civil-registry.marriage.register", params);
    assert.deepEqual(marriage.spouses, [m!.c.citizenNo, f!.c.citizenNo]);
    assert.equal((await stack.db.query(`SELECT 1 FROM ${S}.marriage WHERE spouse_a = $1`, [m!.c.citizenNo])).length, 1);
  });
});
