/**
 * Registering a service over REST, refused as problem+json: a document that is invalid, too
 * large, an alias bomb, one referring outside itself, personal data without x-subject; a base
 * URL the hub must never call; a reserved service code; a grant for a method the document
 * lacks. Also the address guard at call time, on what a name resolves to (guardedLookup,
 * with a fake resolver: this machine has no clean way to make a name resolve to a
 * link-local address; the hub's own port under the name localhost: catalogue-cluster.test.ts).
 */
import { after, before, describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import dns from "node:dns";
import { guardedLookup } from "../../catalogue/address-guard";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, problemOf, registered, registerService, SUITE_CLIENT } from "../support/catalogue";

const env = clusterEnv();
let hub: TestNode;
let provider: Provider;

/** A small valid document, as JSON, for each test to break in one place. */
const small = () => ({
  openapi: "3.0.3",
  info: { title: "Status", version: "1.0.0" },
  paths: {
    "/status": { get: { responses: { "200": { description: "Up", content: { "application/json": { schema: { type: "object" } } } } } } },
  } as Record<string, unknown>,
});
const SCHEMA = "/paths/~1status/get/responses/200/content/application~1json/schema";
const withSchema = (schema: unknown) => {
  const doc = small();
  (doc.paths["/status"] as { get: { responses: { "200": { content: { "application/json": { schema: unknown } } } } } }).get.responses["200"].content[
    "application/json"
  ].schema = schema;
  return JSON.stringify(doc);
};
const register = (openapi: string, baseUrl = provider.url, code = freshCode("reg")) => registerService(hub.url, { code, baseUrl, openapi });
const pointers = (p: { errors?: { pointer: string }[] }) => p.errors?.map((e) => e.pointer) ?? [];

before(async () => {
  [provider, hub] = await Promise.all([startProvider(), startNode("api", env)]);
});

after(async () => {
  await hub?.stop();
  await provider?.close();
  await closeSuiteDb();
});

describe("a document the hub refuses", () => {
  test("a valid one is taken (the baseline the others break)", async () => {
    assert.equal((await register(JSON.stringify(small()))).status, 201);
  });

  test("an invalid document: 422 naming the JSON pointer", async () => {
    const problem = await problemOf(await register(withSchema({ type: "objekt" })), 422);
    assert.equal(problem.code, "HUB_ERR_REQUEST_UNPROCESSABLE");
    assert.ok(pointers(problem).includes(`${SCHEMA}/type`), JSON.stringify(problem.errors));
  });

  test("one over 2 MiB, counted in bytes: 413", async () => {
    // 1.1 million two-byte characters: over 2 MiB of UTF-8 though fewer characters.
    const doc = { ...small(), "x-padding": "é".repeat(1_100_000) };
    const problem = await problemOf(await register(JSON.stringify(doc)), 413);
    assert.equal(problem.code, "HUB_ERR_REQUEST_TOO_LARGE");
    assert.match(problem.detail, /at most 2097152/);
  });

  test("one over 2 MiB of plain ASCII: 413", async () => {
    const doc = { ...small(), "x-padding": "x".repeat(2 * 1024 * 1024) };
    const problem = await problemOf(await register(JSON.stringify(doc)), 413);
    assert.equal(problem.code, "HUB_ERR_REQUEST_TOO_LARGE");
  });

  test("a YAML alias bomb: refused within a second, not expanded", async () => {
    let bomb = 'openapi: 3.0.3\nlol0: &lol0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i <= 9; i++)
      bomb += `lol${i}: &lol${i} [${Array(10)
        .fill(`*lol${i - 1}`)
        .join(",")}]\n`;
    const started = performance.now();
    const problem = await problemOf(await register(bomb), 422);
    assert.ok(performance.now() - started < 1000, `${Math.round(performance.now() - started)} ms`);
    assert.match(problem.detail, /YAML aliases beyond the limit/);
  });

  for (const ref of ["https://schemas.example.org/person.json", "file:///etc/passwd", "./person.yaml#/Person"])
    test(`a $ref outside the document (${ref}): 422 at the $ref`, async () => {
      const problem = await problemOf(await register(withSchema({ $ref: ref })), 422);
      assert.deepEqual(pointers(problem), [`${SCHEMA}/$ref`]);
      assert.match(problem.detail, /remote reference|another file/);
    });

  test("an x-personal-data operation without x-subject: 422 at the operation", async () => {
    const doc = small();
    doc.paths["/persons/{id}"] = {
      get: {
        "x-personal-data": true,
        parameters: [{ name: "id", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "The person" } },
      },
    };
    const problem = await problemOf(await register(JSON.stringify(doc)), 422);
    assert.deepEqual(pointers(problem), ["/paths/~1persons~1{id}/get"]);
    assert.match(problem.detail, /x-subject/);
  });
});

describe("a base URL the hub must never call: 422 (400 where the contract already refuses it)", () => {
  const forbidden = () => [
    "http://169.254.169.254",
    "http://169.254.169.254/latest/meta-data",
    "http://0.0.0.0:8080",
    "http://0:8080",
    "http://224.0.0.1",
    "http://[fe80::1]:8080",
    "http://[::ffff:169.254.169.254]",
    "http://[::]:8080",
    `http://127.0.0.1:${new URL(hub.url).port}`,
    `http://localhost:${new URL(hub.url).port}`,
    "ftp://127.0.0.1/files",
    "http://user:secret@127.0.0.1:4000",
  ];
  test("link-local, unspecified, multicast, the hub's own port (by address or name), other schemes, credentials", async () => {
    for (const baseUrl of forbidden()) {
      const res = await register(PERSONS_DOCUMENT, baseUrl);
      assert.equal(res.status, baseUrl.startsWith("ftp:") ? 400 : 422, `${baseUrl}: ${await res.clone().text()}`);
    }
  });
});

describe("names the hub refuses", () => {
  test("a reserved service code (listMethods, allowedMethods, getOpenAPI): 400", async () => {
    for (const code of ["listMethods", "allowedMethods", "getOpenAPI"]) {
      const problem = await problemOf(await register(PERSONS_DOCUMENT, provider.url, code), 400);
      assert.equal(problem.code, "HUB_ERR_REQUEST_INVALID", code);
    }
  });

  test("a grant for a method the document lacks: 422 naming it", async () => {
    const service = await registered(hub.url, { code: freshCode("grant"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT });
    const res = await fetch(`${hub.url}/v1/catalogue/access-grants`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client: SUITE_CLIENT, service, purposes: ["all"], methods: ["GET /status", "DELETE /persons/{idNumber}"] }),
    });
    const problem = await problemOf(res, 422);
    assert.deepEqual(pointers(problem), ["/methods/1"]);
    assert.match(problem.detail, /has no DELETE \/persons\/\{idNumber\}/);
    await granted(hub.url, SUITE_CLIENT, service, ["all"], ["GET /status"]);
  });
});

describe("the address a name resolves to, checked as the connection is made (guardedLookup, a fake resolver)", () => {
  type Answer = { address: string; family: number }[];
  /** What guardedLookup answers for `hostname` when the resolver gives `answer`. */
  function lookUp(answer: Answer, ownPorts: number[] = [], port = 80, all = false) {
    const fake = mock.method(dns, "lookup", (_host: string, _options: unknown, callback: (err: null, list: Answer) => void) => callback(null, answer));
    try {
      return new Promise<{ err: Error | null; address: unknown }>((resolve) =>
        guardedLookup(port, ownPorts)("provider.example", { all }, (err: Error | null, address: unknown) => resolve({ err, address })),
      );
    } finally {
      fake.mock.restore();
    }
  }

  test("a name resolving to a link-local, unspecified or multicast address is refused, even among allowed ones", async () => {
    for (const address of ["169.254.169.254", "0.0.0.0", "224.0.0.1", "fe80::1", "::ffff:169.254.169.254", "::"]) {
      const { err } = await lookUp([{ address, family: address.includes(":") ? 6 : 4 }]);
      assert.match(String(err), /resolves to/, address);
    }
    const { err } = await lookUp(
      [
        { address: "10.0.0.8", family: 4 },
        { address: "169.254.169.254", family: 4 },
      ],
      [],
      80,
      true,
    );
    assert.match(String(err), /resolves to 169\.254\.169\.254/);
  });

  test("a name resolving to loopback on the hub's own port is refused; on another port, or elsewhere, it is taken", async () => {
    assert.match(String((await lookUp([{ address: "127.0.0.1", family: 4 }], [8080], 8080)).err), /is the hub itself/);
    assert.deepEqual(await lookUp([{ address: "127.0.0.1", family: 4 }], [8080], 9090), { err: null, address: "127.0.0.1" });
    assert.deepEqual(await lookUp([{ address: "10.0.0.8", family: 4 }], [8080], 8080, true), { err: null, address: [{ address: "10.0.0.8", family: 4 }] });
  });
});
