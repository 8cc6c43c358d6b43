/**
 * e-IDs end to end, over real HTTP, NATS and PostgreSQL: an e-ID the registry issues verifies
 * with nothing but its published JWKS; a tampered, foreign or revoked one is refused; after a
 * key rotation old and new e-IDs both verify; revocation is idempotent down to the registry
 * and publishes one `civil-registry.eid.revoked` event.
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT, type JSONWebKeySet } from "jose";
import { operations } from "../../contracts";
import { assertDocumented, assertProblem } from "../support/contract";
import { awaitEvents, post, startRegistryStack, type RegistryCitizen, type RegistryStack } from "../support/civil-registry";

const verifyOp = operations().find((o) => o.operationId === "civil-registry.eid.verify")!;
let stack: RegistryStack;

interface Eid {
  eidNo: string;
  credential: string;
  issuedAt: string;
  expiresAt: string;
}

before(async () => void (stack = await startRegistryStack()));
afterEach(async () => void (await fetch(`${stack.sandbox.url}/_sandbox/faults`, { method: "DELETE" })));
after(async () => stack?.stop());

const issue = (c: RegistryCitizen, idempotencyKey = `issue-${randomUUID()}`) =>
  stack.call<Eid>("civil-registry.eid.issue", { idNumber: c.citizenNo, idempotencyKey });
const jwks = async () => (await (await fetch(`${stack.sandbox.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet;

/** POST /v1/eid-verifications, checked against what the contract documents. */
async function verifyRest(credential: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await post(`${stack.node.url}/v1/eid-verifications`, { credential });
  return { status: res.status, body: (await assertDocumented(verifyOp, res)) as Record<string, unknown> };
}

/** One character of the payload replaced by another base64url character. */
function tamper(credential: string): string {
  const [h, p, s] = credential.split(".") as [string, string, string];
  const i = Math.floor(p.length / 2);
  return `${h}.${p.slice(0, i)}${p[i] === "A" ? "B" : "A"}${p.slice(i + 1)}.${s}`;
}

describe("e-ID verification", () => {
  test("an issued e-ID verifies with only the published JWKS, and through the hub", async () => {
    const [c] = await stack.citizens(1);
    const eid = await issue(c!);

    // A verifier that knows nothing but the JWKS document.
    const { payload, protectedHeader } = await jwtVerify(eid.credential, createLocalJWKSet(await jwks()), { typ: "eid+jwt", algorithms: ["EdDSA"] });
    assert.equal(payload.eid_no, eid.eidNo);
    assert.equal(payload.citizen_no, c!.citizenNo);
    assert.equal(protectedHeader.alg, "EdDSA");

    assert.deepEqual(await verifyRest(eid.credential), { status: 200, body: { valid: true, eidNo: eid.eidNo } });
    assert.deepEqual(await stack.call("civil-registry.eid.verify", { credential: eid.credential }), { valid: true, eidNo: eid.eidNo }, "the same over NATS");
  });

  test("a tampered, foreign, unsigned or unknown credential is refused with its reason", async () => {
    const [c] = await stack.citizens(1);
    const eid = await issue(c!);
    const tampered = tamper(eid.credential);
    await assert.rejects(jwtVerify(tampered, createLocalJWKSet(await jwks())), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
    assert.deepEqual(await verifyRest(tampered), { status: 200, body: { valid: false, reason: "BAD_SIGNATURE" } });

    // The same claims, signed by a key the registry never published.
    const foreign = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const { payload } = await jwtVerify(eid.credential, createLocalJWKSet(await jwks()));
    const forged = await new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", typ: "eid+jwt", kid: "not-a-registry-key" }).sign(foreign.privateKey);
    assert.deepEqual((await verifyRest(forged)).body, { valid: false, reason: "UNKNOWN_KEY" });
    // ...and claiming the registry's own key id: the signature does not hold.
    const kid = decodeProtectedHeader(eid.credential).kid!;
    const impostor = await new SignJWT(payload).setProtectedHeader({ alg: "EdDSA", typ: "eid+jwt", kid }).sign(foreign.privateKey);
    assert.deepEqual((await verifyRest(impostor)).body, { valid: false, reason: "BAD_SIGNATURE" });

    const none = `${Buffer.from('{"alg":"none","typ":"eid+jwt"}').toString("base64url")}.${eid.credential.split(".")[1]}.c2ln`;
    assert.deepEqual((await verifyRest(none)).body, { valid: false, reason: "MALFORMED" });
    assert.deepEqual((await verifyRest("abc.def.ghi")).body, { valid: false, reason: "MALFORMED" });

    // Not even the shape of a compact JWS: the contract refuses it.
    const bad = await post(`${stack.node.url}/v1/eid-verifications`, { credential: "not a jws" });
    assertProblem(await assertDocumented(verifyOp, bad), 400);
  });

  test("a revoked e-ID is refused; revocation runs once per idempotency key and publishes one event", async () => {
    const [c] = await stack.citizens(1);
    const eid = await issue(c!);
    const key = `revoke-${randomUUID()}`;
    const first = await stack.call<{ eidNo: string; revokedAt: string }>("civil-registry.eid.revoke", {
      eidNo: eid.eidNo,
      reason: "lost",
      idempotencyKey: key,
    });
    assert.equal(first.eidNo, eid.eidNo);
    assert.ok(Math.abs(Date.parse(first.revokedAt) - Date.now()) < 60_000);
    const again = await stack.call("civil-registry.eid.revoke", { eidNo: eid.eidNo, reason: "lost", idempotencyKey: key });
    assert.deepEqual(again, first, "the same key: the same revocation");

    assert.deepEqual((await verifyRest(eid.credential)).body, { valid: false, reason: "REVOKED" });
    // The signature alone still holds: revocation is the registry's answer, not the JWKS's.
    await jwtVerify(eid.credential, createLocalJWKSet(await jwks()));

    const rows = await stack.db.query<{ status: string; revocation_reason: string }>(
      `SELECT status, revocation_reason FROM sandbox_civil_registry.eid WHERE eid_no = $1`,
      [eid.eidNo],
    );
    assert.deepEqual(rows, [{ status: "REVOKED", revocation_reason: "lost" }]);

    const otherKey = await stack.refusal("civil-registry.eid.revoke", { eidNo: eid.eidNo, idempotencyKey: `revoke-${randomUUID()}` });
    assert.deepEqual([otherKey.code, otherKey.type, otherKey.data.reason], [422, "HUB_ERR_AGENCY_REFUSED", "EID_ALREADY_REVOKED"]);
    const unknown = await stack.refusal("civil-registry.eid.revoke", { eidNo: "EID0000000000000000", idempotencyKey: `revoke-${randomUUID()}` });
    assert.deepEqual([unknown.code, unknown.data.reason], [422, "EID_NOT_FOUND"]);
    const reused = await stack.refusal("civil-registry.eid.revoke", { eidNo: eid.eidNo, reason: "stolen", idempotencyKey: key });
    assert.deepEqual([reused.code, reused.data.reason], [422, "IDEMPOTENCY_KEY_REUSED"]);

    const events = await awaitEvents(stack.bus, "civil-registry.eid.revoked", stack.since, (e) => e.subject === eid.eidNo);
    assert.equal(events.length, 1, "one event for one revocation");
    assert.deepEqual(events[0]!.data, { eidNo: eid.eidNo, revokedAt: first.revokedAt }, "the e-ID number, not its holder");
    // The holder, for a purpose, through the audited read.
    const holder = await stack.call("civil-registry.person.get", { eidNo: eid.eidNo }, { purpose: "identity-verification" });
    assert.deepEqual(holder, { idNumber: c!.citizenNo, name: c!.fullName });
    assert.equal(events[0]!.source, "/linkage-hub/civil-registry");

    // The citizen may be issued a new e-ID, which verifies.
    const renewed = await issue(c!);
    assert.deepEqual((await verifyRest(renewed.credential)).body, { valid: true, eidNo: renewed.eidNo });
  });

  test("key rotation: e-IDs signed before and after both verify; the JWKS publishes both keys", async () => {
    const [a, b] = await stack.citizens(2);
    const before = await issue(a!);
    const rotated = await post(`${stack.sandbox.url}/_sandbox/keys/rotate`, {});
    assert.equal(rotated.status, 201);
    const { kid, retired } = (await rotated.json()) as { kid: string; retired: string[] };
    const afterRotation = await issue(b!);

    const set = await jwks();
    assert.equal(set.keys.length, 2);
    assert.equal(set.keys[0]!.kid, kid, "the active key first");
    assert.deepEqual(retired, [decodeProtectedHeader(before.credential).kid]);
    assert.equal(decodeProtectedHeader(afterRotation.credential).kid, kid);
    for (const k of set.keys) assert.deepEqual(Object.keys(k).sort(), ["alg", "crv", "kid", "kty", "use", "x"], "public parts only");

    const local = createLocalJWKSet(set);
    for (const eid of [before, afterRotation]) assert.equal((await jwtVerify(eid.credential, local)).payload.eid_no, eid.eidNo);

    // The hub fetched the JWKS earlier; it fetches again for the unknown key id (after a 1 s cooldown).
    await new Promise((r) => setTimeout(r, 1100));
    assert.deepEqual((await verifyRest(afterRotation.credential)).body, { valid: true, eidNo: afterRotation.eidNo });
    assert.deepEqual((await verifyRest(before.credential)).body, { valid: true, eidNo: before.eidNo });
  });
});

describe("faults on the new calls", () => {
  test("a malformed status answer is a 502, a lost revocation answer is retried with the same key", async () => {
    const [c] = await stack.citizens(1);
    const eid = await issue(c!);
    await stack.faults({ malformedRate: 1 });
    const res = await post(`${stack.node.url}/v1/eid-verifications`, { credential: eid.credential });
    const problem = (await assertDocumented(verifyOp, res)) as Record<string, unknown>;
    assertProblem(problem, 502);
    assert.deepEqual([problem.code, problem.agency], ["HUB_ERR_AGENCY_BAD_ANSWER", "civil-registry"]);
    assert.equal(problem.valid, undefined);

    const malformedRevoke = await stack.refusal("civil-registry.eid.revoke", { eidNo: eid.eidNo, idempotencyKey: `revoke-${randomUUID()}` });
    assert.equal(malformedRevoke.type, "HUB_ERR_AGENCY_BAD_ANSWER");
    const [row] = await stack.db.query<{ status: string }>(`SELECT status FROM sandbox_civil_registry.eid WHERE eid_no = $1`, [eid.eidNo]);
    assert.equal(row!.status, "ACTIVE", "a malformed answer came with nothing done");

    // The registry revokes, then every answer is lost: the adapter's repeats (same key) replay
    // the stored answer and are lost too; the caller's later retry with the same key gets it.
    const key = `revoke-${randomUUID()}`;
    await stack.faults({ lostResponseRate: 1 });
    const lost = await stack.refusal("civil-registry.eid.revoke", { eidNo: eid.eidNo, idempotencyKey: key });
    assert.equal(lost.type, "HUB_ERR_AGENCY_UNAVAILABLE");
    await stack.faults({});
    const revoked = await stack.call<{ eidNo: string; revokedAt: string }>("civil-registry.eid.revoke", { eidNo: eid.eidNo, idempotencyKey: key });
    assert.equal(revoked.eidNo, eid.eidNo);
    const revocations = await stack.db.query(`SELECT 1 FROM sandbox_civil_registry.idempotency WHERE operation = 'eid.revoke' AND body->>'eidNo' = $1`, [
      eid.eidNo,
    ]);
    assert.equal(revocations.length, 1, "one revocation");
  });

  test("no answer in time is a 504 naming the agency", async () => {
    const [c] = await stack.citizens(1);
    const eid = await issue(c!);
    await stack.faults({ timeoutRate: 1 });
    const res = await post(`${stack.node.url}/v1/eid-verifications`, { credential: eid.credential });
    const problem = (await assertDocumented(verifyOp, res)) as Record<string, unknown>;
    assertProblem(problem, 504);
    assert.deepEqual([problem.code, problem.agency], ["HUB_ERR_AGENCY_TIMEOUT", "civil-registry"]);
  });
});
