/**
 * Drone flight reports on the real stack: a hub node (all roles, flights among them), NATS,
 * PostgreSQL, and the sandboxes over HTTP (civil registry for the operator's identity, the
 * aviation authority for operators, drones and no-fly zones, public security for key places).
 * The contract's examples as written; an airport refusing, touching edges included; an event
 * area (a key place registered at public security, announced by `permits.key-place.opened`)
 * refusing during the event and not after; every bad input; the events (the report id, never the
 * operator), the audit record and the metrics. Times are far in the future, on a day of this
 * run's own, so earlier runs on the same database do not meet them.
 */
import { after, before, describe, test } from "node:test";
import http from "node:http";
import { Webhook } from "standardwebhooks";
import assert from "node:assert/strict";
import { randomInt, randomUUID } from "node:crypto";
import type { components } from "../../contracts/generated/types";
import { openapi } from "../../contracts";
import { figuresOf } from "../../catalogue/figures";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { createEvent, type CloudEvent } from "../../platform/events/envelope";
import { loadConfig } from "../../platform/config";
import { addPartner } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { clusterEnv, freePort, startNode, type TestNode } from "../support/hub";
import { rawFetch, suiteDb } from "../support/partner";
import { eventually } from "../support/permits";

type Schemas = components["schemas"];
type Report = Schemas["FlightReport"];
type Json = Record<string, unknown>;

const OPERATOR = { idNumber: "370102198307059794", name: "马涛" };
const DRONE = "UA-2026-000001";
/** Midnight UTC of a day of this run's own, in 2098-2099. */
const DAY = Date.UTC(2098, 0, 1) + randomInt(0, 700) * 86_400_000;
const at = (hours: number) => new Date(DAY + hours * 3_600_000).toISOString();
const square = (w: number, s: number, e: number, n: number) => ({
  type: "Polygon",
  coordinates: [
    [
      [w, s],
      [e, s],
      [e, n],
      [w, n],
      [w, s],
    ],
  ],
});
/** Century Park, clear of every zone and venue. */
const CLEAR = { type: "Point", coordinates: [121.551, 31.216], radiusM: 500 };
const HARBOUR_ARENA = square(121.515, 31.245, 121.518, 31.247);
const report = (over: Json = {}) => ({ operator: OPERATOR, droneRegistration: DRONE, area: CLEAR, maxAltitudeM: 120, start: at(10), end: at(12), ...over });

let hub: TestNode;
let bus: EventBus;
let headers: Record<string, string>;
let partnerId: string;
let webhookSecret: string;
let receiver: http.Server;
/** What the partner's webhook received: each body as sent, with its headers. */
const hooks: { body: string; headers: http.IncomingHttpHeaders }[] = [];

before(async () => {
  hub = await startNode("all", { ...clusterEnv(), FLIGHTS_SYNC_MS: "3000", HUB_FIGURES_FLUSH_MS: "500" });
  bus = await connectBus(process.env.NATS_URL!, `flights-test-${process.pid}`);
  const scopes = ["flights.report", "flights.read"];
  const port = await freePort();
  receiver = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      hooks.push({ body, headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(port, "127.0.0.1", resolve));
  partnerId = `drone-maker-${randomUUID().slice(0, 8)}`;
  const made = await addPartner(await suiteDb(), { id: partnerId, scopes, purposes: ["aviation-safety"], webhookUrl: `http://127.0.0.1:${port}/hooks` });
  webhookSecret = made.webhookSecret!;
  const { access_token } = await issueToken(await suiteDb(), loadConfig({}), { partnerId, scopes });
  headers = { authorization: `Bearer ${access_token}`, "data-purpose": "aviation-safety", "content-type": "application/json" };
  // The no-fly zones are read once the agencies are in the catalogue: until then a report is a 503.
  await eventually(
    () => submit(report()),
    (r) => r.status === 200,
    30_000,
  );
});
after(async () => {
  await bus?.nc.close();
  await hub?.stop();
  receiver?.close();
});

async function submit(body: unknown, extra: Record<string, string> = {}): Promise<{ status: number; body: Json }> {
  const res = await rawFetch(`${hub.url}/v1/flight-reports`, {
    method: "POST",
    headers: { ...headers, "idempotency-key": randomUUID(), ...extra },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}
async function answered(body: unknown): Promise<Report> {
  const r = await submit(body);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body as unknown as Report;
}
function problem(r: { status: number; body: Json }, status: number, pointer: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const errors = (r.body.errors ?? []) as { pointer: string }[];
  assert.ok(
    errors.some((e) => e.pointer === pointer),
    `${pointer} named in ${JSON.stringify(r.body)}`,
  );
}

/** The events of one report on EVENTS. */
async function eventsOf(reportId: string): Promise<CloudEvent[]> {
  const consumer = await bus.js.consumers.get("EVENTS", { filterSubjects: ["events.flights.>"] });
  const info = await consumer.info(true);
  const seen: CloudEvent[] = [];
  if (info.num_pending === 0) return seen;
  for await (const m of await consumer.fetch({ max_messages: info.num_pending, expires: 2000 })) {
    const event = m.json<CloudEvent>();
    if (event.subject === reportId) seen.push(event);
    if (m.info.pending === 0) break;
  }
  return seen;
}

/** A key place of kind event at public security's sandbox, announced as a permit announces it. */
async function openEventArea(area: Json, opensAt: string, closesAt: string): Promise<string> {
  const res = await rawFetch(`${process.env.PUBLIC_SECURITY_URL}/key-places`, {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
    body: JSON.stringify({
      reference: `PERMIT-FL-${randomUUID().slice(0, 8)}`,
      kind: "event",
      name: "Drone Test Festival at Harbour Arena",
      venueId: "VEN-0005",
      capacity: 10000,
      area,
      opensAt,
      closesAt,
    }),
  });
  assert.equal(res.status, 201);
  const place = (await res.json()) as { placeId: string };
  const data: Schemas["KeyPlaceEvent"] = {
    linkageId: randomUUID(),
    applicationNo: `EP-FL-${randomUUID().slice(0, 8)}`,
    placeId: place.placeId,
    venueId: "VEN-0005",
    capacity: 10000,
    opensAt,
    closesAt,
  };
  await bus.publish(createEvent("permits.key-place.opened", data, { source: "permits", subject: data.linkageId }));
  return place.placeId;
}

describe("answers", () => {
  test("the contract's examples work as written: the clear one accepted, the one into Hongqiao refused", async () => {
    const op = (openapi.paths as Record<string, Record<string, { requestBody: { content: Record<string, { examples: Record<string, { value: Json }> }> } }>>)[
      "/v1/flight-reports"
    ]!.post!;
    const examples = op.requestBody.content["application/json"]!.examples;
    const clear = await answered(examples.centuryPark!.value);
    assert.equal(clear.outcome, "ACCEPTED", JSON.stringify(clear));
    assert.match(clear.reportId, /^FR-[0-9A-F]{16}$/);
    assert.equal(clear.area.coordinates[0]!.length, 65, "the point's circle, 64 sides");
    const airport = await answered(examples.hongqiao!.value);
    assert.deepEqual([airport.outcome, airport.conflicts.map((c) => c.id), airport.ineligible], ["REFUSED", ["NFZ-ZSSS"], []]);
  });

  test("accepted: its event carries the report id, never the operator; the exchange is audited; the answer counted", async () => {
    const before = await counted("ACCEPTED");
    const accepted = await answered(report({ start: at(1), end: at(2) }));
    assert.deepEqual([accepted.outcome, accepted.conflicts, accepted.ineligible, accepted.maxAltitudeM], ["ACCEPTED", [], [], 120]);
    const [event] = await eventually(
      () => eventsOf(accepted.reportId),
      (e) => e.length > 0,
    );
    assert.equal(event!.type, "flights.report.accepted");
    assert.equal(event!.partnerid, partnerId);
    assert.equal((event!.data as Json).reportId, accepted.reportId);
    assert.doesNotMatch(JSON.stringify(event), /370102198307059794|马涛/);
    const db = await suiteDb();
    const [row] = await db.query<{ record: { partnerId: string; purpose: string; outcome: string; subjects: string[] } }>(
      "SELECT record FROM hub.audit_record WHERE record->>'operation' = 'flights.reports.submit' AND record->>'partnerId' = $1 ORDER BY seq DESC LIMIT 1",
      [partnerId],
    );
    assert.deepEqual([row?.record.purpose, row?.record.outcome, row?.record.subjects.length], ["aviation-safety", "OK", 1]);
    assert.ok((await counted("ACCEPTED")) > before);
  });

  test("refused by an airport zone, touching edges included; a polygon wound clockwise is rewound, not refused", async () => {
    // Its west edge is Hongqiao's east edge (121.365).
    const touching = await answered(report({ area: square(121.365, 31.2, 121.37, 31.21) }));
    assert.deepEqual(
      [touching.outcome, touching.conflicts],
      ["REFUSED", [{ kind: "no-fly-zone", id: "NFZ-ZSSS", name: "Shanghai Hongqiao International Airport" }]],
    );
    const apart = await answered(report({ area: square(121.3651, 31.2, 121.37, 31.21) }));
    assert.equal(apart.outcome, "ACCEPTED");
    const clockwise = square(121.55, 31.21, 121.552, 31.212);
    clockwise.coordinates[0]!.reverse();
    const rewound = await answered(report({ area: clockwise }));
    assert.equal(rewound.outcome, "ACCEPTED");
    assert.deepEqual(rewound.area.coordinates[0], [...clockwise.coordinates[0]!].reverse());
    // Two zones at once: every one is named.
    const both = await answered(report({ area: square(121.36, 31.2, 121.395, 31.21) }));
    assert.deepEqual(both.conflicts.map((c) => c.id).sort(), ["NFZ-GOV-0002", "NFZ-ZSSS"]);
  });

  test("an event area refuses during the event's hours and not after them", async () => {
    const placeId = await openEventArea(HARBOUR_ARENA, at(30), at(34));
    const over = { area: { type: "Point", coordinates: [121.5165, 31.246], radiusM: 100 } };
    const during = await eventually(
      () => answered(report({ ...over, start: at(33), end: at(35) })),
      (r) => r.outcome === "REFUSED",
      15_000,
    );
    assert.deepEqual(during.conflicts, [{ kind: "event-area", id: placeId, name: "Drone Test Festival at Harbour Arena", from: at(30), until: at(34) }]);
    const afterwards = await answered(report({ ...over, start: at(34), end: at(36) }));
    assert.equal(afterwards.outcome, "ACCEPTED", "from the moment the event ends");
  });

  test("not eligible: an unregistered drone, another owner's, a suspended one, a name that is not the identity's: REFUSED, each named", async () => {
    const reasons = async (over: Json) => (await answered(report(over))).ineligible.map((i) => i.reason);
    assert.deepEqual(await reasons({ droneRegistration: "UA-2026-999999" }), ["DRONE_NOT_REGISTERED"]);
    assert.deepEqual(await reasons({ droneRegistration: "UA-2026-000002" }), ["DRONE_OF_ANOTHER_OWNER"]);
    assert.deepEqual(await reasons({ droneRegistration: "UA-2026-000003" }), ["DRONE_NOT_ACTIVE"]);
    assert.deepEqual(await reasons({ operator: { ...OPERATOR, name: "周雨浩" } }), ["OPERATOR_IDENTITY_MISMATCH"]);
    assert.deepEqual(await reasons({ operator: { idNumber: "310104199204300430", name: "周雨浩" }, droneRegistration: "UA-2026-000002" }), [
      "OPERATOR_NOT_REGISTERED",
      "DRONE_OF_ANOTHER_OWNER",
    ]);
  });

  test("bad input: each a 4xx problem naming the field", async () => {
    const ring = (...points: number[][]) => ({ type: "Polygon", coordinates: [points] });
    problem(await submit(report({ area: ring([121.55, 31.21], [121.56, 31.21], [121.56, 31.22], [121.55, 31.22]) })), 400, "/area/coordinates/0");
    problem(await submit(report({ area: ring([121.55, 31.21], [121.56, 31.21], [121.55, 31.21]) })), 400, "/area/coordinates/0");
    problem(await submit(report({ area: ring([121.55, 31.21], [181, 31.21], [121.56, 31.22], [121.55, 31.21]) })), 400, "/area/coordinates/0/1/0");
    problem(await submit(report({ area: ring([121.55, 31.21], [121.56, 91], [121.56, 31.22], [121.55, 31.21]) })), 400, "/area/coordinates/0/1/1");
    problem(await submit(report({ area: { type: "MultiPolygon", coordinates: [square(121.55, 31.21, 121.56, 31.22).coordinates] } })), 400, "/area/type");
    problem(await submit(report({ area: ring([121.55, 31.21], [121.56, 31.22], [121.56, 31.21], [121.55, 31.22], [121.55, 31.21]) })), 422, "/area");
    problem(await submit(report({ area: { ...CLEAR, radiusM: 5001 } })), 400, "/area/radiusM");
    problem(await submit(report({ maxAltitudeM: 0 })), 400, "/maxAltitudeM");
    problem(await submit(report({ maxAltitudeM: 501 })), 400, "/maxAltitudeM");
    problem(await submit(report({ start: at(12), end: at(10) })), 422, "/end");
    problem(await submit(report({ start: at(10), end: at(34.5) })), 422, "/end");
    problem(
      await submit(report({ start: new Date(Date.now() - 3_600_000).toISOString(), end: new Date(Date.now() + 3_600_000).toISOString() })),
      422,
      "/start",
    );
    problem(await submit(report({ operator: { idNumber: "370102198307059795", name: "马涛" } })), 400, "/operator/idNumber");
    // Without the purpose, or with another, personal data is not touched.
    assert.equal((await submit(report(), { "data-purpose": "event-safety" })).status, 403);
  });
});

/** hub_flight_reports_total{outcome} on the node's /metrics. */
async function counted(outcome: string): Promise<number> {
  const text = await (await rawFetch(`${hub.url}/metrics`)).text();
  return Number(new RegExp(`^hub_flight_reports_total\\{outcome="${outcome}"\\} (\\d+)`, "m").exec(text)?.[1] ?? NaN);
}

describe("the police's view", () => {
  // East of the Bund Riverside Promenade (KP-ATTR-0001, 121.489-121.492 E): about 280 m from its edge.
  const nearBund = square(121.4948, 31.236, 121.4955, 31.2365);
  const list = async (query: string) => {
    const res = await rawFetch(`${hub.url}/v1/flight-reports?${query}`, { headers });
    return { status: res.status, link: res.headers.get("link"), body: (await res.json()) as Json };
  };
  const ids = (page: { body: Json }) => (page.body.items as Report[]).map((r) => r.reportId);

  test("accepted flights within the radius of a key place while they fly, a page at a time; refused ones, others' hours and farther ones not", async () => {
    const flights: string[] = [];
    for (let i = 0; i < 3; i++) flights.push((await answered(report({ area: nearBund, start: at(50), end: at(52) }))).reportId);
    flights.sort();
    const refused = await answered(report({ area: nearBund, start: at(50), end: at(52), droneRegistration: "UA-2026-999999" }));
    const later = await answered(report({ area: nearBund, start: at(53), end: at(54) }));
    const far = await answered(report({ start: at(50), end: at(52) }));
    const when = encodeURIComponent(at(51));

    const first = await list(`near=KP-ATTR-0001&radius=500&at=${when}&limit=2`);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.deepEqual(ids(first), flights.slice(0, 2));
    assert.match(first.link ?? "", /rel="next"/);
    const second = await list(`near=KP-ATTR-0001&radius=500&at=${when}&limit=2&cursor=${first.body.next}`);
    assert.deepEqual([ids(second), second.body.next], [flights.slice(2), null]);
    for (const other of [refused.reportId, later.reportId, far.reportId]) assert.ok(!ids(first).concat(ids(second)).includes(other));
    assert.doesNotMatch(JSON.stringify(second.body), /370102198307059794|马涛/);

    assert.deepEqual(ids(await list(`near=KP-ATTR-0001&radius=100&at=${when}`)), [], "280 m away: not within 100 m");
    assert.deepEqual(ids(await list(`near=KP-ATTR-0001&radius=500&at=${encodeURIComponent(at(53.5))}`)), [later.reportId]);
    assert.equal((await list(`near=KP-NOSUCHPLACE&at=${when}`)).status, 404);
    assert.equal((await list(`near=04&at=${when}`)).status, 404, "an id public security's pattern refuses names no key place either");
    assert.equal((await list(`near=KP-ATTR-0001&at=${when}&cursor=bm9wZQ`)).status, 404);
    assert.equal((await list(`near=KP-ATTR-0001`)).status, 400);
    const reader = await rawFetch(`${hub.url}/v1/flight-reports?near=KP-ATTR-0001&at=${when}`, {
      headers: { ...headers, authorization: `Bearer ${await tokenWith(["flights.report"])}` },
    });
    assert.equal(reader.status, 403, "flights.read is needed");
  });
});

describe("withdrawal", () => {
  test("an event area opening across accepted flights in its hours withdraws them, names the area, and tells the partner's webhook, signed", async () => {
    const over = { type: "Point", coordinates: [121.5165, 31.246], radiusM: 300 };
    const crossing = await answered(report({ area: over, start: at(70), end: at(72) }));
    const before = await answered(report({ area: over, start: at(60), end: at(62) }));
    const elsewhere = await answered(report({ start: at(70), end: at(72) }));
    assert.deepEqual([crossing.outcome, before.outcome, elsewhere.outcome], ["ACCEPTED", "ACCEPTED", "ACCEPTED"]);

    const placeId = await openEventArea(HARBOUR_ARENA, at(71), at(75));
    const withdrawn = await eventually(
      () => eventsOf(crossing.reportId),
      (e) => e.some((x) => x.type === "flights.report.withdrawn"),
    );
    const event = withdrawn.find((x) => x.type === "flights.report.withdrawn")!;
    assert.deepEqual((event.data as Json).withdrawnBecause, {
      kind: "event-area",
      id: placeId,
      name: "Drone Test Festival at Harbour Arena",
      from: at(71),
      until: at(75),
    });
    assert.equal(event.partnerid, partnerId);
    assert.doesNotMatch(JSON.stringify(event), /370102198307059794|马涛/);
    for (const other of [before.reportId, elsewhere.reportId])
      assert.ok(!(await eventsOf(other)).some((x) => x.type === "flights.report.withdrawn"), `${other} not withdrawn`);
    const [row] = await (await suiteDb()).query<{ outcome: string }>("SELECT outcome FROM hub.flight_report WHERE report_id = $1", [crossing.reportId]);
    assert.equal(row?.outcome, "WITHDRAWN");
    // The police no longer see it.
    const page = await rawFetch(`${hub.url}/v1/flight-reports?near=${placeId}&radius=0&at=${encodeURIComponent(at(71.5))}`, { headers });
    assert.ok(!((await page.json()) as { items: Report[] }).items.some((r) => r.reportId === crossing.reportId));

    const delivered = await eventually(
      async () => hooks.filter((h) => h.body.includes(crossing.reportId)),
      (h) => h.length > 0,
    );
    const wh = new Webhook(webhookSecret);
    const verified = wh.verify(delivered[0]!.body, delivered[0]!.headers as Record<string, string>) as CloudEvent;
    assert.deepEqual([verified.type, (verified.data as Json).reportId, verified.id], ["flights.report.withdrawn", crossing.reportId, event.id]);
    assert.throws(() => wh.verify(delivered[0]!.body.replace("WITHDRAWN", "ACCEPTED"), delivered[0]!.headers as Record<string, string>));
  });
});

describe("the catalogue", () => {
  test("flight reporting is a catalogue service with its completion rate: accepted and refused answers both complete", async () => {
    const service = "LOCAL/GOV/flights/hub/reports.submit";
    const page = (await (await rawFetch(`${hub.url}/v1/catalogue?q=flight`)).json()) as { items: Schemas["CatalogueEntry"][] };
    const entry = page.items.find((e) => e.id === service);
    assert.deepEqual([entry?.kind, entry?.provider.name], ["service", "Drone flight reports"], JSON.stringify(page.items.map((e) => e.id)));
    assert.ok(entry?.purposes.includes("aviation-safety"));
    const total = async () => (await figuresOf(await suiteDb(), [service])).get(service)!.last7Days.completion;
    const before = await total();
    await answered(report({ start: at(80), end: at(81) }));
    await answered(report({ start: at(80), end: at(81), droneRegistration: "UA-2026-999999" }));
    problem(await submit(report({ maxAltitudeM: 501 })), 400, "/maxAltitudeM");
    const after = await eventually(total, (c) => c.total >= before.total + 2, 10_000);
    assert.ok(after.completed - before.completed >= 2 && after.rate !== null, JSON.stringify({ before, after }));
  });
});

async function tokenWith(scopes: string[]): Promise<string> {
  const id = `drone-maker-${randomUUID().slice(0, 8)}`;
  await addPartner(await suiteDb(), { id, scopes, purposes: ["aviation-safety"] });
  return (await issueToken(await suiteDb(), loadConfig({}), { partnerId: id, scopes })).access_token;
}
