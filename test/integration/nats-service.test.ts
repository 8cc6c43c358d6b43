/**
 * The hub's operations as the NATS service `linkage-hub`, called with a plain `nats` client
 * (no Moleculer), as an internal service in another language would: found with $SRV.PING and
 * $SRV.INFO, its schemas served, an identity verified with the same answer, Request-Hash and
 * audit record as over REST, and refused as REST refuses (the same problems and pointers),
 * with the services API's error headers. A subject without an endpoint is "no responders".
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { connect, headers as natsHeaders, ErrorCode, type Msg, type NatsConnection, type NatsError } from "nats";
import { Ajv2020 } from "ajv/dist/2020";
import { clusterEnv, seedCitizens, startNode, type Citizen, type TestNode } from "../support/hub";
import { rawFetch, suiteDb, suiteToken } from "../support/partner";
import { closeSuiteDb, freshCode, granted, ownPartner, registered, SUITE_CLIENT, ZHANG, type OwnPartner } from "../support/catalogue";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { addPartner } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { loadConfig } from "../../platform/config";
import { callerOptions } from "../../ops/stack/nats-auth";

const env = clusterEnv();
let hub: TestNode;
let nc: NatsConnection;
let provider: Provider;
let verifier: OwnPartner;
let citizen: Citizen;
const VERIFY = "hub.v1.civil-registry.identity.verify";

interface Answer {
  msg: Msg;
  json: Record<string, unknown>;
  header(name: string): string | undefined;
}

/** A request as a plain client sends it: JSON in, the headers given. */
async function ask(subject: string, body: unknown, given: Record<string, string> = {}): Promise<Answer> {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(given)) h.set(name, value);
  const data = body === undefined ? new Uint8Array() : typeof body === "string" ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  const msg = await nc.request(subject, data, { timeout: 15_000, headers: h });
  return { msg, json: msg.data.length ? (msg.json() as Record<string, unknown>) : {}, header: (name) => msg.headers?.get(name) || undefined };
}

/** A refusal: the services API's error headers and the problem REST answers. */
function refusedWith(answer: Answer, status: number, code: string): Record<string, unknown> {
  assert.equal(answer.header("Nats-Service-Error-Code"), String(status), JSON.stringify(answer.json));
  assert.equal(answer.header("Nats-Service-Error"), answer.json.title);
  assert.equal(answer.json.status, status);
  assert.equal(answer.json.code, code, String(answer.json.detail));
  return answer.json;
}

const bearer = (token: string, purpose = "identity-verification") => ({ Authorization: `Bearer ${token}`, "Data-Purpose": purpose });

/** The same identity verification over REST, as the partner, for comparison. */
const verifyOverRest = (body: unknown, headers: Record<string, string> = {}) =>
  rawFetch(`${hub.url}/v1/identity-verifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${verifier.token}`, "data-purpose": "identity-verification", "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

before(async () => {
  [hub, provider] = await Promise.all([startNode("api,civil-registry", env), startProvider()]);
  nc = await connect({ servers: process.env.NATS_URL, ...callerOptions(loadConfig().dataDir, "nats-service-test") });
  verifier = await ownPartner("nats");
  [citizen] = (await seedCitizens(1)) as [Citizen];
});

after(async () => {
  await nc?.close();
  await hub?.stop();
  await provider?.close();
  await closeSuiteDb();
});

describe("the service is found", () => {
  test("$SRV.PING and $SRV.INFO name linkage-hub, its endpoints and their schemas", async () => {
    const ping = (await nc.request("$SRV.PING.linkage-hub", new Uint8Array(), { timeout: 5000 })).json<{ name: string; version: string }>();
    assert.equal(ping.name, "linkage-hub");
    assert.match(ping.version, /^\d+\.\d+\.\d+/);
    const info = (await nc.request("$SRV.INFO.linkage-hub", new Uint8Array(), { timeout: 5000 })).json<{
      endpoints: { name: string; subject: string; queue_group: string; metadata: Record<string, string> }[];
    }>();
    const bySubject = new Map(info.endpoints.map((e) => [e.subject, e]));
    for (const subject of [VERIFY, "hub.v1.catalogue.list", "hub.v1.linkages.status.get", "hub.v1.catalogue.call", "hub.v1.schemas"])
      assert.ok(bySubject.has(subject), subject);
    assert.ok(![...bySubject.keys()].some((s) => s.startsWith("hub.v1.api.")), "the gateway's own operations are REST only");
    const verify = bySubject.get(VERIFY)!;
    assert.equal(verify.queue_group, "q");
    assert.deepEqual(verify.metadata, {
      operation: "civil-registry.identity.verify",
      rest: "POST /v1/identity-verifications",
      request_schema: "#/components/schemas/IdentityVerificationRequest",
      response_schema: "#/components/schemas/IdentityVerificationResult",
    });
    assert.equal(bySubject.get("hub.v1.linkages.status.get")!.metadata.parameters, "id");
  });

  test("hub.v1.schemas serves whole JSON Schemas that check what the endpoints take", async () => {
    const { json } = await ask("hub.v1.schemas", { operationId: "civil-registry.identity.verify" });
    const ajv = new Ajv2020({ strict: false });
    const check = ajv.compile(json.request as object);
    assert.ok(check({ idNumber: ZHANG, name: "张三" }), JSON.stringify(check.errors));
    assert.ok(!check({ idNumber: ZHANG }));
    const signal = (await ask("hub.v1.schemas", { operationId: "linkages.signal" })).json;
    const checkSignal = ajv.compile(signal.request as object);
    assert.ok(
      checkSignal({ id: "x", signal: "all-clear" }) && !checkSignal({ signal: "all-clear" }) && !checkSignal({ id: "x", signal: "all-clear", other: 1 }),
    );
    refusedWith(await ask("hub.v1.schemas", { operationId: "no.such" }), 404, "HUB_ERR_ROUTE_NOT_FOUND");
  });

  test("a subject without an endpoint is no responders at once, not a hang", async () => {
    await assert.rejects(
      nc.request("hub.v1.no.such.operation", new Uint8Array(), { timeout: 15_000 }),
      (err: NatsError) => err.code === ErrorCode.NoResponders,
    );
  });
});

describe("an identity verified over NATS", () => {
  test("answers as REST does, with the same Request-Hash and the same audit record", async () => {
    const body = { idNumber: citizen.citizenNo, name: citizen.fullName };
    const [viaNats, viaRest] = [`nats-${randomUUID()}`, `rest-${randomUUID()}`];
    const nats = await ask(VERIFY, body, { ...bearer(verifier.token), "X-Request-Id": viaNats });
    assert.equal(nats.header("Nats-Service-Error-Code"), undefined, JSON.stringify(nats.json));
    assert.equal(nats.header("X-Request-Id"), viaNats);
    const rest = await verifyOverRest(body, { "x-request-id": viaRest });
    assert.equal(rest.status, 200);
    assert.deepEqual(nats.json, await rest.json());
    assert.equal(nats.header("Request-Hash"), rest.headers.get("request-hash"));
    const records = await auditRecords([viaNats, viaRest]);
    const [a, b] = [records.get(viaNats), records.get(viaRest)];
    assert.ok(a && b, "both exchanges audited");
    const same = ({ requestId: _r, at: _a, ...rest }: Record<string, unknown>) => rest;
    assert.deepEqual(same(a), same(b));
    assert.equal(a.partnerId, verifier.id);
    assert.equal(a.purpose, "identity-verification");
  });

  test("an operation with a path parameter and one with query parameters take them as fields", async () => {
    const suite = await suiteToken();
    const gone = { instance: "LOCAL", memberClass: "GOV", memberCode: "1", subsystemCode: "none", serviceCode: "none" };
    const missing = await ask("hub.v1.catalogue.services.show", gone, bearer(suite));
    refusedWith(missing, 404, "HUB_ERR_SERVICE_NOT_FOUND");
    assert.equal(missing.json.instance, "/v1/catalogue/services/LOCAL/GOV/1/none/none");
    const grants = await ask("hub.v1.catalogue.access.list", { client: SUITE_CLIENT }, bearer(suite));
    assert.ok(Array.isArray(grants.json.grants), JSON.stringify(grants.json));
    const bad = refusedWith(await ask("hub.v1.catalogue.list", { limit: "many" }), 400, "HUB_ERR_REQUEST_INVALID");
    assert.deepEqual(bad.errors, [{ in: "query", pointer: "/limit", detail: "must be integer" }]);
    const catalogue = await ask("hub.v1.catalogue.list", undefined);
    assert.ok(Array.isArray(catalogue.json.items), "a public operation needs no token");
  });

  test("the answers are counted apart from REST's, per operation and partner", async () => {
    const text = await (await rawFetch(`${hub.url}/metrics`)).text();
    assert.match(
      text,
      new RegExp(`^hub_nats_requests_total\\{partner="${verifier.id}",operation="civil-registry.identity.verify",status_class="2xx"\\} [1-9]`, "m"),
    );
    assert.match(text, /^hub_nats_request_duration_seconds_count\{partner="none",operation="catalogue.list"\} [1-9]/m);
  });
});

describe("refused as REST refuses", () => {
  const body = () => ({ idNumber: citizen.citizenNo, name: citizen.fullName });

  test("no token, an expired one: 401; a purpose not granted, a missing scope: 403", async () => {
    const noToken = refusedWith(await ask(VERIFY, body()), 401, "HUB_ERR_UNAUTHENTICATED");
    assert.equal(noToken.instance, "/v1/identity-verifications");
    const db = await suiteDb();
    const expired = (await issueToken(db, { ...loadConfig({}), tokenTtlS: 1 }, { partnerId: verifier.id, scopes: ["identity.verify"] })).access_token;
    await new Promise((r) => setTimeout(r, 2100));
    const late = await ask(VERIFY, body(), bearer(expired));
    assert.match(String(refusedWith(late, 401, "HUB_ERR_UNAUTHENTICATED").detail), /expired/);
    assert.match(late.header("WWW-Authenticate") ?? "", /^Bearer realm="linkage-hub"/);
    const narrow = await ownPartner("nats-narrow", { purposes: ["emergency-response"] });
    refusedWith(await ask(VERIFY, body(), bearer(narrow.token)), 403, "HUB_ERR_FORBIDDEN");
    const id = `nats-scope-${randomUUID().slice(0, 8)}`;
    await addPartner(db, { id, scopes: ["linkages.read"], purposes: ["identity-verification"] });
    const scoped = (await issueToken(db, loadConfig({}), { partnerId: id, scopes: ["linkages.read"] })).access_token;
    const noScope = await ask(VERIFY, body(), bearer(scoped));
    assert.match(String(refusedWith(noScope, 403, "HUB_ERR_FORBIDDEN").detail), /needs the scope identity\.verify/);
    assert.match(noScope.header("WWW-Authenticate") ?? "", /insufficient_scope/);
    const refusals = await auditRecords([noScope.header("X-Request-Id")!]);
    assert.equal(refusals.get(noScope.header("X-Request-Id")!)?.outcome, "HUB_ERR_FORBIDDEN", "a known partner's refusal is audited");
  });

  test("bad params: the problem REST answers, with the same pointers", async () => {
    const bad = { idNumber: "12345", name: "", extra: true };
    const nats = refusedWith(await ask(VERIFY, bad, bearer(verifier.token)), 400, "HUB_ERR_REQUEST_INVALID");
    const rest = await verifyOverRest(bad);
    const problem = (await rest.json()) as Record<string, unknown>;
    assert.deepEqual(nats.errors, problem.errors);
    assert.ok((nats.errors as { pointer: string }[]).some((e) => e.pointer === "/idNumber"));
    refusedWith(await ask(VERIFY, "{not json", bearer(verifier.token)), 400, "HUB_ERR_REQUEST_MALFORMED");
  });

  test("a message over the REST body limit is the same 413", async () => {
    const big = { idNumber: citizen.citizenNo, name: "x".repeat(70 * 1024) };
    const nats = refusedWith(await ask(VERIFY, big, bearer(verifier.token)), 413, "HUB_ERR_REQUEST_TOO_LARGE");
    assert.match(String(nats.detail), /at most 65536 bytes/);
  });

  test("an Idempotency-Key runs once: the repeat is replayed, over NATS or REST", async () => {
    const key = randomUUID();
    const first = await ask(VERIFY, body(), { ...bearer(verifier.token), "Idempotency-Key": key });
    assert.equal(first.header("Idempotent-Replayed"), undefined);
    const again = await ask(VERIFY, body(), { ...bearer(verifier.token), "Idempotency-Key": key });
    assert.equal(again.header("Idempotent-Replayed"), "true");
    assert.deepEqual(again.json, first.json);
    const rest = await verifyOverRest(body(), { "idempotency-key": key });
    assert.equal(rest.headers.get("idempotent-replayed"), "true");
    assert.deepEqual(await rest.json(), first.json);
    const other = await ask(VERIFY, { ...body(), name: "别人" }, { ...bearer(verifier.token), "Idempotency-Key": key });
    refusedWith(other, 422, "HUB_ERR_IDEMPOTENCY_KEY_REUSED");
  });
});

describe("a catalogue service called over NATS", () => {
  test("hub.v1.catalogue.call forwards to the provider and answers {status, headers, body}; refusals are problems", async () => {
    const service = await registered(hub.url, { code: freshCode("nats-persons"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT });
    await granted(hub.url, SUITE_CLIENT, service, ["identity-verification"]);
    const token = await suiteToken();
    const call = { serviceId: service, method: "GET", path: `/persons/${ZHANG}`, query: { fields: "name" } };
    const answer = await ask("hub.v1.catalogue.call", call, bearer(token));
    assert.equal(answer.json.status, 200, JSON.stringify(answer.json));
    assert.equal((answer.json.body as { idNumber: string }).idNumber, ZHANG);
    assert.equal(provider.received.at(-1)?.url, `/persons/${ZHANG}?fields=name`);
    refusedWith(await ask("hub.v1.catalogue.call", call), 401, "HUB_ERR_UNAUTHENTICATED");
    refusedWith(await ask("hub.v1.catalogue.call", call, bearer(token, "emergency-response")), 403, "HUB_ERR_FORBIDDEN");
    const bad = refusedWith(await ask("hub.v1.catalogue.call", { ...call, method: "FETCH" }, bearer(token)), 400, "HUB_ERR_REQUEST_INVALID");
    assert.ok((bad.errors as { pointer: string }[]).some((e) => e.pointer === "/method"));
  });
});

/** The audit records of these request ids, once written (the log writes in batches). */
async function auditRecords(ids: string[]): Promise<Map<string, Record<string, unknown>>> {
  const db = await suiteDb();
  for (let tries = 0; ; tries++) {
    const rows = await db.query<{ record: Record<string, unknown> }>("SELECT record FROM hub.audit_record WHERE record->>'requestId' = ANY($1)", [ids]);
    if (rows.length >= ids.length || tries > 50) return new Map(rows.map((r) => [String(r.record.requestId), r.record]));
    await new Promise((r) => setTimeout(r, 100));
  }
}
