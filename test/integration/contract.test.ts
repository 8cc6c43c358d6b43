/**
 * The gateway serves exactly the contract: every documented operation answers its own
 * examples as documented, nothing undocumented is served, malformed requests (thousands,
 * generated from the schemas) get 4xx problem+json and never a 5xx, and a caller over
 * NATS meets the same validation as one over REST.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceBroker } from "moleculer";
import { operations, type Operation } from "../../contracts";
import { clusterEnv, startNode, type TestNode, callerBroker } from "../support/hub";
import { assertDocumented, assertProblem } from "../support/contract";
import { allowedMethods } from "../../gateway/operations";
import { malformedBodies, unparsableRequests, type BadRequest } from "../support/malformed";
import { ensureTestPartner } from "../support/partner";

const OPS = operations();
const env = clusterEnv();
let node: TestNode;
let api: string;

before(async () => {
  node = await startNode("all", env);
  api = node.url;
  // The token example's client: the documented test partner, with the example's secret.
  await ensureTestPartner();
});
after(async () => node?.stop());

type Examples = Record<string, { value: unknown }>;
const FORM = "application/x-www-form-urlencoded";
/** The media type an operation's examples are sent in: JSON, or the form of the token endpoint. */
const exampleMediaType = (op: Operation) => (op.requestBody?.content[FORM] ? FORM : "application/json");
const requestExamples = (op: Operation): Examples => (op.requestBody?.content[exampleMediaType(op)] as { examples?: Examples } | undefined)?.examples ?? {};
const encode = (op: Operation, value: unknown) =>
  exampleMediaType(op) === FORM ? new URLSearchParams(value as Record<string, string>).toString() : JSON.stringify(value);
const takesJson = (op: Operation) => Boolean(op.requestBody?.content["application/json"]);

function examplePath(op: Operation): string {
  return op.path.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const p = op.parameters.find((x) => x.name === name) as { example?: unknown; examples?: Examples } | undefined;
    const value = p?.example ?? Object.values(p?.examples ?? {})[0]?.value;
    assert.ok(value !== undefined, `${op.operationId}: path parameter ${name} has no example`);
    return encodeURIComponent(String(value));
  });
}

/** The path parameters' examples, by name. */
function pathExamples(op: Operation): Record<string, unknown> {
  const params = op.parameters.filter((x) => x.in === "path") as { name: string; example?: unknown; examples?: Examples }[];
  return Object.fromEntries(params.map((p) => [p.name, p.example ?? Object.values(p.examples ?? {})[0]?.value]));
}

/** `?name=value&...` from the query parameters' examples (required ones must have one). */
function exampleQuery(op: Operation): string {
  const query = new URLSearchParams();
  for (const p of op.parameters.filter((x) => x.in === "query") as (Operation["parameters"][number] & { example?: unknown; examples?: Examples })[]) {
    const value = p.example ?? Object.values(p.examples ?? {})[0]?.value;
    if (p.required) assert.ok(value !== undefined, `${op.operationId}: query parameter ${p.name} has no example`);
    if (value !== undefined) query.set(p.name, String(value));
  }
  return query.size ? `?${query}` : "";
}

function send(method: string, path: string, body?: string, contentType = "application/json"): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined && contentType) headers["content-type"] = contentType;
  return fetch(api + path, { method, headers, body });
}

describe("documented operations", () => {
  test("every operation has request examples where it takes a body, and response examples", () => {
    for (const op of OPS) {
      if (op.requestBody) assert.ok(Object.keys(requestExamples(op)).length > 0, `${op.operationId} has no request example`);
      const success = Object.entries(op.responses).find(([s]) => /^2/.test(s))![1];
      const hasExample = Object.values(success.content ?? {}).some((m) => m.examples && Object.keys(m.examples).length);
      if (!op.operationId.startsWith("api.docs")) assert.ok(hasExample, `${op.operationId} has no response example`);
    }
  });

  test("every example, sent as written (twice), gets a documented 2xx answer (or its documented 409) valid against its schema", async () => {
    for (const op of OPS) {
      const bodies = op.requestBody ? Object.entries(requestExamples(op)) : [["(no body)", { value: undefined }] as const];
      for (const [name, example] of bodies)
        for (const round of [1, 2]) {
          const res = await send(
            op.method,
            examplePath(op) + exampleQuery(op),
            example.value === undefined ? undefined : encode(op, example.value),
            exampleMediaType(op),
          );
          const what = `${op.operationId} example ${name}, round ${round}`;
          // Where the operation documents a 409, the resource's state decides (a signal to an ended linkage).
          assert.match(String(res.status), "409" in op.responses ? /^(2..|409)$/ : /^2/, `${what}: ${res.status}`);
          await assertDocumented(op, res, what);
        }
    }
  });
});

describe("nothing undocumented is served", () => {
  test("unknown paths are 404 problem+json", async () => {
    for (const path of [
      "/",
      "/v1",
      "/v2/identity-verifications",
      "/v1/identity-verifications/x",
      "/v1/linkage",
      "/v1/linkages/a/b",
      "/docs/x/y",
      "/api/v1/identity-verifications",
      "/%2e%2e/etc/passwd",
      "/v1/identity-verifications.json",
    ]) {
      const res = await fetch(api + path);
      assert.equal(res.status, 404, path);
      assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/, path);
      assertProblem(await res.json(), 404);
    }
  });

  test("other methods on documented paths are 405 with Allow", async () => {
    for (const op of OPS) {
      const path = examplePath(op);
      // A concrete path may match several templates (/v1/linkages/eid-issuances and /v1/linkages/{id}).
      const allowed = allowedMethods(path);
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"].filter((m) => !allowed.includes(m))) {
        const res = await fetch(api + path, { method });
        assert.equal(res.status, 405, `${method} ${path}`);
        assert.equal(res.headers.get("allow"), allowed.join(", "));
        assertProblem(await res.json(), 405);
      }
    }
  });

  test("a concrete path is not taken for a template, and OPTIONS never runs an action", async () => {
    const get = await fetch(`${api}/v1/linkages/eid-issuances`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    const options = await fetch(`${api}/v1/linkages/eid-issuances`, {
      method: "OPTIONS",
      headers: { "access-control-request-method": "POST", "content-type": "application/json" },
      body: JSON.stringify(Object.values(requestExamples(OPS.find((o) => o.operationId === "linkages.eidIssuance.start")!))[0]!.value),
    });
    assert.equal(options.status, 405);
    assert.equal(options.headers.get("location"), null);
  });

  test("HEAD is answered as GET, without a body", async () => {
    const res = await fetch(`${api}/healthz`, { method: "HEAD" });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "");
    assert.equal((await fetch(`${api}/v1/identity-verifications`, { method: "HEAD" })).status, 405);
  });
});

describe("malformed requests", () => {
  const withBodies = OPS.filter(takesJson);

  async function expectRefusal(op: Operation, bad: BadRequest, path = op.path): Promise<void> {
    const res = await send(op.method, path, bad.body, bad.contentType ?? "application/json");
    const what = `${op.operationId}: ${bad.why}: ${bad.body.slice(0, 80)}`;
    assert.ok(res.status >= 400 && res.status < 500, `${what} got ${res.status}`);
    assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/, what);
    assertProblem(await assertDocumented(op, res, what), res.status);
  }

  async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
    for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
  }

  test("thousands of schema-breaking bodies: 400 problem+json with a pointer per problem, never a 5xx", async () => {
    let sent = 0;
    for (const op of withBodies) {
      const example = Object.values(requestExamples(op))[0]!.value as Record<string, unknown>;
      const bad = malformedBodies(op, example, 1500, op.operationId.length);
      await inBatches(bad, 16, async (b) => {
        const res = await send(op.method, op.path, b.body);
        const what = `${op.operationId}: ${b.why}: ${b.body.slice(0, 80)}`;
        assert.equal(res.status, 400, `${what} got ${res.status}`);
        const problem = await res.json();
        assertProblem(problem, 400);
        assert.ok(Array.isArray(problem.errors) && problem.errors.length > 0, `${what}: no errors[]`);
        for (const e of problem.errors as { pointer: string; detail: string }[]) assert.match(e.pointer, /^(\/[^/]*)*$/, what);
        sent++;
      });
    }
    assert.ok(sent >= 2000, `only ${sent} malformed bodies`);
  });

  test("bad JSON, wrong media types and oversized bodies: 4xx problem+json", async () => {
    for (const op of withBodies) {
      const example = Object.values(requestExamples(op))[0]!.value as Record<string, unknown>;
      for (const bad of unparsableRequests(example)) await expectRefusal(op, bad);
    }
  });

  test("path parameters that break their schema: 400, and a well-formed unknown id: 404", async () => {
    const op = OPS.find((o) => o.operationId === "linkages.status.get")!;
    for (const id of ["x", "123", "not-a-uuid-at-all", "0f8fad5b-d9cb-469f-a165-70867728950", "%00", "' OR 1=1"]) {
      const res = await fetch(`${api}/v1/linkages/${encodeURIComponent(id)}`);
      assert.equal(res.status, 400, id);
      assertProblem(await assertDocumented(op, res), 400);
    }
    const res = await fetch(`${api}/v1/linkages/00000000-0000-4000-8000-000000000000`);
    assertProblem(await assertDocumented(op, res), 404);
  });
});

describe("over NATS", () => {
  let broker: ServiceBroker;
  before(async () => {
    broker = await callerBroker(env.HUB_NAMESPACE!, ["civil-registry", "linkages"], "contract-test");
  });
  after(async () => broker?.stop());

  test("the same bad params get the same validation errors as over REST, counted per action", async () => {
    const refused = new Map<string, number>();
    for (const op of OPS.filter(takesJson)) {
      const example = Object.values(requestExamples(op))[0]!.value as Record<string, unknown>;
      for (const bad of malformedBodies(op, example, 40, 7).filter((b) => b.body.startsWith("{"))) {
        // Over NATS the path's parameters travel with the body, as the gateway merges them.
        const params = { ...pathExamples(op), ...JSON.parse(bad.body) };
        const rest = (await (await send(op.method, examplePath(op), bad.body)).json()) as { errors: { pointer: string; detail: string }[] };
        const err = await broker.call(op.operationId, params).then(
          () => assert.fail(`${op.operationId} accepted ${bad.body} over NATS`),
          (e: { code: number; type: string; data: { errors: { pointer: string; detail: string }[] } }) => e,
        );
        assert.equal(err.code, 400);
        assert.equal(err.type, "HUB_ERR_REQUEST_INVALID");
        const strip = (list: { pointer: string; detail: string }[]) => list.map(({ pointer, detail }) => ({ pointer, detail }));
        assert.deepEqual(strip(err.data.errors), strip(rest.errors), `${op.operationId}: ${bad.body}`);
        refused.set(op.operationId, (refused.get(op.operationId) ?? 0) + 1);
      }
    }
    // The gateway refuses REST bodies before any action runs: the counter holds the NATS calls.
    const metrics = await (await fetch(`${api}/metrics`)).text();
    for (const [action, n] of refused) {
      const counted = Number(
        new RegExp(`^hub_contract_validation_failures_total\\{action="${action.replace(/\./g, "\\.")}",stage="params"\\} (\\d+)`, "m").exec(metrics)?.[1],
      );
      assert.equal(counted, n, `${action}: ${n} refused over NATS`);
    }
  });
});
