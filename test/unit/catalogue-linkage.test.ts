/**
 * Catalogue services in linkages, the pure parts: `x-linkage` in a provider's document (what
 * the hub takes, what it refuses, with the pointer) and which failed calls of the generic
 * catalogue activity Temporal may repeat.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import YAML from "yaml";
import { readServiceDocument } from "../../catalogue/document";
import { HubError } from "../../platform/errors";
import { isFinal } from "../../workflows/activities/catalogue";
import { ADDRESS_BOOK_DOCUMENT } from "../support/address-book";

type Doc = { paths: Record<string, Record<string, Record<string, unknown>>> };
const book = () => YAML.parse(ADDRESS_BOOK_DOCUMENT("Address book")) as Doc;
const read = (doc: Doc) => readServiceDocument(JSON.stringify(doc));
const AT = "/paths/~1address-changes/post/x-linkage";

function problems(doc: Doc): { pointer: string; detail: string }[] {
  try {
    read(doc);
  } catch (e) {
    assert.ok(e instanceof HubError);
    return (e.data as { errors: { pointer: string; detail: string }[] }).errors;
  }
  return assert.fail("the document was taken");
}

test("an operation marked x-linkage: address-change is read with its linkage; the others have none", () => {
  const ops = read(book()).operations;
  assert.deepEqual(
    ops.map((o) => [o.method, o.path, o.linkage]),
    [
      ["POST", "/address-changes", "address-change"],
      ["GET", "/patrons", undefined],
    ],
  );
});

test("x-linkage naming no linkage the hub runs, or not a string, is refused at its pointer", () => {
  for (const value of ["moving-house", 42]) {
    const doc = book();
    doc.paths["/address-changes"]!.post!["x-linkage"] = value;
    assert.match(problems(doc).find((p) => p.pointer === AT)!.detail, /names no linkage the hub runs; known: address-change/);
  }
});

test("an x-linkage operation the hub could not call from the linkage's data alone is refused", () => {
  const onGet = book();
  onGet.paths["/patrons"]!.get!["x-linkage"] = "address-change";
  delete onGet.paths["/address-changes"]!.post!["x-linkage"];
  assert.match(problems(onGet).find((p) => p.pointer === "/paths/~1patrons/get/x-linkage")!.detail, /marks a GET/);

  const needsQuery = book();
  needsQuery.paths["/address-changes"]!.post!.parameters = [{ name: "office", in: "query", required: true, schema: { type: "string" } }];
  assert.match(problems(needsQuery).find((p) => p.pointer === AT)!.detail, /needs the query parameter "office"/);

  const noJson = book();
  noJson.paths["/address-changes"]!.post!.requestBody = { content: { "text/plain": { schema: { type: "string" } } } };
  assert.ok(problems(noJson).some((p) => p.pointer === AT && /no JSON request body/.test(p.detail)));
});

test("two operations for the same linkage in one document are refused: the hub would have to guess", () => {
  const doc = book();
  doc.paths["/moves"] = { put: { ...doc.paths["/address-changes"]!.post!, operationId: "moved" } };
  assert.match(problems(doc).find((p) => p.pointer === "/paths/~1moves/put/x-linkage")!.detail, /POST \/address-changes takes part in address-change already/);
});

test("the generic activity: refusals and unsafe calls without a key are final; safe or keyed calls are repeated on technical failures", () => {
  const unavailable = { code: 503, type: "HUB_ERR_AGENCY_UNAVAILABLE" };
  const keyed = { "Idempotency-Key": "k-1" };
  assert.equal(isFinal({ method: "POST" }, unavailable), true);
  assert.equal(isFinal({ method: "POST", headers: keyed }, unavailable), false);
  assert.equal(isFinal({ method: "GET" }, unavailable), false);
  assert.equal(isFinal({ method: "GET" }, { code: 504, type: "HUB_ERR_AGENCY_TIMEOUT" }), false);
  assert.equal(isFinal({ method: "GET" }, { code: 403, type: "HUB_ERR_SERVICE_DISABLED" }), true);
  assert.equal(isFinal({ method: "GET" }, { code: 403, type: "HUB_ERR_FORBIDDEN" }), true);
  assert.equal(isFinal({ method: "POST", headers: keyed }, { code: 400, type: "HUB_ERR_REQUEST_INVALID" }), true);
  assert.equal(isFinal({ method: "GET" }, { code: 502, type: "HUB_ERR_PROVIDER_ADDRESS" }), true);
  // "Later", not "no"; and a call that never left (no catalogue node yet) may go again, whatever its method.
  assert.equal(isFinal({ method: "GET" }, { code: 429, type: "HUB_ERR_QUOTA_EXCEEDED" }), false);
  assert.equal(isFinal({ method: "POST" }, { code: 404, type: "SERVICE_NOT_FOUND" }), false);
});
