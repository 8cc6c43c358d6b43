/**
 * The built-in agencies in the catalogue: the civil registry, emergency services and utilities
 * are provider subsystems whose services are their operations in the contract, listed by the
 * directory with each one's part of the contract as a document of its own; a partner calling
 * them over REST needs, besides the token's scope, an access right on the service, with the
 * purposes it may state; migration 007 gave existing partners the rights their scopes gave them.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openapi } from "../../contracts";
import { readServiceDocument } from "../../catalogue/document";
import { syncBuiltinServices } from "../../catalogue/builtin-services";
import { isObject, tokensOf, valueAt } from "../../catalogue/json-pointer";
import { migrate, openDb } from "../../platform/db";
import { HUB_MIGRATIONS, migrateHub } from "../../hub/schema";
import { clusterEnv, json, startNode, type TestNode } from "../support/hub";
import { addPartner } from "../../partners/registry";
import { rawFetch, suiteDb } from "../support/partner";
import { closeSuiteDb, granted, ownPartner, problemOf, PROVIDER_SUBSYSTEM, type OwnPartner } from "../support/catalogue";
import { createScratchDatabase } from "../support/scratch-db";

const ROOT = path.join(__dirname, "../..");
const AGENCIES: Record<string, string[]> = {
  "civil-registry": ["eid.verify", "identity.verify", "person.get"],
  emergency: ["incident.get", "incident.report"],
  utilities: ["account.lookup"],
  flights: ["reports.list", "reports.submit"],
};
const LOOKUP = "LOCAL/GOV/utilities/hub/account.lookup";
const INCIDENT = "LOCAL/GOV/emergency/hub/incident.get";
const ACCOUNTS = "/v1/utility-accounts?postcode=250014&street=%E9%9D%92%E5%B9%B4%E8%B7%AF170%E5%8F%B7";

let hub: TestNode;
let partner: OwnPartner;

const as = (p: OwnPartner, purpose = "utility-service") => ({ authorization: `Bearer ${p.token}`, "data-purpose": purpose });
const revoked = (client: string, service: string) =>
  fetch(`${hub.url}/v1/catalogue/access-revocations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ client, service }),
  });

before(async () => {
  [hub, partner] = await Promise.all([startNode("api,utilities,emergency", clusterEnv()), ownPartner("builtin")]);
});

after(async () => {
  await hub?.stop();
  await closeSuiteDb();
});

/** Every `$ref` in `doc`, each of which must point inside it. */
function unresolvedRefs(doc: unknown): string[] {
  const missing: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!isObject(node)) return;
    if (typeof node.$ref === "string" && (!node.$ref.startsWith("#") || valueAt(doc, tokensOf(node.$ref.slice(1))) === undefined)) missing.push(node.$ref);
    Object.values(node).forEach(walk);
  };
  walk(doc);
  return missing;
}

describe("the directory lists the built-in agencies", () => {
  test("listClients names the built-in agencies' subsystems (the hub's drone flight reports among them)", async () => {
    const answer = await json(await fetch(`${hub.url}/listClients`));
    const members = answer.member as { name: string; id: { memberClass: string; memberCode: string; applicationCode: string } }[];
    for (const agency of Object.keys(AGENCIES)) {
      const found = members.find((m) => m.id.memberCode === agency && m.id.applicationCode === "hub" && m.id.memberClass === "GOV");
      assert.ok(found, `${agency} is listed`);
      assert.equal(found.name, agency);
    }
  });

  test("listMethods lists each agency's operations as its services, with the contract's method and path", async () => {
    const operations = Object.entries(openapi.paths as Record<string, Record<string, { operationId?: string }>>).flatMap(([p, item]) =>
      Object.entries(item).map(([method, op]) => ({ id: op?.operationId, endpoint: `${method.toUpperCase()} ${p}` })),
    );
    for (const [agency, codes] of Object.entries(AGENCIES)) {
      const answer = await json(await fetch(`${hub.url}/r1/LOCAL/GOV/${agency}/hub/listMethods`));
      const services = answer.member as { serviceCode: string; serviceVersion: string; endpointList: { member: { method: string; path: string }[] } }[];
      assert.deepEqual(services.map((s) => s.serviceCode).sort(), codes);
      for (const s of services) {
        const expected = operations.find((o) => o.id === `${agency}.${s.serviceCode}`)!.endpoint;
        assert.deepEqual(
          s.endpointList.member.map((e) => `${e.method} ${e.path}`),
          [expected],
        );
        assert.equal(s.serviceVersion, (openapi.info as { version: string }).version);
      }
    }
  });

  test("getOpenAPI answers each service's part of the contract, a valid document on its own", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "builtin-docs-"));
    for (const [agency, codes] of Object.entries(AGENCIES))
      for (const code of codes) {
        const doc = await json(await fetch(`${hub.url}/r1/LOCAL/GOV/${agency}/hub/getOpenAPI?serviceCode=${code}`));
        assert.deepEqual(unresolvedRefs(doc), [], `${agency}/${code}: every $ref resolves inside the document`);
        // Read as any registered document is read: the hub's own checks and rules.
        const read = readServiceDocument(JSON.stringify(doc));
        assert.equal(read.operations.length, 1);
        assert.equal(read.operations[0]!.operationId, `${agency}.${code}`);
        assert.equal(read.version, (openapi.info as { version: string }).version);
        assert.ok((doc.info as { description?: string }).description, "a description");
        assert.deepEqual(doc.servers, openapi.servers, "servers: the hub");
        assert.ok((doc.components as { securitySchemes?: object }).securitySchemes, "its security scheme");
        fs.writeFileSync(path.join(dir, `${agency}.${code}.json`), JSON.stringify(doc));
      }
    // And by a standard validator: Redocly, with the rules the contract itself is linted by.
    const files = fs.readdirSync(dir).map((f) => path.join(dir, f));
    execFileSync(path.join(ROOT, "node_modules/.bin/redocly"), ["lint", "--config", path.join(ROOT, "redocly.yaml"), "--format=summary", ...files], {
      cwd: ROOT,
      stdio: "pipe",
    });
    fs.rmSync(dir, { recursive: true });
  });
});

describe("their services come from the contract", () => {
  test("services add, update, disable and remove refuse a built-in id: 403 saying so", async () => {
    const [instance, memberClass, memberCode, subsystemCode, serviceCode] = LOOKUP.split("/");
    const doc = JSON.stringify({ openapi: "3.0.3", info: { title: "x", version: "1" }, paths: {} });
    const add = await fetch(`${hub.url}/v1/catalogue/services`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ instance, memberClass, memberCode, subsystemCode, serviceCode: "other", baseUrl: "http://127.0.0.1:9", openapi: doc }),
    });
    assert.match((await problemOf(add, 403)).detail, /built-in agency.*contract/);
    const base = `${hub.url}/v1/catalogue/services/${LOOKUP}`;
    for (const [method, suffix, body] of [
      ["PUT", "", JSON.stringify({ openapi: doc })],
      ["POST", "/disable", undefined],
      ["DELETE", "", undefined],
    ] as const) {
      const res = await fetch(base + suffix, { method, headers: body ? { "content-type": "application/json" } : {}, body });
      assert.match((await problemOf(res, 403)).detail, new RegExp(`${serviceCode}.*contract`), `${method} ${suffix}`);
    }
    const still = await json(await fetch(`${hub.url}/r1/LOCAL/GOV/utilities/hub/listMethods`));
    assert.equal((still.member as unknown[]).length, 1, "the service is still there");
    const shown = await json(await fetch(base));
    assert.deepEqual([shown.builtin, shown.disabled], [true, false], "shown as built in");
  });

  test("gateways starting at once write the documents from the contract, each row once, whatever was there", async () => {
    const db = await suiteDb();
    await db.query("UPDATE hub.catalogue_service SET document = '{}', title = 'stale' WHERE id = $1", [LOOKUP]);
    await Promise.all([1, 2, 3].map(() => syncBuiltinServices(db, "LOCAL")));
    const rows = await db.query<{ id: string; title: string; document: string }>(
      "SELECT id, title, document FROM hub.catalogue_service WHERE builtin ORDER BY id",
    );
    assert.equal(rows.length, 8);
    const lookup = rows.find((r) => r.id === LOOKUP)!;
    assert.equal(lookup.title, "Utility accounts at an address");
    assert.equal(readServiceDocument(lookup.document).operations[0]!.operationId, "utilities.account.lookup");
  });

  test("a mediated call to a built-in service is refused, naming the operation's own REST path", async () => {
    const res = await fetch(`${hub.url}/r1/${LOOKUP}/v1/utility-accounts?postcode=250014&street=x`, {
      headers: { "x-govstack-client": partner.subsystem, ...as(partner) },
    });
    assert.match((await problemOf(res, 404)).detail, /GET \/v1\/utility-accounts/);
  });
});

describe("grants apply to them over REST", () => {
  test("a new partner is granted what its scopes cover, at creation", async () => {
    const res = await rawFetch(`${hub.url}${ACCOUNTS}`, { headers: as(partner) });
    assert.equal(res.status, 200, await res.text());
  });

  test("no partner may take one of the hub's own subsystems, whose grants are the hub's", async () => {
    for (const subsystem of ["LOCAL/GOV/civil-registry/hub", "LOCAL/GOV/linkages/hub"])
      await assert.rejects(addPartner(await suiteDb(), { id: `squatter-${Date.now()}`, subsystem, scopes: [], purposes: [] }), /reserved for the hub's own/);
  });

  test("with the scope but without the grant: 403 naming the service; granted: allowed; revoked: refused again, and audited", async () => {
    const other = await ownPartner("builtin-grant");
    assert.equal((await revoked(other.subsystem, LOOKUP)).status, 200);
    const refused = await problemOf(await rawFetch(`${hub.url}${ACCOUNTS}`, { headers: as(other) }), 403);
    assert.match(refused.detail, new RegExp(`${LOOKUP}.*access grant --client ${other.subsystem}`));
    await granted(hub.url, other.subsystem, LOOKUP, ["utility-service"]);
    assert.equal((await rawFetch(`${hub.url}${ACCOUNTS}`, { headers: as(other) })).status, 200);
    assert.equal((await revoked(other.subsystem, LOOKUP)).status, 200);
    await problemOf(await rawFetch(`${hub.url}${ACCOUNTS}`, { headers: as(other) }), 403);
    // A non-personal operation too: without the right, refused before the agency is asked.
    assert.equal((await revoked(other.subsystem, INCIDENT)).status, 200);
    const incident = await problemOf(await rawFetch(`${hub.url}/v1/incidents/757dfa26-8602-5ce9-a1d0-eb61ebc87ffa`, { headers: as(other) }), 403);
    assert.match(incident.detail, new RegExp(INCIDENT));
    const db = await suiteDb();
    const audited = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM hub.audit_record WHERE record->>'partnerId' = $1 AND record->>'outcome' = 'HUB_ERR_FORBIDDEN'",
      [other.id],
    );
    assert.equal(audited[0]!.n, 3, "each refusal is in the audit log");
  });

  test("the purposes are the grant's: one it names passes, another is refused", async () => {
    const other = await ownPartner("builtin-purpose");
    await granted(hub.url, other.subsystem, LOOKUP, ["emergency-response"]);
    assert.equal((await rawFetch(`${hub.url}${ACCOUNTS}`, { headers: as(other, "emergency-response") })).status, 200);
    const refused = await problemOf(await rawFetch(`${hub.url}${ACCOUNTS}`, { headers: as(other, "utility-service") }), 403);
    assert.match(refused.detail, /Data-Purpose utility-service is not a legal basis granted/);
    await granted(hub.url, other.subsystem, LOOKUP, ["all"]);
    assert.equal((await rawFetch(`${hub.url}${ACCOUNTS}`, { headers: as(other, "supervision") })).status, 200);
  });
});

test("migration 007 gives an existing partner the rights its scopes gave it", async () => {
  const scratch = await createScratchDatabase();
  const db = await openDb({ url: scratch.url, pgliteDir: "" });
  const upTo006 = fs.mkdtempSync(path.join(os.tmpdir(), "migrations-006-"));
  try {
    for (const f of fs.readdirSync(HUB_MIGRATIONS).filter((f) => f.endsWith(".sql") && f < "007"))
      fs.copyFileSync(path.join(HUB_MIGRATIONS, f), path.join(upTo006, f));
    await migrate(db, "hub", upTo006, { instance: "LOCAL" });
    await db.query(
      `INSERT INTO hub.partner (id, name, scopes, purposes, quota, quota_window_s, secret_hash, subsystem)
       VALUES ('old', 'Old partner', '{identity.verify,incidents.read,linkages.read}', '{identity-verification}', 10, 60, 'x', 'LOCAL/GOV/old/default'),
              ('none', 'No agency', '{linkages.read}', '{}', 10, 60, 'x', 'LOCAL/GOV/none/default')`,
    );
    assert.ok((await migrateHub(db, "LOCAL")).includes("007_builtin_services.sql"));
    const grants = await db.query<{ client: string; service_id: string; method: string; purposes: string[] }>(
      "SELECT client, service_id, method, purposes FROM hub.catalogue_grant ORDER BY service_id",
    );
    assert.deepEqual(grants, [
      { client: "LOCAL/GOV/old/default", service_id: "LOCAL/GOV/civil-registry/hub/identity.verify", method: "*", purposes: ["identity-verification"] },
      { client: "LOCAL/GOV/old/default", service_id: "LOCAL/GOV/emergency/hub/incident.get", method: "*", purposes: ["*"] },
    ]);
    const rows = await db.query<{ id: string }>("SELECT id FROM hub.catalogue_service WHERE builtin ORDER BY id");
    assert.equal(rows.length, 5);
  } finally {
    await db.close();
    fs.rmSync(upTo006, { recursive: true });
    await scratch.drop();
  }
});

// The provider subsystem the other catalogue tests use is not an agency's.
assert.notEqual(PROVIDER_SUBSYSTEM.split("/")[3], "hub");
