/** The built-in agencies' documents, cut from the contract: one operation each, complete on its own. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { builtinOperations, restRouteOf } from "../../catalogue/builtin-documents";
import { assertNotBuiltin } from "../../catalogue/builtin-services";
import { builtinServiceId } from "../../catalogue/builtin-ids";
import { readServiceDocument } from "../../catalogue/document";

const operations = builtinOperations("LOCAL");

test("each agency operation of the contract is one service, named by builtinServiceId", () => {
  assert.deepEqual(operations.map((o) => o.serviceId).sort(), [
    "LOCAL/GOV/civil-registry/hub/eid.verify",
    "LOCAL/GOV/civil-registry/hub/identity.verify",
    "LOCAL/GOV/civil-registry/hub/person.get",
    "LOCAL/GOV/emergency/hub/incident.get",
    "LOCAL/GOV/emergency/hub/incident.report",
    "LOCAL/GOV/flights/hub/reports.list",
    "LOCAL/GOV/flights/hub/reports.submit",
    "LOCAL/GOV/utilities/hub/account.lookup",
  ]);
  for (const o of operations) assert.equal(o.serviceId, builtinServiceId("LOCAL", o.operationId));
  const lookup = operations.find((o) => o.operationId === "utilities.account.lookup")!;
  assert.deepEqual([lookup.method, lookup.path, lookup.scope, lookup.personalData], ["GET", "/v1/utility-accounts", "utilities.read", true]);
});

test("each document is read as a registered one is, and holds only its own operation", () => {
  for (const o of operations) {
    const read = readServiceDocument(JSON.stringify(o.document));
    assert.deepEqual(
      read.operations.map((op) => `${op.method} ${op.path}`),
      [`${o.method} ${o.path}`],
    );
    // Components it does not use are left out: the utilities' document has no CAP alert.
    if (o.operationId === "utilities.account.lookup") assert.ok(!JSON.stringify(o.document).includes("CapAlert"));
  }
});

test("a response link to another operation is left out (it would point outside the document)", () => {
  const report = operations.find((o) => o.operationId === "emergency.incident.report")!;
  assert.ok(!JSON.stringify(report.document).includes('"operationId":"emergency.incident.get"'));
});

test("built-in ids cannot be changed by hand; others can; the REST route is named", () => {
  assert.throws(() => assertNotBuiltin("LOCAL/GOV/utilities/hub/account.lookup", "removed"), /from the hub's contract/);
  assert.throws(() => assertNotBuiltin("OTHER/GOV/emergency/hub/anything", "registered"), /built-in agency/);
  assertNotBuiltin("LOCAL/GOV/utilities/default/account.lookup", "removed");
  assertNotBuiltin("LOCAL/GOV/50000001/hub/persons", "removed");
  assert.equal(restRouteOf("emergency.incident.get"), "GET /v1/incidents/{id}");
  assert.equal(restRouteOf("emergency.nothing"), undefined);
});
