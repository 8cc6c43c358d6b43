/**
 * The catalogue agencies' sandboxes (agencies/<agency>/sandbox) over real HTTP, each on a scratch
 * PostgreSQL database of this test's own (and once on embedded PGlite, as `npm start` runs
 * them): the seeded venues and each one's decision, a document sent and the review decided
 * again, key places registered, read, listed and closed, Idempotency-Key replayed and refused,
 * a fault injected and cleared, and bad input refused as problem+json naming the field. Every
 * answer is read against the agency's own document, and the document's request examples work
 * as written.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { openDb, type Db } from "../../platform/db";
import { documentSchemas } from "../../sandbox-kit/problem";
import { startSandbox as startFire } from "../../agencies/fire-safety/sandbox/server";
import { startSandbox as startPolice } from "../../agencies/public-security/sandbox/server";
import { createScratchDatabase } from "../support/scratch-db";

type Json = Record<string, unknown>;
interface Answer {
  status: number;
  headers: Headers;
  body: Json;
}

const ROOT = path.join(__dirname, "../..");
const fireDoc = documentSchemas("fire-safety", path.join(ROOT, "agencies/fire-safety/openapi.yaml"));
const policeDoc = documentSchemas("public-security", path.join(ROOT, "agencies/public-security/openapi.yaml"));

/** A sandbox of the test's own on a scratch database; `call` sends JSON with a fresh Idempotency-Key on a POST unless given one (null: none). */
function sandboxUnderTest(start: typeof startFire, postgres = true) {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
  let db: Db;
  let server: Awaited<ReturnType<typeof startFire>>;
  const pgliteDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "agency-sandbox-")), "pglite");
  before(async () => {
    if (postgres) scratch = await createScratchDatabase();
    db = await openDb({ url: scratch?.url, pgliteDir });
    server = await start({ port: 0, db });
  });
  after(async () => {
    await server?.close();
    await db?.close();
    await scratch?.drop();
  });
  const call = async (method: string, route: string, body?: unknown, key: string | null = randomUUID(), contentType = "application/json"): Promise<Answer> => {
    const headers: Record<string, string> = body === undefined ? {} : { "content-type": contentType };
    if (method === "POST" && key !== null) headers["idempotency-key"] = key;
    const res = await fetch(server.url + route, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : {} };
  };
  return { call, url: () => server.url, seeded: () => server.seeded };
}

/** A problem+json answer with `status`, naming `pointer` when given; its body. */
function problem(answer: Answer, status: number, pointer?: string): Json {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.headers.get("content-type") ?? "", /^application\/problem\+json/);
  assert.equal(answer.body.status, status);
  assert.equal(typeof answer.body.detail, "string");
  if (pointer !== undefined)
    assert.ok(
      (answer.body.errors as { pointer: string }[] | undefined)?.some((e) => e.pointer === pointer),
      `${pointer} named in ${JSON.stringify(answer.body)}`,
    );
  return answer.body;
}

const request = (venueId: string, documents: { name: string; reference: string }[] = [{ name: "security-plan", reference: "DOC-SP-1" }]) => ({
  reference: `PA-TEST-${randomUUID().slice(0, 8)}`,
  venueId,
  eventName: "Test Festival",
  start: "2031-07-04T18:00:00+08:00",
  end: "2031-07-04T23:00:00+08:00",
  expectedAttendance: 5000,
  documents,
});

/** The decision part of a review, as the README lists it. */
const decisionOf = (r: Json) => {
  const { decision, maxCapacity, conditions, reasons, document } = r;
  return { decision, maxCapacity, conditions: conditions === undefined ? undefined : "…", reasons: (reasons as unknown[] | undefined)?.length, document };
};
const expect = (decision: string, extra: Json = {}) => ({
  decision,
  maxCapacity: undefined,
  conditions: undefined,
  reasons: undefined,
  document: undefined,
  ...extra,
});

/** The request examples of an operation in the agency's document. */
function requestExamples(doc: Json, route: string): unknown[] {
  const op = ((doc.paths as Json)[route] as Json).post as Json;
  const media = ((op.requestBody as Json).content as Json)["application/json"] as { examples: Record<string, { value: unknown }> };
  return Object.values(media.examples).map((e) => e.value);
}

describe("fire safety sandbox", () => {
  const { call, seeded } = sandboxUnderTest(startFire);

  test("seeds the five venues with their registered capacity and area, each as the document describes it", async () => {
    assert.equal(seeded(), 5);
    const { status, body } = await call("GET", "/venues");
    assert.equal(status, 200);
    fireDoc.read("VenueList", body);
    const venues = body.venues as { venueId: string; name: string; capacity: number; area: { coordinates: number[][][] } }[];
    assert.deepEqual(
      venues.map((v) => [v.venueId, v.name, v.capacity]),
      [
        ["VEN-0001", "City Stadium", 40000],
        ["VEN-0002", "Riverside Park", 20000],
        ["VEN-0003", "Exhibition Hall", 8000],
        ["VEN-0004", "Old Town Square", 5000],
        ["VEN-0005", "Harbour Arena", 12000],
      ],
    );
    for (const v of venues) assert.deepEqual(v.area.coordinates[0]![0], v.area.coordinates[0]!.at(-1), `${v.venueId}'s ring is closed`);
    const one = await call("GET", "/venues/VEN-0003");
    assert.deepEqual(one.body, venues[2]);
    problem(await call("GET", "/venues/VEN-0999"), 404);
  });

  test("decides each seeded venue as its README says", async () => {
    const expected: Record<string, object> = {
      "VEN-0001": expect("APPROVED", { maxCapacity: 36000 }),
      "VEN-0002": expect("REFUSED", { reasons: 1 }),
      "VEN-0003": expect("NEEDS_DOCUMENT", { document: "evacuation-plan" }),
      "VEN-0004": expect("APPROVED", { maxCapacity: 5000 }),
      "VEN-0005": expect("APPROVED", { maxCapacity: 10000 }),
    };
    for (const [venueId, decision] of Object.entries(expected)) {
      const r = await call("POST", "/inspections", request(venueId));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      fireDoc.read("Review", r.body);
      assert.deepEqual(decisionOf(r.body), decision, venueId);
      assert.match(String((r.body.officer as Json).id), /^FSO-000[12]$/);
      assert.deepEqual((await call("GET", `/inspections/${r.body.id}`)).body, r.body);
    }
  });

  test("the Exhibition Hall: the evacuation plan sent, the inspection is decided again (approved for 7000); sent with the request, approved at once", async () => {
    const asked = await call("POST", "/inspections", request("VEN-0003"));
    assert.equal(asked.body.decision, "NEEDS_DOCUMENT");
    const id = String(asked.body.id);
    const other = await call("POST", `/inspections/${id}/documents`, { name: "site-map", reference: "DOC-SM-1" });
    assert.deepEqual(decisionOf(other.body), expect("NEEDS_DOCUMENT", { document: "evacuation-plan" }));
    const sent = await call("POST", `/inspections/${id}/documents`, { name: "evacuation-plan", reference: "DOC-EP-1" });
    assert.equal(sent.status, 200, JSON.stringify(sent.body));
    fireDoc.read("Review", sent.body);
    assert.deepEqual([sent.body.id, sent.body.reference], [id, asked.body.reference]);
    assert.deepEqual(decisionOf(sent.body), expect("APPROVED", { maxCapacity: 7000 }));
    assert.deepEqual(decisionOf((await call("GET", `/inspections/${id}`)).body), expect("APPROVED", { maxCapacity: 7000 }));
    const atOnce = await call("POST", "/inspections", request("VEN-0003", [{ name: "evacuation-plan", reference: "DOC-EP-2" }]));
    assert.deepEqual(decisionOf(atOnce.body), expect("APPROVED", { maxCapacity: 7000 }));
    problem(await call("POST", "/inspections/FI-000000000000/documents", { name: "evacuation-plan", reference: "x" }), 404);
    problem(await call("GET", "/inspections/FI-000000000000"), 404);
  });

  test("Idempotency-Key: the same request again gets the first answer; another request with the key is refused; none is a 400", async () => {
    const key = randomUUID();
    const body = request("VEN-0001");
    const first = await call("POST", "/inspections", body, key);
    const again = await call("POST", "/inspections", body, key);
    assert.deepEqual([again.status, again.body], [201, first.body]);
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal(problem(await call("POST", "/inspections", { ...body, expectedAttendance: 7 }, key), 422).code, "IDEMPOTENCY_KEY_REUSED");
    assert.equal(problem(await call("POST", "/inspections", body, null), 400).code, "IDEMPOTENCY_KEY_MISSING");
    const docKey = randomUUID();
    const asked = await call("POST", "/inspections", request("VEN-0003"));
    const sent = await call("POST", `/inspections/${asked.body.id}/documents`, { name: "evacuation-plan", reference: "D" }, docKey);
    assert.deepEqual((await call("POST", `/inspections/${asked.body.id}/documents`, { name: "evacuation-plan", reference: "D" }, docKey)).body, sent.body);
  });

  test("bad input: each a problem naming the field", async () => {
    const { eventName: _, ...noName } = request("VEN-0001");
    problem(await call("POST", "/inspections", noName), 400, "/eventName");
    problem(await call("POST", "/inspections", { ...request("VEN-0001"), expectedAttendance: 0 }), 400, "/expectedAttendance");
    problem(await call("POST", "/inspections", { ...request("VEN-0001"), expectedAttendance: 200001 }), 400, "/expectedAttendance");
    problem(await call("POST", "/inspections", { ...request("VEN-0001"), start: "2031-07-04 18:00" }), 400, "/start");
    problem(await call("POST", "/inspections", { ...request("VEN-0001"), organiser: "x" }), 400, "/organiser");
    problem(await call("POST", "/inspections", request("VEN-0001", [{ name: "", reference: "x" }])), 400, "/documents/0/name");
    problem(await call("POST", "/inspections", { ...request("VEN-0001"), end: "2031-07-04T17:00:00+08:00" }), 422, "/end");
    problem(await call("POST", "/inspections", request("VEN-0999")), 422, "/venueId");
    problem(await call("POST", "/inspections", "{not json"), 400);
    problem(await call("POST", "/inspections", request("VEN-0001"), randomUUID(), "text/plain"), 415);
    problem(await call("DELETE", "/inspections"), 405);
  });

  test("a fault injected and cleared: an outage is a 503 problem and /healthz says so; cleared, it answers again", async () => {
    assert.equal((await call("PUT", "/_sandbox/faults", { outage: true })).status, 200);
    problem(await call("POST", "/inspections", request("VEN-0001")), 503);
    problem(await call("GET", "/venues"), 503);
    assert.deepEqual((await call("GET", "/healthz")).body, { status: "unavailable", sandbox: "fire-safety" });
    assert.equal((await call("DELETE", "/_sandbox/faults")).body.outage, false);
    assert.equal((await call("GET", "/venues")).status, 200);
    assert.deepEqual((await call("GET", "/healthz")).body, { status: "ok", sandbox: "fire-safety" });
  });

  test("the document's request examples work as written", async () => {
    const decisions = [];
    for (const example of requestExamples(fireDoc.doc, "/inspections")) decisions.push(decisionOf((await call("POST", "/inspections", example)).body));
    assert.deepEqual(decisions, [expect("APPROVED", { maxCapacity: 36000 }), expect("NEEDS_DOCUMENT", { document: "evacuation-plan" })]);
  });
});

describe("public security sandbox", () => {
  const { call, seeded } = sandboxUnderTest(startPolice);
  const area = {
    type: "Polygon",
    coordinates: [
      [
        [121.4355, 31.181],
        [121.44, 31.181],
        [121.44, 31.1845],
        [121.4355, 31.1845],
        [121.4355, 31.181],
      ],
    ],
  };
  const place = (extra: Json = {}) => ({
    reference: `PERMIT-${randomUUID().slice(0, 8)}`,
    kind: "event",
    name: "Test Festival at City Stadium",
    venueId: "VEN-0001",
    capacity: 30000,
    area,
    opensAt: "2031-07-04T18:00:00+08:00",
    closesAt: "2031-07-04T23:00:00+08:00",
    ...extra,
  });

  test("decides each seeded venue as its README says, once the security plan is in", async () => {
    assert.equal(seeded(), 17, "five venues, two attractions and ten units");
    const expected: Record<string, object> = {
      "VEN-0001": expect("APPROVED", { maxCapacity: 30000 }),
      "VEN-0002": expect("REFUSED", { reasons: 1 }),
      "VEN-0003": expect("APPROVED_WITH_CONDITIONS", { maxCapacity: 8000, conditions: "…" }),
      "VEN-0004": expect("APPROVED", { maxCapacity: 5000 }),
      "VEN-0005": expect("APPROVED", { maxCapacity: 12000 }),
    };
    for (const [venueId, decision] of Object.entries(expected)) {
      const r = await call("POST", "/security-reviews", request(venueId));
      assert.equal(r.status, 201, JSON.stringify(r.body));
      policeDoc.read("Review", r.body);
      assert.deepEqual(decisionOf(r.body), decision, venueId);
      assert.deepEqual((await call("GET", `/security-reviews/${r.body.id}`)).body, r.body);
    }
  });

  test("without the security plan the review asks for it; sent, it is decided again", async () => {
    const asked = await call("POST", "/security-reviews", request("VEN-0005", []));
    assert.deepEqual(decisionOf(asked.body), expect("NEEDS_DOCUMENT", { document: "security-plan" }));
    const sent = await call("POST", `/security-reviews/${asked.body.id}/documents`, { name: "security-plan", reference: "DOC-SP-9" });
    assert.equal(sent.status, 200);
    assert.deepEqual(decisionOf(sent.body), expect("APPROVED", { maxCapacity: 12000 }));
    problem(await call("POST", "/security-reviews", request("VEN-0999")), 422, "/venueId");
    problem(await call("POST", `/security-reviews/${asked.body.id}/documents`, { name: "security-plan" }), 400, "/reference");
  });

  test("key places: the seeded attractions; an event's venue registered, read, listed by status and time, closed (again: unchanged)", async () => {
    const seededPlaces = (await call("GET", "/key-places")).body.keyPlaces as Json[];
    assert.deepEqual(
      seededPlaces.filter((p) => p.kind === "attraction").map((p) => [p.placeId, p.status, p.opensAt]),
      [
        ["KP-ATTR-0001", "OPEN", undefined],
        ["KP-ATTR-0002", "OPEN", undefined],
      ],
    );
    const made = await call("POST", "/key-places", place());
    assert.equal(made.status, 201, JSON.stringify(made.body));
    policeDoc.read("KeyPlace", made.body);
    const id = String(made.body.placeId);
    assert.deepEqual([made.body.status, made.body.capacity, made.body.venueId, made.body.opensAt], ["OPEN", 30000, "VEN-0001", "2031-07-04T10:00:00.000Z"]);
    assert.deepEqual((await call("GET", `/key-places/${id}`)).body, made.body);

    const ids = async (query: string) => ((await call("GET", `/key-places?${query}`)).body.keyPlaces as Json[]).map((p) => p.placeId);
    assert.ok((await ids("status=OPEN")).includes(id));
    assert.ok((await ids(`at=${encodeURIComponent("2031-07-04T20:00:00+08:00")}`)).includes(id));
    const later = await ids(`status=OPEN&at=${encodeURIComponent("2031-07-05T20:00:00+08:00")}`);
    assert.ok(!later.includes(id) && later.includes("KP-ATTR-0001"), "after its hours the event is not in force; an attraction always is");

    const closed = await call("POST", `/key-places/${id}/closure`, { reason: "The event has ended" });
    assert.equal(closed.status, 200);
    policeDoc.read("KeyPlace", closed.body);
    assert.deepEqual([closed.body.status, closed.body.closureReason], ["CLOSED", "The event has ended"]);
    assert.ok(typeof closed.body.closedAt === "string");
    const again = await call("POST", `/key-places/${id}/closure`, {});
    assert.deepEqual([again.status, again.body], [200, closed.body]);
    assert.ok((await ids("status=CLOSED")).includes(id));
    assert.ok(!(await ids("status=OPEN")).includes(id));
    problem(await call("GET", "/key-places/KP-NOSUCHPLACE"), 404);
    problem(await call("POST", "/key-places/KP-NOSUCHPLACE/closure", {}), 404);
  });

  test("key places: Idempotency-Key replayed (one place made) and refused for another request", async () => {
    const key = randomUUID();
    const body = place();
    const first = await call("POST", "/key-places", body, key);
    const again = await call("POST", "/key-places", body, key);
    assert.deepEqual([again.status, again.body, again.headers.get("idempotent-replayed")], [201, first.body, "true"]);
    const listed = (await call("GET", "/key-places")).body.keyPlaces as Json[];
    assert.equal(listed.filter((p) => p.reference === body.reference).length, 1);
    assert.equal(problem(await call("POST", "/key-places", { ...body, capacity: 10 }, key), 422).code, "IDEMPOTENCY_KEY_REUSED");
    problem(await call("POST", "/key-places", body, null), 400);
  });

  test("key places: bad input, each a problem naming the field", async () => {
    problem(await call("POST", "/key-places", place({ kind: "attraction" })), 400, "/kind");
    problem(await call("POST", "/key-places", place({ capacity: 0 })), 400, "/capacity");
    problem(await call("POST", "/key-places", place({ area: { type: "Point", coordinates: [121.4, 31.2] } })), 400);
    const open = {
      type: "Polygon",
      coordinates: [
        [
          [121.4, 31.2],
          [121.5, 31.2],
          [121.5, 31.3],
          [121.4, 31.3],
        ],
      ],
    };
    problem(await call("POST", "/key-places", place({ area: open })), 422, "/area/coordinates/0");
    problem(await call("POST", "/key-places", place({ closesAt: "2031-07-04T17:00:00+08:00" })), 422, "/closesAt");
    problem(await call("POST", "/key-places", place({ venueId: "VEN-0999" })), 422, "/venueId");
    problem(await call("GET", "/key-places?status=AJAR"), 400, "/status");
    problem(await call("GET", "/key-places?at=tomorrow"), 400, "/at");
    problem(await call("GET", "/key-places?colour=red"), 400);
  });

  test("a fault injected and cleared: errors on every call, then none", async () => {
    await call("PUT", "/_sandbox/faults", { errorRate: 1 });
    problem(await call("GET", "/key-places"), 500);
    problem(await call("POST", "/security-reviews", request("VEN-0001")), 500);
    await call("DELETE", "/_sandbox/faults");
    assert.equal((await call("GET", "/key-places")).status, 200);
  });

  test("the document's request examples work as written", async () => {
    const reviews = [];
    for (const example of requestExamples(policeDoc.doc, "/security-reviews"))
      reviews.push(decisionOf((await call("POST", "/security-reviews", example)).body));
    assert.deepEqual(reviews, [
      expect("APPROVED", { maxCapacity: 30000 }),
      expect("REFUSED", { reasons: 1 }),
      expect("NEEDS_DOCUMENT", { document: "security-plan" }),
    ]);
    for (const example of requestExamples(policeDoc.doc, "/key-places")) assert.equal((await call("POST", "/key-places", example)).status, 201);
  });
});

describe("both sandboxes on embedded PGlite (npm start's database)", () => {
  const fire = sandboxUnderTest(startFire, false);
  const police = sandboxUnderTest(startPolice, false);
  test("seed, decide and answer as on PostgreSQL", async () => {
    assert.deepEqual([fire.seeded(), police.seeded()], [5, 17]);
    const dispatch = await police.call("POST", "/dispatches", { reference: "pglite", placeId: "KP-ATTR-0002", units: 2 });
    assert.deepEqual([dispatch.status, (dispatch.body as { status: string }).status], [201, "CONFIRMED"]);
    assert.deepEqual(decisionOf((await fire.call("POST", "/inspections", request("VEN-0005"))).body), expect("APPROVED", { maxCapacity: 10000 }));
    assert.deepEqual(decisionOf((await police.call("POST", "/security-reviews", request("VEN-0005"))).body), expect("APPROVED", { maxCapacity: 12000 }));
    assert.equal((await police.call("POST", "/key-places", pgliteEventPlace())).status, 201);
  });
});

function pgliteEventPlace() {
  return {
    reference: "PERMIT-PGLITE",
    kind: "event",
    name: "PGlite Festival",
    venueId: "VEN-0004",
    capacity: 5000,
    area: {
      type: "Polygon",
      coordinates: [
        [
          [121.49, 31.227],
          [121.492, 31.227],
          [121.492, 31.2285],
          [121.49, 31.2285],
          [121.49, 31.227],
        ],
      ],
    },
    opensAt: "2031-05-01T10:00:00+08:00",
    closesAt: "2031-05-01T20:00:00+08:00",
  };
}
