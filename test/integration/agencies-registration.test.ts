/**
 * The catalogue agencies in the catalogue: the test harness (ops/test.ts) registered both, as
 * `npm start` does, and granted them to the hub's linkages subsystem for event-safety;
 * registering again writes nothing, a changed document is an update; and a call through the
 * hub for a linkage without partner (the hub's linkages subsystem) reaches each sandbox,
 * mediated against the agency's document.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, startNode, type TestNode } from "../support/hub";
import { closeSuiteDb } from "../support/catalogue";
import { suiteDb } from "../support/partner";
import { hubLinkageSubsystem } from "../../catalogue/linkage-client";
import { nameBasedUuid } from "../../platform/ids";
import { agencyDocument, agencyServiceId, AGENCY_PURPOSE, registerAgencies } from "../../ops/stack/agencies";
import type { components } from "../../contracts/generated/types";

type Schemas = components["schemas"];

const HUB_CLIENT = hubLinkageSubsystem("LOCAL");
const POLICE = agencyServiceId("public-security", "LOCAL");
const FIRE = agencyServiceId("fire-safety", "LOCAL");
const AVIATION = agencyServiceId("aviation", "LOCAL");
const env: NodeJS.ProcessEnv = clusterEnv();
let node: TestNode;
let broker: ServiceBroker;

before(async () => {
  node = await startNode("api", env);
  broker = await callerBroker(env.HUB_NAMESPACE!, ["catalogue"]);
});
after(async () => {
  await broker?.stop();
  await node?.stop();
  await closeSuiteDb();
});

const show = (id: string) => broker.call<Schemas["CatalogueService"], object>("catalogue.services.show", { ...partsOf(id) });
function partsOf(id: string) {
  const [instance, memberClass, memberCode, subsystemCode, serviceCode] = id.split("/");
  return { instance, memberClass, memberCode, subsystemCode, serviceCode };
}
/** Registration as the stacks do it, with this test's cluster. */
const register = (documents = {}) => registerAgencies({ ...process.env, ...env }, documents);

test("after the harness's start the agencies are in the catalogue at their sandboxes' URLs, granted to the hub's linkages for their purposes", async () => {
  const police = await show(POLICE);
  const fire = await show(FIRE);
  assert.equal(police.baseUrl, process.env.PUBLIC_SECURITY_URL);
  assert.equal(fire.baseUrl, process.env.FIRE_SAFETY_URL);
  assert.deepEqual(
    police.methods.map((m) => `${m.method} ${m.path}`),
    [
      "POST /security-reviews",
      "GET /security-reviews/{reviewId}",
      "POST /security-reviews/{reviewId}/documents",
      "GET /key-places",
      "POST /key-places",
      "GET /key-places/{placeId}",
      "POST /key-places/{placeId}/closure",
      "GET /units",
      "POST /dispatches",
      "GET /dispatches/{dispatchId}",
      "POST /dispatches/{dispatchId}/release",
    ],
  );
  assert.equal(fire.title, "Fire safety - venue inspections");
  for (const service of [POLICE, FIRE]) {
    const { grants } = await broker.call<Schemas["AccessGrantList"], object>("catalogue.access.list", { client: HUB_CLIENT, service });
    assert.deepEqual(
      grants.map((g) => [g.method, g.path, g.purposes]),
      [["*", "*", [AGENCY_PURPOSE]]],
    );
  }
  const aviation = await show(AVIATION);
  assert.equal(aviation.baseUrl, process.env.AVIATION_URL);
  assert.deepEqual(
    aviation.methods.map((m) => `${m.method} ${m.path}`),
    ["GET /operators/{idNumber}", "GET /drones", "GET /drones/{registrationNo}", "GET /no-fly-zones", "GET /no-fly-zones/{zoneId}"],
  );
  const { grants } = await broker.call<Schemas["AccessGrantList"], object>("catalogue.access.list", { client: HUB_CLIENT, service: AVIATION });
  assert.deepEqual(
    grants.map((g) => [g.method, g.path, g.purposes]),
    [["*", "*", ["aviation-safety"]]],
  );
});

test("registering again changes nothing (updated_at unchanged); a changed document is an update, and the project's own is put back", async () => {
  const before = [await show(POLICE), await show(FIRE)];
  const again = await register();
  assert.deepEqual(
    again.map((r) => [r.agency, r.change, r.granted]),
    [
      ["public-security", "unchanged", false],
      ["fire-safety", "unchanged", false],
      ["aviation", "unchanged", false],
    ],
  );
  assert.deepEqual([(await show(POLICE)).updatedAt, (await show(FIRE)).updatedAt], [before[0]!.updatedAt, before[1]!.updatedAt]);

  const changed = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agency-doc-")), "openapi.yaml");
  fs.writeFileSync(changed, fs.readFileSync(agencyDocument("fire-safety"), "utf8").replace(/^ {2}version: 1\.0\.0$/m, "  version: 1.0.1"));
  try {
    const updated = await register({ "fire-safety": changed });
    assert.deepEqual(
      updated.map((r) => r.change),
      ["unchanged", "updated", "unchanged"],
    );
    assert.equal((await show(FIRE)).version, "1.0.1");
    assert.equal((await show(POLICE)).updatedAt, before[0]!.updatedAt);
  } finally {
    const restored = await register();
    assert.deepEqual(
      restored.map((r) => r.change),
      ["unchanged", "updated", "unchanged"],
    );
  }
  assert.equal((await show(FIRE)).version, "1.0.0");
  // The grant survives an update of the document (it names every operation).
  const { grants } = await broker.call<Schemas["AccessGrantList"], object>("catalogue.access.list", { client: HUB_CLIENT, service: FIRE });
  assert.equal(grants.length, 1);
});

test("a registration adds no Ctrl-C handler to the process: npm start's own stops what it started", async () => {
  const baseline = process.listenerCount("SIGINT");
  let most = baseline;
  const watch = setInterval(() => (most = Math.max(most, process.listenerCount("SIGINT"))), 1);
  try {
    await register();
  } finally {
    clearInterval(watch);
  }
  assert.equal(most, baseline, "the registration's broker took SIGINT (Moleculer exits the process on it)");
});

test("a grant taken back is granted again; a sandbox at a new base URL is registered there, and moved back", async () => {
  await broker.call("catalogue.access.revoke", { client: HUB_CLIENT, service: POLICE });
  const regranted = await register();
  assert.deepEqual(
    regranted.map((r) => [r.change, r.granted]),
    [
      ["unchanged", true],
      ["unchanged", false],
      ["unchanged", false],
    ],
  );
  const elsewhere = "http://127.0.0.1:9";
  try {
    const moved = await registerAgencies({ ...process.env, ...env, FIRE_SAFETY_URL: elsewhere });
    assert.deepEqual(
      moved.map((r) => [r.change, r.granted]),
      [
        ["unchanged", false],
        ["moved", true],
        ["unchanged", false],
      ],
    );
    assert.equal((await show(FIRE)).baseUrl, elsewhere);
  } finally {
    const back = await register();
    assert.deepEqual(
      back.map((r) => r.change),
      ["unchanged", "moved", "unchanged"],
    );
  }
  assert.equal((await show(FIRE)).baseUrl, process.env.FIRE_SAFETY_URL);
  const { grants } = await broker.call<Schemas["AccessGrantList"], object>("catalogue.access.list", { client: HUB_CLIENT, service: FIRE });
  assert.deepEqual(
    grants.map((g) => g.purposes),
    [[AGENCY_PURPOSE]],
  );
});

/** A linkage the hub knows, without partner: its calls are the hub's linkages subsystem's. */
async function partnerlessLinkage(): Promise<string> {
  const workflowId = `address-change-notification:AGENCIES-${randomUUID()}`;
  const id = nameBasedUuid(workflowId);
  await (
    await suiteDb()
  ).query("INSERT INTO hub.linkage (id, type, business_key, workflow_id, partner_id) VALUES ($1, $2, $3, $4, NULL)", [
    id,
    "address-change-notification",
    workflowId.slice(workflowId.indexOf(":") + 1),
    workflowId,
  ]);
  return id;
}

test("a catalogue call for the hub's linkages subsystem reaches each sandbox, checked against the agency's document", async () => {
  const linkageId = await partnerlessLinkage();
  const call = (params: object) => broker.call<Schemas["CatalogueCallResult"], object>("catalogue.linkageCall", { linkageId, ...params });

  const venue = await call({ service: FIRE, method: "GET", path: "/venues/VEN-0001" });
  assert.equal(venue.status, 200);
  assert.deepEqual([(venue.body as { name: string }).name, (venue.body as { capacity: number }).capacity], ["City Stadium", 40000]);

  const review = await call({
    service: POLICE,
    method: "POST",
    path: "/security-reviews",
    headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
    body: {
      reference: `PA-REG-${Date.now()}`,
      venueId: "VEN-0001",
      eventName: "Registration check",
      start: "2030-07-04T18:00:00+08:00",
      end: "2030-07-04T23:00:00+08:00",
      expectedAttendance: 30000,
      documents: [{ name: "security-plan", reference: "DOC-SP-REG" }],
    },
  });
  assert.equal(review.status, 201, JSON.stringify(review.body));
  assert.deepEqual([(review.body as { decision: string }).decision, (review.body as { maxCapacity: number }).maxCapacity], ["APPROVED", 30000]);

  // A key place registered, listed and closed, each answer within the document.
  const keyed = (body: object) => ({ headers: { "content-type": "application/json", "idempotency-key": randomUUID() }, body });
  const opened = await call({
    service: POLICE,
    method: "POST",
    path: "/key-places",
    ...keyed({
      reference: `PERMIT-REG-${Date.now()}`,
      kind: "event",
      name: "Registration check at Harbour Arena",
      venueId: "VEN-0005",
      capacity: 10000,
      area: {
        type: "Polygon",
        coordinates: [
          [
            [121.515, 31.245],
            [121.518, 31.245],
            [121.518, 31.247],
            [121.515, 31.247],
            [121.515, 31.245],
          ],
        ],
      },
      opensAt: "2030-08-01T18:00:00+08:00",
      closesAt: "2030-08-01T22:00:00+08:00",
    }),
  });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  const placeId = (opened.body as { placeId: string }).placeId;
  const listed = await call({ service: POLICE, method: "GET", path: `/key-places?status=OPEN&at=${encodeURIComponent("2030-08-01T20:00:00+08:00")}` });
  assert.ok((listed.body as { keyPlaces: { placeId: string }[] }).keyPlaces.some((p) => p.placeId === placeId));
  const closed = await call({ service: POLICE, method: "POST", path: `/key-places/${placeId}/closure`, ...keyed({ reason: "Registration check over" }) });
  assert.deepEqual([closed.status, (closed.body as { status: string }).status], [200, "CLOSED"]);

  // The sandbox's refusal comes back as its problem, within the document (not a 502).
  const unknown = await call({ service: FIRE, method: "GET", path: "/venues/VEN-0999" });
  assert.equal(unknown.status, 404);
  assert.equal((unknown.body as { code: string }).code, "NOT_FOUND");

  const [audited] = await (
    await suiteDb()
  ).query<{ record: { partnerId: string; outcome: string } }>(
    "SELECT record FROM hub.audit_record WHERE record->>'linkageId' = $1 AND record->>'operation' = $2 ORDER BY seq DESC LIMIT 1",
    [linkageId, `catalogue:${POLICE}:POST /security-reviews`],
  );
  assert.deepEqual([audited?.record.partnerId, audited?.record.outcome], ["hub:linkages", "OK"]);

  // The aviation authority's operators are personal data: read for aviation-safety, audited with their subject; without a purpose, refused.
  const operator = await call({ service: AVIATION, method: "GET", path: "/operators/370102198307059794", headers: { "data-purpose": "aviation-safety" } });
  assert.equal(operator.status, 200, JSON.stringify(operator.body));
  assert.deepEqual((operator.body as { licenceClass: string }).licenceClass, "B");
  await assert.rejects(call({ service: AVIATION, method: "GET", path: "/operators/370102198307059794", headers: { "data-purpose": "event-safety" } }));
  const zones = await call({ service: AVIATION, method: "GET", path: "/no-fly-zones" });
  assert.ok((zones.body as { zones: { zoneId: string }[] }).zones.some((z) => z.zoneId === "NFZ-ZSSS"));
});
