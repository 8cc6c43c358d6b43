/**
 * `catalogue.call` over NATS, as an internal service calls a catalogue service: the same
 * checks as REST `/r1/...`, its refusals typed Moleculer errors (type, code, data.errors,
 * data.headers) rather than problem+json, and nothing reaching the provider that REST could
 * not carry either.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, startNode, type TestNode } from "../support/hub";
import { suiteToken } from "../support/partner";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, registered, SUITE_CLIENT, ZHANG } from "../support/catalogue";

const env = clusterEnv();
let hub: TestNode;
let provider: Provider;
let broker: ServiceBroker;
let SERVICE: string;
let headers: Record<string, string>;

type Answer = { status: number; headers: Record<string, string>; body?: unknown };
type Refusal = { type: string; code: number; message: string; data?: { errors?: { in: string; pointer: string }[]; headers?: Record<string, string> } };

const call = (method: string, path: string, more: { headers?: Record<string, string>; body?: unknown } = {}) =>
  broker.call<Answer, object>("catalogue.call", {
    service: SERVICE,
    method,
    path,
    headers: { ...headers, ...more.headers },
    ...("body" in more ? { body: more.body } : {}),
  });

/** The call is refused with `type` and `code`, and the provider is not called; the error, for more checks. */
async function refused(answer: Promise<unknown>, type: string, code: number): Promise<Refusal> {
  const before = provider.received.length;
  let caught: Refusal | undefined;
  await assert.rejects(answer, (err: Refusal) => ((caught = err), true));
  assert.equal(caught!.type, type, JSON.stringify(caught));
  assert.equal(caught!.code, code);
  assert.equal(provider.received.length, before, "the provider was called");
  return caught!;
}

before(async () => {
  [provider, hub] = await Promise.all([startProvider(), startNode("api", env)]);
  broker = await callerBroker(env.HUB_NAMESPACE!, ["catalogue"]);
  SERVICE = await registered(hub.url, { code: freshCode("persons"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT });
  await granted(hub.url, SUITE_CLIENT, SERVICE, ["identity-verification"]);
  headers = { authorization: `Bearer ${await suiteToken()}`, "data-purpose": "identity-verification" };
});

after(async () => {
  await broker?.stop();
  await hub?.stop();
  await provider?.close();
  await closeSuiteDb();
});

describe("catalogue.call", () => {
  test("a call that passes: the provider's status, headers and JSON body", async () => {
    const answer = await call("GET", `/persons/${ZHANG}?fields=name`, { headers: { "x-govstack-client": SUITE_CLIENT } });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { idNumber: ZHANG, name: "Zhang Wei" });
    assert.match(answer.headers["content-type"] ?? "", /^application\/json/);
    const seen = provider.received.at(-1)!;
    assert.equal(seen.url, `/persons/${ZHANG}?fields=name`);
    assert.equal(seen.headers.authorization, undefined);
    assert.equal(seen.headers["x-govstack-client"], SUITE_CLIENT);
  });

  test("a POST with a JSON body and an Idempotency-Key: run once, then replayed", async () => {
    const key = randomUUID();
    const first = await call("POST", `/persons/${ZHANG}/notes`, { body: { text: "over NATS" }, headers: { "idempotency-key": key } });
    assert.equal(first.status, 201);
    const repeat = await call("POST", `/persons/${ZHANG}/notes`, { body: { text: "over NATS" }, headers: { "idempotency-key": key } });
    assert.deepEqual(repeat.body, first.body);
    assert.equal(repeat.headers["idempotent-replayed"], "true");
  });
});

describe("catalogue.call's refusals, as typed errors", () => {
  test("no token: HUB_ERR_UNAUTHENTICATED 401, with its challenge in data.headers", async () => {
    const err = await refused(broker.call("catalogue.call", { service: SERVICE, method: "GET", path: "/status" }), "HUB_ERR_UNAUTHENTICATED", 401);
    assert.match(err.data?.headers?.["WWW-Authenticate"] ?? "", /^Bearer /);
  });

  test("a purpose the right does not allow, or none: HUB_ERR_FORBIDDEN 403", async () => {
    await refused(call("GET", `/persons/${ZHANG}`, { headers: { "data-purpose": "supervision" } }), "HUB_ERR_FORBIDDEN", 403);
    await refused(call("GET", `/persons/${ZHANG}`, { headers: { "data-purpose": "" } }), "HUB_ERR_FORBIDDEN", 403);
  });

  test("a body breaking the document: HUB_ERR_REQUEST_INVALID 400 with data.errors pointers", async () => {
    const err = await refused(call("POST", `/persons/${ZHANG}/notes`, { body: { text: "x".repeat(201) } }), "HUB_ERR_REQUEST_INVALID", 400);
    assert.deepEqual(
      err.data?.errors?.map((e) => [e.in, e.pointer]),
      [["body", "/text"]],
    );
  });

  test("a query breaking the document, even with a ? in its value: 400, as over REST", async () => {
    const err = await refused(call("GET", `/persons/${ZHANG}?fields=name?x`), "HUB_ERR_REQUEST_INVALID", 400);
    assert.deepEqual(
      err.data?.errors?.map((e) => [e.in, e.pointer]),
      [["query", "/fields"]],
    );
  });

  test("an unknown service, a path or a method the document lacks: 404, 404, 405 with Allow", async () => {
    await refused(broker.call("catalogue.call", { service: `${SERVICE}x`, method: "GET", path: "/status", headers }), "HUB_ERR_SERVICE_NOT_FOUND", 404);
    await refused(call("GET", "/nowhere"), "HUB_ERR_ROUTE_NOT_FOUND", 404);
    const err = await refused(call("DELETE", "/status"), "HUB_ERR_ROUTE_METHOD", 405);
    assert.equal(err.data?.headers?.Allow, "GET");
  });

  test("a path that could reach outside the service: 400", async () => {
    for (const path of ["/persons/../status", "/persons/%2e%2e/status", "//status", "/persons%2fx", "/persons/x%5c.."])
      assert.match((await refused(call("GET", path), "HUB_ERR_REQUEST_INVALID", 400)).message, /^The path /, path);
  });

  test("a header with CR or LF, which REST cannot carry: 400, nothing forwarded", async () => {
    for (const value of ["a\r\nInjected: b", "a\nb", "a\rb"])
      await refused(call("GET", "/status", { headers: { "x-note": value } }), "HUB_ERR_REQUEST_INVALID", 400);
    await refused(call("GET", "/status", { headers: { "x-bad name": "a" } }), "HUB_ERR_REQUEST_INVALID", 400);
  });
});
