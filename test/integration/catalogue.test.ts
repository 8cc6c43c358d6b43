/**
 * The service catalogue on the real stack: a provider the test runs registers its REST service
 * from its OpenAPI document, partners granted access call it through the hub at `/r1/...`, and
 * every check the hub makes before forwarding refuses as problem+json: token, subsystem,
 * right, purpose, quota, Idempotency-Key, the service's state. Each call is audited.
 * (The document's checks and the provider's misbehaviours: catalogue-calls.test.ts.)
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { auditKeysOf } from "../../audit/log";
import { subjectHash } from "../../audit/chain";
import { loadConfig } from "../../platform/config";
import { clusterEnv, json, startNode, type TestNode } from "../support/hub";
import { rawFetch, suiteDb, suiteToken } from "../support/partner";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, ownPartner, problemOf, registered, SUITE_CLIENT, ZHANG, type OwnPartner } from "../support/catalogue";

const env = clusterEnv();
let hub: TestNode;
let provider: Provider;
let SERVICE: string;
/** Partners of this test's own: one granted nothing, one granted GET /status only, one with a quota of 2. */
let stranger: OwnPartner;
let narrow: OwnPartner;
let frugal: OwnPartner;

const call = (path: string, init: RequestInit = {}) => fetch(`${hub.url}/r1/${SERVICE}${path}`, init);
const as = (p: OwnPartner, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${p.token}`, ...headers });
const VERIFY = { "data-purpose": "identity-verification" };
const note = (text: string, key: string) => ({
  method: "POST",
  body: JSON.stringify({ text }),
  headers: { ...VERIFY, "content-type": "application/json", "idempotency-key": key },
});

before(async () => {
  [provider, hub] = await Promise.all([startProvider(), startNode("api", env)]);
  SERVICE = await registered(hub.url, { code: freshCode("persons"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT });
  await granted(hub.url, SUITE_CLIENT, SERVICE, ["identity-verification"]);
  [stranger, narrow, frugal] = await Promise.all([ownPartner("cat-stranger"), ownPartner("cat-narrow"), ownPartner("cat-frugal", { quota: 2 })]);
  await granted(hub.url, narrow.subsystem, SERVICE, ["all"], ["GET /status"]);
  await granted(hub.url, frugal.subsystem, SERVICE, ["all"], ["GET /status"]);
});

after(async () => {
  await hub?.stop();
  await provider?.close();
  await closeSuiteDb();
});

describe("a call through the hub", () => {
  test("passes the checks, reaches the provider without the partner's token, and comes back with the request id", async () => {
    const res = await call(`/persons/${ZHANG}?fields=name`, { headers: { ...VERIFY, "x-govstack-client": SUITE_CLIENT } });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body, { idNumber: ZHANG, name: "Zhang Wei" });
    assert.ok(res.headers.get("x-request-id"));
    assert.ok(res.headers.get("request-hash"));
    assert.match(res.headers.get("ratelimit") ?? "", /r=\d+/);
    const seen = provider.received.at(-1)!;
    assert.equal(seen.url, `/persons/${ZHANG}?fields=name`);
    assert.equal(seen.headers.authorization, undefined, "the partner's token stays at the hub");
    assert.equal(seen.headers["x-request-id"], res.headers.get("x-request-id"));
    assert.equal(seen.headers["x-govstack-client"], SUITE_CLIENT);
    assert.match(String(seen.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });
});

describe("refusals, as problem+json, before the provider is called", () => {
  /** The refusal, checked to leave the provider uncalled. */
  async function refused(res: Promise<Response>, status: number, code: string) {
    const before = provider.received.length;
    const problem = await problemOf(await res, status);
    assert.equal(problem.code, code, problem.detail);
    assert.equal(provider.received.length, before, "the provider was called");
    return problem;
  }

  test("no token: 401 with a challenge", async () => {
    const res = await rawFetch(`${hub.url}/r1/${SERVICE}/status`);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
    await refused(Promise.resolve(res), 401, "HUB_ERR_UNAUTHENTICATED");
  });

  test("another partner's subsystem in the client header: 403; two client headers that disagree: 400", async () => {
    const problem = await refused(call("/status", { headers: { "x-govstack-client": narrow.subsystem } }), 403, "HUB_ERR_FORBIDDEN");
    assert.match(problem.detail, /not the subsystem of/);
    await refused(call("/status", { headers: { "x-govstack-client": SUITE_CLIENT, "x-road-client": narrow.subsystem } }), 400, "HUB_ERR_REQUEST_INVALID");
  });

  test("a partner granted nothing: 403", async () => {
    const problem = await refused(call("/status", { headers: as(stranger) }), 403, "HUB_ERR_FORBIDDEN");
    assert.match(problem.detail, /has no right to GET \/status/);
  });

  test("a right on another method only: 403; the method granted passes", async () => {
    const problem = await refused(call(`/persons/${ZHANG}`, { headers: as(narrow, VERIFY) }), 403, "HUB_ERR_FORBIDDEN");
    assert.match(problem.detail, /no right to GET \/persons\/\{idNumber\}/);
    assert.equal((await call("/status", { headers: as(narrow) })).status, 200);
  });

  test("personal data without Data-Purpose: 403 naming the header", async () => {
    const headers = { authorization: `Bearer ${await suiteToken()}` };
    const problem = await refused(rawFetch(`${hub.url}/r1/${SERVICE}/persons/${ZHANG}`, { headers }), 403, "HUB_ERR_FORBIDDEN");
    assert.match(problem.detail, /Data-Purpose/);
  });

  test("a purpose the right does not allow: 403 naming the purposes granted", async () => {
    const problem = await refused(call(`/persons/${ZHANG}`, { headers: { "data-purpose": "supervision" } }), 403, "HUB_ERR_FORBIDDEN");
    assert.match(problem.detail, /Data-Purpose supervision .*granted: identity-verification/);
  });

  test("past the partner's quota: 429 with Retry-After and the RateLimit headers", async () => {
    let res: Response | undefined;
    for (let n = 0; n < 4 && res?.status !== 429; n++) res = await call("/status", { headers: as(frugal) });
    assert.ok(Number(res!.headers.get("retry-after")) > 0, "Retry-After");
    assert.equal(res!.headers.get("ratelimit-remaining"), "0");
    await refused(Promise.resolve(res!), 429, "HUB_ERR_QUOTA_EXCEEDED");
  });

  test("a disabled service: 403 HUB_ERR_SERVICE_DISABLED; enabled again, it answers", async () => {
    const admin = `${hub.url}/v1/catalogue/services/${SERVICE}`;
    assert.equal((await fetch(`${admin}/disable`, { method: "POST" })).status, 200);
    try {
      const problem = await refused(call("/status"), 403, "HUB_ERR_SERVICE_DISABLED");
      assert.match(problem.detail, /disabled/);
    } finally {
      assert.equal((await fetch(`${admin}/enable`, { method: "POST" })).status, 200);
    }
    assert.equal((await call("/status")).status, 200);
  });

  test("an unknown service: 404", async () => {
    const res = fetch(`${hub.url}/r1/${SERVICE.replace(/[^/]+$/, freshCode("nowhere"))}/status`);
    await refused(res, 404, "HUB_ERR_SERVICE_NOT_FOUND");
  });
});

describe("Idempotency-Key on a POST", () => {
  test("a repeat gets the first answer, marked idempotent-replayed, with its own request id; the provider is called once", async () => {
    const key = randomUUID();
    const before = provider.received.length;
    const first = await call(`/persons/${ZHANG}/notes`, note("moved house", key));
    assert.equal(first.status, 201, await first.clone().text());
    const repeatId = randomUUID();
    const repeat = await call(`/persons/${ZHANG}/notes`, { ...note("moved house", key), headers: { ...note("", key).headers, "x-request-id": repeatId } });
    assert.equal(repeat.status, 201);
    assert.equal(repeat.headers.get("idempotent-replayed"), "true");
    assert.equal(first.headers.get("idempotent-replayed"), null);
    assert.deepEqual(await json(repeat), await json(first));
    assert.equal(repeat.headers.get("x-request-id"), repeatId, "a replay names the request it answers");
    assert.equal(provider.received.length - before, 1);
  });

  test("the same key with another body: 422, the provider not called", async () => {
    const key = randomUUID();
    assert.equal((await call(`/persons/${ZHANG}/notes`, note("first", key))).status, 201);
    const before = provider.received.length;
    const problem = await problemOf(await call(`/persons/${ZHANG}/notes`, note("second", key)), 422);
    assert.equal(problem.code, "HUB_ERR_IDEMPOTENCY_KEY_REUSED");
    assert.equal(provider.received.length, before);
  });
});

describe("the audit log", () => {
  type AuditRecord = { operation: string; outcome: string; purpose?: string; subjects: string[]; partnerId: string; responseHash?: string };
  const recordOf = async (requestId: string) =>
    (await (await suiteDb()).query<{ record: AuditRecord }>("SELECT record FROM hub.audit_record WHERE record->>'requestId' = $1", [requestId])).map(
      (r) => r.record,
    );
  const withId = (headers: Record<string, string> = {}) => ({ ...headers, "x-request-id": randomUUID() });

  test("a call is recorded with its purpose and the keyed hash of the person named by x-subject, never the id number", async () => {
    const headers = withId(VERIFY);
    assert.equal((await call(`/persons/${ZHANG}`, { headers })).status, 200);
    const [record, ...more] = await recordOf(headers["x-request-id"]);
    assert.equal(more.length, 0, "one record per call");
    assert.equal(record?.operation, `catalogue:${SERVICE}:GET /persons/{idNumber}`);
    assert.equal(record.outcome, "OK");
    assert.equal(record.purpose, "identity-verification");
    assert.ok(record.responseHash);
    const keys = auditKeysOf(loadConfig({ ...process.env, ...env }));
    assert.deepEqual(record.subjects, [subjectHash(keys, ZHANG)]);
    assert.ok(!JSON.stringify(record).includes(ZHANG));
  });

  test("a refusal once the partner is known is recorded with its code; a call without a token is not", async () => {
    const refusedId = withId({ "data-purpose": "supervision" });
    assert.equal((await call(`/persons/${ZHANG}`, { headers: refusedId })).status, 403);
    const [record] = await recordOf(refusedId["x-request-id"]);
    assert.equal(record?.outcome, "HUB_ERR_FORBIDDEN");
    assert.equal(record.partnerId, "suite-partner");
    const anonymous = withId();
    assert.equal((await rawFetch(`${hub.url}/r1/${SERVICE}/status`, { headers: anonymous })).status, 401);
    assert.deepEqual(await recordOf(anonymous["x-request-id"]), []);
  });

  test("the provider's own 404 is recorded as such", async () => {
    const headers = withId(VERIFY);
    assert.equal((await call("/persons/11010119900307451X", { headers })).status, 404);
    const [record] = await recordOf(headers["x-request-id"]);
    assert.equal(record?.outcome, "PROVIDER_404");
    assert.equal(record.subjects.length, 1);
  });
});
