/**
 * The aviation authority's sandbox (agencies/aviation/sandbox) over real HTTP on a scratch
 * PostgreSQL database of this test's own: the seeded operators (citizens of the civil registry
 * sandbox's seed, whose names it holds the same), drones and no-fly zones (Shanghai's airports
 * and government sites, clear of the venues the other agencies seed), every answer read against
 * the agency's own document and its examples as written; zones loaded and removed for tests;
 * an unknown operator, drone or zone a 404 problem, a bad owner a 400 naming it; a fault injected.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { openDb, type Db } from "../../platform/db";
import { documentSchemas } from "../../sandbox-kit/problem";
import { VENUES } from "../../sandbox-kit/venues";
import { syntheticCitizens, SEED, SEED_AS_OF } from "../../sandbox-kit/synthetic-people";
import { startSandbox } from "../../agencies/aviation/sandbox/server";
import { EXAMPLE_OPERATOR, OPERATORS, ZONES } from "../../agencies/aviation/sandbox/registry";
import { createScratchDatabase } from "../support/scratch-db";

type Json = Record<string, unknown>;

const ROOT = path.join(__dirname, "../..");
const schemas = documentSchemas("aviation", path.join(ROOT, "agencies/aviation/openapi.yaml"));
const doc = schemas.doc as Json;

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let db: Db;
let server: Awaited<ReturnType<typeof startSandbox>>;

before(async () => {
  scratch = await createScratchDatabase();
  db = await openDb({ url: scratch.url, pgliteDir: "/nonexistent" });
  server = await startSandbox({ port: 0, db });
});
after(async () => {
  await server?.close();
  await db?.close();
  await scratch?.drop();
});

async function call(method: string, route: string, body?: unknown): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(server.url + route, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Json) : {} };
}

function problem(answer: { status: number; headers: Headers; body: Json }, status: number, pointer?: string): void {
  assert.equal(answer.status, status, JSON.stringify(answer.body));
  assert.match(answer.headers.get("content-type") ?? "", /^application\/problem\+json/);
  if (pointer)
    assert.ok(
      (answer.body.errors as { pointer: string }[]).some((e) => e.pointer === pointer),
      JSON.stringify(answer.body),
    );
}

const example = (name: string) => ((doc.components as Json).examples as Record<string, { value: Json }>)[name]!.value;

test("seeds three operators, five drones and four zones; the operators but the example are the civil registry seed's first citizens, by the same names", async () => {
  assert.equal(server.seeded, 12);
  const citizens = syntheticCitizens(SEED, 2, { asOf: SEED_AS_OF });
  assert.deepEqual(
    OPERATORS.filter((o) => o !== EXAMPLE_OPERATOR).map((o) => [o.idNumber, o.name]),
    citizens.map((c) => [c.citizenNo, c.fullName]),
  );
});

test("the document's examples are what the sandbox answers", async () => {
  const op = await call("GET", `/operators/${EXAMPLE_OPERATOR.idNumber}`);
  assert.equal(op.status, 200);
  assert.deepEqual(schemas.read("Operator", op.body), example("ExampleOperator"));
  const drones = await call("GET", `/drones?owner=${EXAMPLE_OPERATOR.idNumber}`);
  assert.deepEqual(schemas.read("DroneList", drones.body), example("ExampleOperatorsDrones"));
  const zone = await call("GET", "/no-fly-zones/NFZ-ZSSS");
  assert.deepEqual(schemas.read("NoFlyZone", zone.body), example("Hongqiao"));
  const drone = await call("GET", "/drones/UA-2026-000001");
  assert.deepEqual(schemas.read("DroneSummary", drone.body), { registrationNo: "UA-2026-000001", model: "DJI Mini 4 Pro", status: "ACTIVE" });
  assert.equal(drone.body.ownerIdNumber, undefined, "a drone read by its number does not name its owner");
});

test("the zones: each a closed counterclockwise Polygon; none touches a venue the event agencies seed", async () => {
  const { zones } = schemas.read<{ zones: { zoneId: string; area: { coordinates: number[][][] } }[] }>(
    "NoFlyZoneList",
    (await call("GET", "/no-fly-zones")).body,
  );
  assert.deepEqual(
    zones.map((z) => z.zoneId),
    ZONES.map((z) => z.zoneId).sort(),
  );
  const box = (ring: number[][]) => [
    Math.min(...ring.map((p) => p[0]!)),
    Math.min(...ring.map((p) => p[1]!)),
    Math.max(...ring.map((p) => p[0]!)),
    Math.max(...ring.map((p) => p[1]!)),
  ];
  for (const z of zones) {
    const ring = z.area.coordinates[0]!;
    assert.deepEqual(ring[0], ring.at(-1));
    const signed = ring.slice(1).reduce((sum, p, i) => sum + (p[0]! - ring[i]![0]!) * (p[1]! + ring[i]![1]!), 0);
    assert.ok(signed < 0, `${z.zoneId} counterclockwise`);
    const [w, s, e, n] = box(ring);
    for (const v of VENUES) {
      const [vw, vs, ve, vn] = box(v.area.coordinates[0]!);
      assert.ok(ve! < w! || vw! > e! || vn! < s! || vs! > n!, `${z.zoneId} clear of ${v.venueId}`);
    }
  }
});

test("zones loaded for a test are listed, with their hours, and removed by prefix", async () => {
  const temp = { ...ZONES[0]!, zoneId: "NFZ-TEST-0001", kind: "TEMPORARY", from: "2031-01-01T00:00:00.000Z", until: "2031-01-02T00:00:00.000Z" };
  assert.equal((await call("POST", "/_sandbox/no-fly-zones", { zones: [temp] })).status, 201);
  assert.deepEqual((await call("GET", "/no-fly-zones/NFZ-TEST-0001")).body, temp);
  assert.deepEqual((await call("DELETE", "/_sandbox/no-fly-zones?prefix=NFZ-TEST-")).body, { removed: 1 });
  problem(await call("GET", "/no-fly-zones/NFZ-TEST-0001"), 404);
});

test("bad input: unknown operator, drone or zone a 404 problem; an owner not an identity number a 400 naming it; none owned, an empty list", async () => {
  problem(await call("GET", "/operators/11010519491231002X"), 404);
  problem(await call("GET", "/drones/UA-2026-999999"), 404);
  problem(await call("GET", "/no-fly-zones/NFZ-NOWHERE"), 404);
  problem(await call("GET", "/drones?owner=12345"), 400, "/owner");
  problem(await call("GET", "/drones"), 400, "/owner");
  assert.deepEqual((await call("GET", "/drones?owner=11010519491231002X")).body, { drones: [] });
});

test("a fault injected answers 503 on the agency's routes, and clears", async () => {
  await call("PUT", "/_sandbox/faults", { outage: true });
  try {
    problem(await call("GET", "/no-fly-zones"), 503);
    assert.deepEqual((await call("GET", "/healthz")).body, { status: "unavailable", sandbox: "aviation" });
  } finally {
    await call("DELETE", "/_sandbox/faults");
  }
  assert.equal((await call("GET", "/no-fly-zones")).status, 200);
});
