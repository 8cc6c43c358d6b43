/**
 * Event permits on the real stack: the hub (one node), NATS, Temporal, PostgreSQL and the two
 * catalogue agencies' sandboxes (public security, fire safety), registered in the catalogue
 * by the test harness. An organiser partner of the test's own applies over REST; the seeded
 * venues answer deterministically (agencies/<agency>/README.md). Far-future hours, apart for
 * each test and each run, so no two tests share a venue's hours (test/support/permits.ts).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { suiteDb } from "../support/partner";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { nameBasedUuid } from "../../platform/ids";
import {
  application,
  apply,
  cancel,
  eventually,
  fireFaults,
  keyPlaceAt,
  organiser,
  permitEvents,
  signal,
  slot,
  statusUntil,
  type Linkage,
  type Organiser,
} from "../support/permits";

let hub: TestNode;
let api: string;
let bus: EventBus;
let org: Organiser;

before(async () => {
  hub = await startNode("all", clusterEnv());
  api = hub.url;
  bus = await connectBus(process.env.NATS_URL!, `permits-test-${process.pid}`);
  org = await organiser();
});
after(async () => {
  await fireFaults({});
  org?.close();
  await bus?.nc.close();
  await hub?.stop();
});

const issued = (l: Linkage) => l.permit?.status === "ISSUED" && l.permit.keyPlace?.status === "OPEN";
const ended = (l: Linkage) => l.status !== "RUNNING";
const types = (events: { type: string }[]) => events.map((e) => e.type);

async function accepted(body: object): Promise<Linkage> {
  const res = await apply(api, org, body);
  assert.equal(res.status, 202, await res.clone().text());
  const linkage = (await res.json()) as Linkage;
  assert.equal(res.headers.get("location"), `/v1/linkages/${linkage.id}`);
  return linkage;
}

describe("decisions", () => {
  test("City Stadium: issued with the lower capacity (police 30,000 < fire 36,000 < venue 40,000), below the attendance, and said so; its key place opens", async () => {
    const body = application("VEN-0001", slot(0), { expectedAttendance: 35000 });
    const first = await accepted(body);
    assert.equal(first.type, "event-permit");
    assert.equal(first.businessKey, body.applicationNo);
    const linkage = await statusUntil(api, org, first.id, issued);
    assert.equal(linkage.status, "RUNNING", "the linkage runs until the event ends");
    const permit = linkage.permit!;
    assert.deepEqual([permit.capacity, permit.capacityLowered, permit.venueCapacity], [30000, true, 40000]);
    assert.deepEqual(
      permit.reviews.map((r) => [r.agency, r.decision, r.maxCapacity]),
      [
        ["public-security", "APPROVED", 30000],
        ["fire-safety", "APPROVED", 36000],
      ],
    );
    const place = await keyPlaceAt(permit.keyPlace!.placeId);
    assert.deepEqual([place.status, place.capacity, place.venueId, place.reference], ["OPEN", 30000, "VEN-0001", body.applicationNo]);

    // The same application number again: the same linkage, never a second.
    const again = await accepted({ ...body, expectedAttendance: 1 });
    assert.equal(again.id, first.id);
    assert.equal(again.permit?.capacity, 30000);
    const rows = await (await suiteDb()).query("SELECT 1 FROM hub.linkage WHERE type = 'event-permit' AND business_key = $1", [body.applicationNo]);
    assert.equal(rows.length, 1);

    // Told: the organiser's webhook has the decision; the stream has every change, without the organiser's contact.
    const hook = await eventually(
      async () => org.hooks.find((e) => e.subject === first.id && e.type === "permits.permit.issued"),
      (h) => h !== undefined,
    );
    assert.equal((hook!.data as { capacity: number }).capacity, 30000);
    const events = await eventually(
      () => permitEvents(bus, first.id),
      (e) => e.length >= 3,
    );
    assert.deepEqual(types(events), ["permits.application.received", "permits.permit.issued", "permits.key-place.opened"]);
    assert.ok(!JSON.stringify(events).includes("organiser@events.example"), "no personal data in events");

    // Audited: the application (the organiser's contact) and each mediated call, made for the hub's linkages (the agencies get no personal data).
    const records = await (
      await suiteDb()
    ).query<{ record: { operation: string; partnerId: string; purpose?: string; subjects: string[] } }>(
      "SELECT record FROM hub.audit_record WHERE record->>'linkageId' = $1 ORDER BY seq",
      [first.id],
    );
    const [start] = await (
      await suiteDb()
    ).query<{ record: { subjects: string[]; purpose: string } }>(
      "SELECT record FROM hub.audit_record WHERE record->>'operation' = 'linkages.eventPermit.start' AND record->>'partnerId' = $1 AND record->>'outcome' = 'OK' ORDER BY seq LIMIT 1",
      [org.id],
    );
    assert.equal(start?.record.subjects.length, 1, "the organiser's contact, as a keyed hash");
    assert.equal(start?.record.purpose, "event-safety");
    const mediated = records.filter((r) => r.record.operation.startsWith("catalogue:"));
    assert.ok(mediated.length >= 3, "two reviews and the key place");
    assert.ok(mediated.every((r) => r.record.partnerId === "hub:linkages"));
    const operations = mediated.map((r) => r.record.operation.replace(/^catalogue:[^:]+:/, ""));
    assert.ok(
      operations.includes("POST /security-reviews") && operations.includes("POST /inspections") && operations.includes("POST /key-places"),
      String(operations),
    );
  });

  test("Riverside Park: refused, with the reasons of both agencies", async () => {
    const { id } = await accepted(application("VEN-0002", slot(1)));
    const linkage = await statusUntil(api, org, id, ended);
    assert.equal(linkage.status, "REFUSED");
    assert.match(String(linkage.reason), /^AGENCY_REFUSED: /);
    const refusal = linkage.permit!.refusal!;
    assert.equal(refusal.code, "AGENCY_REFUSED");
    assert.deepEqual([...new Set(refusal.reasons.map((r) => r.agency))], ["public-security", "fire-safety"]);
    assert.equal(linkage.permit!.keyPlace, undefined);
    const hook = await eventually(
      async () => org.hooks.find((e) => e.subject === id && e.type === "permits.permit.refused"),
      (h) => h !== undefined,
    );
    assert.equal((hook!.data as { reasons: string[] }).reasons.length, refusal.reasons.length);
  });

  test("Exhibition Hall: AWAITING_DOCUMENT until the evacuation plan comes by signal, then issued with the fire service's new capacity and the police's conditions", async () => {
    const { id } = await accepted(application("VEN-0003", slot(2), { expectedAttendance: 7500 }));
    const waiting = await statusUntil(api, org, id, (l) => l.permit?.status === "AWAITING_DOCUMENT");
    assert.equal(waiting.currentStep, "await-document");
    assert.deepEqual(
      waiting.permit!.awaitingDocuments!.map((w) => [w.agency, w.name]),
      [["fire-safety", "evacuation-plan"]],
    );

    const wrong = await signal(api, org, id, { signal: "document", name: "parking-plan", reference: "https://docs.events.example/p.pdf" });
    assert.equal(wrong.status, 409);
    assert.match(((await wrong.json()) as { detail: string }).detail, /waits for "evacuation-plan"/);

    const sent = await signal(api, org, id, { signal: "document", name: "evacuation-plan", reference: "https://docs.events.example/evac.pdf" });
    assert.equal(sent.status, 202);
    const linkage = await statusUntil(api, org, id, issued);
    assert.deepEqual([linkage.permit!.capacity, linkage.permit!.capacityLowered], [7000, true]);
    assert.deepEqual(
      linkage.permit!.conditions!.map((c) => c.agency),
      ["public-security"],
    );
    const events = await eventually(
      () => permitEvents(bus, id),
      (e) => e.length >= 4,
    );
    assert.deepEqual(types(events), [
      "permits.application.received",
      "permits.application.awaiting-document",
      "permits.permit.issued",
      "permits.key-place.opened",
    ]);

    // Issued, it waits for no document: a document now is a 409.
    const late = await signal(api, org, id, { signal: "document", name: "evacuation-plan", reference: "https://docs.events.example/evac.pdf" });
    assert.equal(late.status, 409);
    assert.match(((await late.json()) as { detail: string }).detail, /not waiting for a document/);
  });
});

describe("a venue's capacity, shared by permits for overlapping hours", () => {
  test("Old Town Square: a second overlapping permit is refused VENUE_CAPACITY_TAKEN, a later one issues; cancelling the first closes its key place at once and frees the capacity", async () => {
    const hours = slot(3);
    const first = await accepted(application("VEN-0004", hours, { expectedAttendance: 5000 }));
    const one = await statusUntil(api, org, first.id, issued);
    assert.equal(one.permit!.capacity, 5000);

    const overlapping = { start: new Date(Date.parse(hours.start) + 3_600_000).toISOString(), end: new Date(Date.parse(hours.end) + 3_600_000).toISOString() };
    const second = await accepted(application("VEN-0004", overlapping, { expectedAttendance: 100 }));
    const refused = await statusUntil(api, org, second.id, ended);
    assert.equal(refused.status, "REFUSED");
    assert.equal(refused.permit!.refusal!.code, "VENUE_CAPACITY_TAKEN");
    assert.match(String(refused.reason), /^VENUE_CAPACITY_TAKEN: /);

    const later = await accepted(application("VEN-0004", { start: hours.end, end: new Date(Date.parse(hours.end) + 2 * 3_600_000).toISOString() }));
    assert.equal((await statusUntil(api, org, later.id, (l) => issued(l) || ended(l))).permit!.status, "ISSUED", "hours that only touch do not overlap");

    const placeId = one.permit!.keyPlace!.placeId;
    const res = await cancel(api, org, first.id);
    assert.equal(res.status, 202);
    const cancelled = await statusUntil(api, org, first.id, ended);
    assert.equal(cancelled.status, "CANCELLED");
    assert.equal(cancelled.permit!.status, "CANCELLED");
    assert.equal(cancelled.permit!.keyPlace!.status, "CLOSED");
    assert.equal((await keyPlaceAt(placeId)).status, "CLOSED");
    const events = await eventually(
      () => permitEvents(bus, first.id),
      (e) => e.length >= 5,
    );
    assert.deepEqual(types(events).slice(-2), ["permits.key-place.closed", "permits.permit.cancelled"]);
    assert.equal((events.at(-2)!.data as { closedBecause: string }).closedBecause, "PERMIT_CANCELLED");

    // Overlapping the cancelled permit's hours only (the later one's start after its end).
    const third = await accepted(application("VEN-0004", { start: hours.start, end: new Date(Date.parse(hours.start) + 5_400_000).toISOString() }));
    assert.equal(
      (await statusUntil(api, org, third.id, (l) => issued(l) || ended(l))).permit!.status,
      "ISSUED",
      "the cancelled permit's capacity is free again",
    );
  });
});

describe("two applications for the same hours at once", () => {
  test("Old Town Square: both approved, only one takes the venue's capacity (a lock per venue); the other is VENUE_CAPACITY_TAKEN", async () => {
    const hours = slot(9);
    const both = await Promise.all([0, 1].map(() => accepted(application("VEN-0004", hours, { expectedAttendance: 4000 }))));
    const ends = await Promise.all(both.map((l) => statusUntil(api, org, l.id, (x) => issued(x) || ended(x))));
    assert.deepEqual(ends.map((l) => l.permit!.status).sort(), ["ISSUED", "REFUSED"]);
    assert.equal(ends.find((l) => l.status === "REFUSED")!.permit!.refusal!.code, "VENUE_CAPACITY_TAKEN");
    const held = await (
      await suiteDb()
    ).query<{ sum: string }>("SELECT sum(capacity) AS sum FROM hub.venue_reservation WHERE linkage_id = ANY($1::uuid[]) AND released_at IS NULL", [
      both.map((l) => l.id),
    ]);
    assert.equal(Number(held[0]!.sum), 5000, "the venue's capacity, held once");
  });
});

describe("the key place follows the event", () => {
  test("Harbour Arena, an event of a few seconds: the key place opens for its hours and closes when it ends; the linkage completes", async () => {
    const start = new Date(Date.now() + 4000).toISOString();
    const end = new Date(Date.now() + 9000).toISOString();
    const { id } = await accepted(application("VEN-0005", { start, end }, { expectedAttendance: 11000 }));
    const open = await statusUntil(api, org, id, issued);
    assert.equal(open.permit!.capacity, 10000);
    const placeId = open.permit!.keyPlace!.placeId;
    assert.equal((await keyPlaceAt(placeId)).status, "OPEN");

    const done = await statusUntil(api, org, id, ended);
    assert.equal(done.status, "COMPLETED", JSON.stringify(done));
    assert.deepEqual(done.stepsDone, ["review", "hold-venue-capacity", "open-key-place", "await-event-end", "close-key-place"]);
    assert.deepEqual(done.result, { capacity: 10000, capacityLowered: true, conditions: [], keyPlaceId: placeId });
    assert.equal(done.permit!.keyPlace!.status, "CLOSED");
    assert.equal((await keyPlaceAt(placeId)).status, "CLOSED");
    const events = await eventually(
      () => permitEvents(bus, id),
      (e) => e.length >= 4,
    );
    assert.deepEqual(types(events).slice(-2), ["permits.key-place.opened", "permits.key-place.closed"]);
    assert.equal((events.at(-1)!.data as { closedBecause: string }).closedBecause, "EVENT_ENDED");
    const released = await (await suiteDb()).query<{ released_at: Date | null }>("SELECT released_at FROM hub.venue_reservation WHERE linkage_id = $1", [id]);
    assert.ok(released[0]?.released_at, "the venue's capacity is released when the event ends");
    const metrics = await (await fetch(`${api}/metrics`)).text();
    assert.match(metrics, /hub_linkages_ended_total\{linkage_type="event-permit",outcome="COMPLETED"\} [1-9]/);
    assert.match(metrics, /hub_event_permits_total\{decision="issued"\} [1-9]/);
    // Counted by Temporal's visibility (a query it refused would leave no sample): issued permits run by design, none stuck.
    assert.match(metrics, /hub_linkages_running\{linkage_type="event-permit"\} [1-9]/);
    assert.match(metrics, /hub_linkages_overdue\{linkage_type="event-permit"\} 0\b/);
    // The permit's calls count in each agency service's completion rate, as any catalogue call does.
    for (const service of ["fire-safety/inspections/venue-inspections", "public-security/police/event-security"])
      assert.match(metrics, new RegExp(`hub_service_calls_total\\{service="[^"]+/GOV/${service}",outcome="completed"\\} [1-9]`));
  });
});

describe("an agency down for a while", () => {
  test("the fire service in an outage when the document comes: the linkage keeps trying and issues once it is back; an application meanwhile is a 503 that records nothing", async () => {
    const { id } = await accepted(application("VEN-0003", slot(5), { expectedAttendance: 5000 }));
    await statusUntil(api, org, id, (l) => l.permit?.status === "AWAITING_DOCUMENT");
    assert.equal((await fireFaults({ outage: true })).status, 200);
    try {
      const sent = await signal(api, org, id, { signal: "document", name: "evacuation-plan", reference: "https://docs.events.example/evac.pdf" });
      assert.equal(sent.status, 202);
      // The submission fails and is tried again: the permit is still under review, nothing decided.
      const retried = await eventually(
        async () =>
          (
            await (
              await suiteDb()
            ).query("SELECT 1 FROM hub.audit_record WHERE record->>'linkageId' = $1 AND record->>'outcome' = 'HUB_ERR_AGENCY_UNAVAILABLE'", [id])
          ).length,
        (n) => n >= 2,
      );
      assert.ok(retried >= 2, "the fire service was called and is down");
      const during = await statusUntil(api, org, id, () => true);
      assert.deepEqual([during.status, during.permit!.status], ["RUNNING", "UNDER_REVIEW"]);

      const meanwhile = application("VEN-0001", slot(6));
      const res = await apply(api, org, meanwhile);
      assert.equal(res.status, 503);
      const missing = await (await suiteDb()).query("SELECT 1 FROM hub.linkage WHERE business_key = $1", [meanwhile.applicationNo]);
      assert.equal(missing.length, 0);
    } finally {
      await fireFaults({});
    }
    const linkage = await statusUntil(api, org, id, issued);
    assert.equal(linkage.permit!.capacity, 7000);
  });
});

describe("bad input: a 4xx naming the field, nothing recorded", () => {
  const hours = slot(7);
  const cases: [string, object, number, string][] = [
    // Within the contract, but not hours a permit covers: 422.
    ["an end before the start", { start: hours.end, end: hours.start }, 422, "/end"],
    ["a start in the past", { start: "2020-01-01T10:00:00+08:00", end: "2020-01-01T12:00:00+08:00" }, 422, "/start"],
    ["an event over 14 days", { start: hours.start, end: new Date(Date.parse(hours.start) + 15 * 86_400_000).toISOString() }, 422, "/end"],
    ["no offset", { start: hours.start.replace("+00:00", ""), end: hours.end }, 400, "/start"],
    ["attendance 0", { expectedAttendance: 0 }, 400, "/expectedAttendance"],
    ["attendance over 200,000", { expectedAttendance: 200_001 }, 400, "/expectedAttendance"],
    ["an unknown venue", { venueId: "VEN-9999" }, 422, "/venueId"],
  ];
  for (const [what, change, status, pointer] of cases)
    test(what, async () => {
      const body = { ...application("VEN-0001", hours), ...change };
      const res = await apply(api, org, body);
      assert.equal(res.status, status);
      assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
      const problem = (await res.json()) as { errors?: { pointer: string }[] };
      assert.ok(
        problem.errors?.some((e) => e.pointer === pointer),
        JSON.stringify(problem),
      );
      const id = nameBasedUuid(`event-permit:${body.applicationNo}`);
      assert.equal((await (await suiteDb()).query("SELECT 1 FROM hub.linkage WHERE id = $1", [id])).length, 0);
      assert.equal((await (await suiteDb()).query("SELECT 1 FROM hub.permit_application WHERE linkage_id = $1", [id])).length, 0);
    });

  test("a document signal without its name is a 400 naming it; a signal an event permit does not take is a 409", async () => {
    const { id } = await accepted(application("VEN-0003", slot(8)));
    await statusUntil(api, org, id, (l) => l.permit?.status === "AWAITING_DOCUMENT");
    const nameless = await signal(api, org, id, { signal: "document", reference: "https://docs.events.example/x.pdf" });
    assert.equal(nameless.status, 400);
    assert.deepEqual(
      ((await nameless.json()) as { errors: { pointer: string }[] }).errors.map((e) => e.pointer),
      ["/name"],
    );
    const other = await signal(api, org, id, { signal: "all-clear" });
    assert.equal(other.status, 409);
    assert.equal((await cancel(api, org, id)).status, 202);
    assert.equal((await statusUntil(api, org, id, ended)).status, "CANCELLED");
  });
});
