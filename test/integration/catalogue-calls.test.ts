/**
 * A mediated call checked against the provider's document before it is forwarded (path,
 * method, the path's own safety, headers, body size, body and query), and the provider's
 * answer checked after: one that never comes, one without end, one outside the document, a
 * 5xx, a redirect. Counted per service and outcome in /metrics, never per path value.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { MEDIATED_MAX_BODY_BYTES } from "../../gateway/mediated";
import { MAX_ANSWER_BYTES } from "../../catalogue/forward";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { suiteToken } from "../support/partner";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, problemOf, rawBytes, rawRequest, registered, SUITE_CLIENT, ZHANG } from "../support/catalogue";

const env = clusterEnv();
const TIMEOUT_MS = 500;
let hub: TestNode;
let provider: Provider;
let SERVICE: string;
/** The same document at the same provider, with a short timeout: where the provider misbehaves. */
let SHAKY: string;
/** The document without its 302. */
let STRICT: string;

const VERIFY = { "data-purpose": "identity-verification" };
const call = (path: string, init: RequestInit = {}, service = SERVICE) => fetch(`${hub.url}/r1/${service}${path}`, init);
const misbehave = (how: string) => call(`/misbehave/${how}`, { redirect: "manual" }, SHAKY);

before(async () => {
  [provider, hub] = await Promise.all([startProvider(), startNode("api", env)]);
  SERVICE = await registered(hub.url, { code: freshCode("persons"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT });
  SHAKY = await registered(hub.url, { code: freshCode("shaky"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT, timeoutMs: TIMEOUT_MS });
  await granted(hub.url, SUITE_CLIENT, SERVICE, ["identity-verification"]);
  await granted(hub.url, SUITE_CLIENT, SHAKY, ["all"], ["GET /misbehave/{how}", "GET /status"]);
  const undeclared = PERSONS_DOCUMENT.replace('        "302": { description: Elsewhere }\n', "");
  assert.notEqual(undeclared, PERSONS_DOCUMENT);
  STRICT = await registered(hub.url, { code: freshCode("strict"), baseUrl: provider.url, openapi: undeclared });
  await granted(hub.url, SUITE_CLIENT, STRICT, ["all"], ["GET /misbehave/{how}"]);
});

after(async () => {
  await hub?.stop();
  await provider?.close();
  await closeSuiteDb();
});

/** The refusal, as problem+json with `status` and `code`, checked to leave the provider uncalled. */
async function refused(res: Promise<Response>, status: number, code: string) {
  const before = provider.received.length;
  const problem = await problemOf(await res, status);
  assert.equal(problem.code, code, problem.detail);
  assert.equal(provider.received.length, before, "the provider was called");
  return problem;
}

describe("the request, checked against the provider's document", () => {
  test("a path the document lacks: 404", async () => {
    await refused(call("/nowhere"), 404, "HUB_ERR_ROUTE_NOT_FOUND");
    await refused(call(`/persons/${ZHANG}/notes/1`), 404, "HUB_ERR_ROUTE_NOT_FOUND");
  });

  test("a method it lacks: 405 with Allow", async () => {
    const res = await call("/status", { method: "DELETE" });
    assert.equal(res.headers.get("allow"), "GET");
    await refused(Promise.resolve(res), 405, "HUB_ERR_ROUTE_METHOD");
  });

  test("a body breaking the document: 400 with a pointer to each problem", async () => {
    const res = call(`/persons/${ZHANG}/notes`, { method: "POST", headers: { ...VERIFY, "content-type": "application/json" }, body: '{"text":5,"extra":1}' });
    const problem = await refused(res, 400, "HUB_ERR_REQUEST_INVALID");
    const pointers = problem.errors?.map((e) => `${e.in} ${e.pointer}`) ?? [];
    assert.ok(pointers.includes("body /text"), JSON.stringify(problem.errors));
    assert.ok(pointers.some((p) => p.startsWith("body ")) && pointers.length >= 2, JSON.stringify(problem.errors));
  });

  test("a body that is not JSON: 400", async () => {
    const res = call(`/persons/${ZHANG}/notes`, { method: "POST", headers: { ...VERIFY, "content-type": "application/json" }, body: "{text" });
    await refused(res, 400, "HUB_ERR_REQUEST_MALFORMED");
  });

  test("a query or a path parameter breaking the document: 400 with its pointer", async () => {
    const query = await refused(call(`/persons/${ZHANG}?fields=everything`, { headers: VERIFY }), 400, "HUB_ERR_REQUEST_INVALID");
    assert.deepEqual(
      query.errors?.map((e) => [e.in, e.pointer]),
      [["query", "/fields"]],
    );
    const path = await refused(call("/persons/12345", { headers: VERIFY }), 400, "HUB_ERR_REQUEST_INVALID");
    assert.deepEqual(
      path.errors?.map((e) => [e.in, e.pointer]),
      [["path", "/idNumber"]],
    );
  });

  test("a body over the limit: 413, unread past it", async () => {
    const body = JSON.stringify({ text: "x".repeat(MEDIATED_MAX_BODY_BYTES) });
    await refused(
      call(`/persons/${ZHANG}/notes`, { method: "POST", headers: { ...VERIFY, "content-type": "application/json" }, body }),
      413,
      "HUB_ERR_REQUEST_TOO_LARGE",
    );
  });
});

describe("a path that could reach outside the service", () => {
  const paths = [
    "/persons/../status",
    "/persons/%2e%2e/status",
    "/persons/%2E%2e",
    "/misbehave/..",
    "/persons/./x",
    "//status",
    "/persons//notes",
    `/persons%2f${ZHANG}`,
    "/persons/x%5c..%5cstatus",
    "/persons/x\\..\\status",
    "/status%00",
  ];
  for (const path of paths)
    test(`${path}: 400, not forwarded`, async () => {
      const before = provider.received.length;
      const res = await rawRequest(hub.url, "GET", `/r1/${SERVICE}${path}`, { authorization: `Bearer ${await suiteToken()}`, ...VERIFY });
      assert.equal(res.status, 400, res.body);
      const problem = JSON.parse(res.body) as { code: string; detail: string };
      assert.equal(problem.code, "HUB_ERR_REQUEST_INVALID");
      // Refused as a path (routes.ts safeSegments), not merely as a value the document does not take.
      assert.match(problem.detail, /^The path /);
      assert.equal(provider.received.length, before);
    });

  test("malformed percent-encoding, in the path or the service id: 400, not 500", async () => {
    const token = { authorization: `Bearer ${await suiteToken()}` };
    const inPath = await rawRequest(hub.url, "GET", `/r1/${SERVICE}/persons/%E0%A4%A`, { ...token, ...VERIFY });
    assert.equal(inPath.status, 400, inPath.body);
    const inId = await rawRequest(hub.url, "GET", `/r1/${SERVICE.replace("population-registry", "population%E0%A4%A")}/status`, token);
    assert.equal(inId.status, 400, inId.body);
  });
});

describe("a header with CR or LF in it, sent as raw bytes", () => {
  for (const [name, header] of [
    ["CR", "X-Note: a\rInjected: b"],
    ["LF", "X-Note: a\nInjected: b"],
    ["obsolete line folding", "X-Note: a\r\n Injected: b"],
  ])
    test(`${name}: 400, and nothing forwarded`, async () => {
      const before = provider.received.length;
      const token = await suiteToken();
      const status = await rawBytes(
        hub.url,
        `GET /r1/${SERVICE}/status HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer ${token}\r\n${header}\r\nConnection: close\r\n\r\n`,
      );
      assert.match(status, /^HTTP\/1\.1 400 /);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(provider.received.length, before);
    });
});

describe("the provider's answer", () => {
  test("one that never comes: 504 after the service's timeout", async () => {
    const started = performance.now();
    const problem = await problemOf(await misbehave("hang"), 504);
    const took = performance.now() - started;
    assert.equal(problem.code, "HUB_ERR_AGENCY_TIMEOUT");
    assert.ok(took >= TIMEOUT_MS - 20 && took < TIMEOUT_MS + 1500, `${Math.round(took)} ms`);
    assert.equal(problem.agency, SHAKY);
  });

  test(`one without end: 502, cut at ${MAX_ANSWER_BYTES} bytes`, async () => {
    const problem = await problemOf(await misbehave("endless"), 502);
    assert.equal(problem.code, "HUB_ERR_AGENCY_BAD_ANSWER");
    assert.match(problem.detail, new RegExp(`more than ${MAX_ANSWER_BYTES} bytes`));
  });

  test("one breaking its own document: 502 naming the service and the pointer", async () => {
    const problem = await problemOf(await misbehave("broken"), 502);
    assert.equal(problem.code, "HUB_ERR_AGENCY_BAD_ANSWER");
    assert.equal(problem.agency, SHAKY);
    assert.match(problem.detail, new RegExp(`${SHAKY} answered outside its own document: /ok `));
  });

  test("a 5xx: 503", async () => {
    const problem = await problemOf(await misbehave("fail"), 503);
    assert.equal(problem.code, "HUB_ERR_AGENCY_UNAVAILABLE");
    assert.match(problem.detail, /answered 503/);
  });

  test("a redirect the document declares: passed on as the provider sent it, never followed by the hub", async () => {
    const res = await misbehave("redirect");
    assert.equal(res.status, 302);
    assert.equal(res.headers.get("location"), `${provider.url}/trap`);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!provider.received.some((r) => r.url.startsWith("/trap")), "the hub followed the redirect");
  });

  test("a redirect the document does not declare: 502, not followed either", async () => {
    const problem = await problemOf(await call("/misbehave/redirect", { redirect: "manual" }, STRICT), 502);
    assert.equal(problem.code, "HUB_ERR_AGENCY_BAD_ANSWER");
    assert.equal(problem.agency, STRICT);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!provider.received.some((r) => r.url.startsWith("/trap")), "the hub followed the redirect");
  });
});

describe("/metrics", () => {
  const count = (text: string, outcome: string) =>
    Number(new RegExp(`^hub_catalogue_calls_total\\{service="${SHAKY}",outcome="${outcome}"\\} (\\d+)`, "m").exec(text)?.[1] ?? NaN);

  test("counts calls per service and outcome (ok, refused, timeout, bad_answer, unavailable); no series carries an id number", async () => {
    const before = await (await fetch(`${hub.url}/metrics`)).text();
    assert.equal((await call("/status", {}, SHAKY)).status, 200);
    assert.equal((await call(`/persons/${ZHANG}`, { headers: VERIFY }, SHAKY)).status, 403);
    assert.equal((await misbehave("hang")).status, 504);
    assert.equal((await misbehave("broken")).status, 502);
    assert.equal((await misbehave("fail")).status, 503);
    const now = await (await fetch(`${hub.url}/metrics`)).text();
    for (const outcome of ["ok", "refused", "timeout", "bad_answer", "unavailable"]) assert.equal(count(now, outcome) - count(before, outcome), 1, outcome);
    assert.ok(!now.includes(ZHANG));
    const labels = [...now.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!);
    assert.deepEqual(
      labels.filter((l) => /\d{15,}/.test(l)),
      [],
    );
  });
});
