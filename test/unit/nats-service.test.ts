/**
 * The NATS service's pure parts: how a message maps to REST's path, query and body (and the
 * text its Request-Hash covers), the rule that keeps that mapping unambiguous, the schemas its
 * endpoints name, and the bench's load loop's arithmetic.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { byOperationId, OPERATIONS } from "../../gateway/operations";
import { fieldParameters, natsParts, queryString } from "../../gateway/nats-request";
import { ENDPOINT_SCHEMAS, endpointMetadata } from "../../gateway/nats-endpoints";
import { endpointName } from "../../gateway/nats-service";
import { openapi } from "../../contracts";
import { inFlightLoop, loadFigures } from "../../ops/bench/nats-load";

const op = (id: string) => byOperationId.get(id)!;
const bytes = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));
const PARTNER_OPERATIONS = OPERATIONS.filter((c) => !c.op.operationId.startsWith("api."));

test("an operation without parameters takes the message as its body, byte for byte", () => {
  const sent = '{ "idNumber": "110101199003074514",  "name": "张三" }';
  const parts = natsParts(op("civil-registry.identity.verify"), bytes(sent));
  assert.deepEqual(parts.body, { idNumber: "110101199003074514", name: "张三" });
  assert.equal(parts.bodyBytes.toString(), sent);
  assert.equal(parts.target, "/v1/identity-verifications");
  assert.deepEqual([parts.pathParams, parts.query], [{}, {}]);
});

test("path and query parameters are fields; the rest is the body, hashed as its JSON", () => {
  const signal = natsParts(op("linkages.signal"), bytes({ id: "a b/c", signal: "all-clear" }));
  assert.deepEqual(signal.pathParams, { id: "a b/c" });
  assert.deepEqual(signal.body, { signal: "all-clear" });
  assert.equal(signal.path, "/v1/linkages/a%20b%2Fc/signals");
  assert.equal(signal.bodyBytes.toString(), '{"signal":"all-clear"}');
  const list = natsParts(op("linkages.list"), bytes({ status: "RUNNING", limit: "5" }));
  assert.deepEqual(list.query, { status: "RUNNING", limit: 5 }, "text is read as REST reads a query");
  assert.equal(list.target, "/v1/linkages?status=RUNNING&limit=5");
  assert.equal(list.body, undefined);
  assert.equal(list.bodyBytes.length, 0);
  assert.deepEqual(natsParts(op("linkages.list"), bytes({ limit: 5 })).query, { limit: 5 });
  assert.deepEqual(natsParts(op("linkages.list"), bytes({ other: 1 })).body, { other: 1 }, "an unknown field is a body, which the contract refuses");
});

test("an operation without a body takes {} or nothing as none; one that requires a body gets {} checked", () => {
  for (const sent of ["", "{}", "  "]) assert.equal(natsParts(op("catalogue.services.list"), bytes(sent)).body, undefined);
  const id = "00000000-0000-4000-8000-000000000000";
  const parts = natsParts(op("linkages.signal"), bytes({ id }));
  assert.deepEqual(parts.body, {});
  assert.deepEqual(op("linkages.signal").validate({ path: parts.pathParams, query: parts.query, body: parts.body }), [
    { in: "body", pointer: "/signal", detail: "must have required property 'signal'" },
  ]);
});

test("too large and not JSON are REST's 413 and 400", () => {
  const compiled = op("civil-registry.identity.verify");
  assert.throws(() => natsParts(compiled, Buffer.alloc(compiled.maxBodyBytes + 1, 32)), { type: "HUB_ERR_REQUEST_TOO_LARGE" });
  assert.throws(() => natsParts(compiled, bytes("{nope")), { type: "HUB_ERR_REQUEST_MALFORMED" });
});

test("a query list repeats its name; other values are JSON", () => {
  assert.equal(queryString({ a: ["1", "2"], b: 3, c: "x y" }), "a=1&a=2&b=3&c=x+y");
});

test("no body property of an operation shares a name with its path or query parameters (the message would be ambiguous)", () => {
  const components = (openapi.components as { schemas: Record<string, { properties?: object }> }).schemas;
  const clashes: string[] = [];
  for (const compiled of PARTNER_OPERATIONS) {
    const body = compiled.op.requestBody?.content["application/json"]?.schema as { $ref?: string; properties?: object } | undefined;
    if (!body) continue;
    const component = body.$ref ? components[body.$ref.replace("#/components/schemas/", "")] : undefined;
    const properties = new Set([...Object.keys(component?.properties ?? {}), ...Object.keys(body.properties ?? {})]);
    for (const p of fieldParameters(compiled)) if (properties.has(p.name)) clashes.push(`${compiled.op.operationId}: ${p.name}`);
  }
  assert.deepEqual(clashes, []);
});

test("every partner operation has an endpoint name NATS takes, schemas that compile, and pointers into the contract", () => {
  const ajv = new Ajv2020({ strict: false });
  addFormats(ajv);
  ajv.addFormat("resident-id", true).addFormat("e164", true);
  for (const id of [...PARTNER_OPERATIONS.map((c) => c.op.operationId), "catalogue.call"]) {
    assert.match(endpointName(id), /^[-\w]+$/);
    const schemas = ENDPOINT_SCHEMAS.get(id)!;
    assert.doesNotThrow(() => ajv.compile(schemas.request), id);
    assert.doesNotThrow(() => ajv.compile(schemas.response), id);
    for (const pointer of Object.values(schemas.pointers).filter((p) => p !== undefined)) assert.notEqual(resolve(pointer), undefined, `${id}: ${pointer}`);
  }
  assert.deepEqual(endpointMetadata(op("linkages.signal")), {
    operation: "linkages.signal",
    rest: "POST /v1/linkages/{id}/signals",
    parameters: "id",
    request_schema: "#/paths/~1v1~1linkages~1{id}~1signals/post/requestBody/content/application~1json/schema",
    response_schema: "#/components/schemas/Linkage",
  });
  const signal = ajv.compile(ENDPOINT_SCHEMAS.get("linkages.signal")!.request);
  const id = "00000000-0000-4000-8000-000000000000";
  assert.ok(signal({ id, signal: "all-clear" }), JSON.stringify(signal.errors));
  assert.ok(!signal({ signal: "all-clear" }) && !signal({ id, signal: "all-clear", extra: 1 }));
});

/** A JSON pointer (`#/...`) into the bundled contract. */
function resolve(pointer: string): unknown {
  return pointer
    .slice(2)
    .split("/")
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce<unknown>((at, token) => (at as Record<string, unknown> | undefined)?.[token], openapi);
}

test("the bench's figures: answers per second over the run, quantiles of every answer", () => {
  const f = loadFigures([4, 1, 3, 2, 10], 1, 2000, 32);
  assert.deepEqual(f, { connections: 32, requests: 5, failed: 1, perSecond: 2.5, p50Ms: 3, p99Ms: 10 });
  assert.deepEqual(loadFigures([], 0, 1000, 1), { connections: 1, requests: 0, failed: 0, perSecond: 0, p50Ms: NaN, p99Ms: NaN });
});

test("the bench's loop keeps exactly N requests in flight until the time is up, and counts each answer", async () => {
  let clock = 0;
  let inFlight = 0;
  let most = 0;
  let sent = 0;
  const send = async () => {
    inFlight++;
    sent++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setImmediate(r));
    clock += 1; // every answer moves the clock 1 ms
    inFlight--;
    return { ms: 2, ok: sent % 10 !== 0 };
  };
  const f = await inFlightLoop(send, 4, 0.1, () => clock);
  assert.equal(most, 4);
  assert.equal(f.requests, sent);
  assert.equal(f.failed, Math.floor(sent / 10));
  assert.ok(sent >= 100 && sent < 104, `${sent} requests: the lanes stop once 100 ms have passed`);
  assert.equal(f.perSecond, Math.round((sent / clock) * 10_000) / 10);
  assert.equal(f.p50Ms, 2);
});
