/** The catalogue's search and the page's wording of figures: pure logic, no stack. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { matches, pageOf, wordsOf, writeCursor } from "../../catalogue/catalogue-search";
import { escapeHtml, shownFigures } from "../../gateway/catalogue-page";
import { summarise } from "../../catalogue/catalogue-documents";
import { builtinAgencyOf, linkageEntries } from "../../catalogue/catalogue-entries";

const entry = (id: string, title: string, purposes: string[] = []) => ({ id, title, provider: { id: "LOCAL/GOV/1/reg", name: "Registry" }, purposes });

test("a search is plain words, all of them, case- and width-insensitive; metacharacters are text", () => {
  const e = entry("LOCAL/GOV/1/reg/persons", "Persons (a+)+$ 中文", ["identity-verification"]);
  assert.ok(matches(e, wordsOf("persons REGISTRY")));
  assert.ok(matches(e, wordsOf("ＰＥＲＳＯＮＳ")), "full-width letters fold to ASCII");
  assert.ok(matches(e, wordsOf("(a+)+$")), "a regex is looked for as written");
  assert.ok(!matches(e, wordsOf(".*")));
  assert.ok(matches(e, wordsOf("中文 identity")));
  assert.ok(!matches(e, wordsOf("persons العربية")));
  assert.ok(matches(e, wordsOf("   ")), "a blank search finds everything");
});

test("pages follow the cursor; a cursor of another search is refused", () => {
  const sorted = ["a", "b", "c"].map((id) => entry(id, id));
  const first = pageOf(sorted, [], 2);
  assert.deepEqual(
    first.items.map((e) => e.id),
    ["a", "b"],
  );
  assert.deepEqual(
    pageOf(sorted, [], 2, first.next!).items.map((e) => e.id),
    ["c"],
  );
  assert.equal(pageOf(sorted, [], 2, first.next!).next, null);
  assert.throws(() => pageOf(sorted, ["x"], 2, first.next!), /No such page/);
  assert.throws(() => pageOf(sorted, [], 2, "AAAA"), /No such page/);
  assert.deepEqual(pageOf(sorted, [], 2, writeCursor([], "c")).items, []);
});

test("figures: null is 'no data', never 0 % or 100 %; a real 0 and 1 are shown as such", () => {
  const none = { completion: { rate: null, completed: 0, total: 0 }, availability: { rate: null, ok: 0, probes: 0 }, latencyP95Ms: null };
  assert.deepEqual(shownFigures(none), { completion: "no data", availability: "no data", latency: "no data" });
  const some = { completion: { rate: 0, completed: 0, total: 4 }, availability: { rate: 1, ok: 12, probes: 12 }, latencyP95Ms: 87.4 };
  assert.deepEqual(shownFigures(some), { completion: "0.0 % (0 of 4)", availability: "100.0 % (12 of 12 probes)", latency: "87 ms" });
});

test("escapeHtml leaves no markup", () => {
  assert.equal(escapeHtml(`<script>"x" & 'y'</script>`), "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;");
});

test("a document's description, summaries and declared purposes; the built-in agencies told by their subsystem", () => {
  const doc = summarise(`openapi: 3.0.3
info: { title: T, version: "1", description: "Finds <people>", contact: { name: Population office } }
x-purposes: [identity-verification]
paths:
  /a: { get: { summary: Read A, x-purposes: [civil-registration], responses: { "200": { description: ok } } } }
  /b: { post: { operationId: writeB, responses: { "200": { description: ok } } } }
`);
  assert.equal(doc.description, "Finds <people>");
  assert.equal(doc.contactName, "Population office");
  assert.deepEqual(doc.purposes, ["civil-registration", "identity-verification"]);
  assert.deepEqual(
    [...doc.summaries],
    [
      ["GET /a", "Read A"],
      ["POST /b", "writeB"],
    ],
  );
  assert.equal(builtinAgencyOf("LOCAL/GOV/civil-registry/hub", "LOCAL"), "civil-registry");
  assert.equal(builtinAgencyOf("LOCAL/GOV/civil-registry/default", "LOCAL"), undefined);
  assert.equal(builtinAgencyOf("OTHER/GOV/utilities/hub", "LOCAL"), undefined);
});

test("every linkage type of the contract is listed, provided by the hub, with its operations", () => {
  const listed = linkageEntries();
  assert.ok(listed.length >= 4);
  for (const e of listed) {
    assert.match(e.id, /^linkage\//);
    assert.equal(e.provider.id, "hub");
    assert.ok(
      e.operations.some((o) => o.path === "/v1/linkages/{id}"),
      e.id,
    );
  }
  const eid = listed.find((e) => e.id === "linkage/eid-issuance")!;
  assert.deepEqual(eid.purposes, ["civil-registration"]);
  assert.ok(eid.operations.some((o) => o.method === "POST" && o.path === "/v1/linkages/eid-issuances" && o.summary.length > 0));
});
