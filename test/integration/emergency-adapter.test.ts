/**
 * The emergency adapter end to end: CAP alerts over REST (XML and JSON) and NATS, a hub node
 * on the suite's NATS and PostgreSQL, and a sandbox of this test's own over real HTTP (so its
 * faults reach no other test). An incident is one incident however many Update and Cancel
 * alerts follow, a re-sent alert changes nothing, and every change is an event on JetStream.
 */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { operations } from "../../contracts";
import { openDb, type Db } from "../../platform/db";
import { nameBasedUuid } from "../../platform/ids";
import { connectBus, type EventBus } from "../../platform/events/bus";
import type { CloudEvent } from "../../platform/events/envelope";
import { startSandbox } from "../../adapters/emergency/sandbox/server";
import { parseCap } from "../../adapters/emergency/cap";
import { clusterEnv, startNode, type TestNode, callerBroker } from "../support/hub";
import { assertDocumented, assertProblem } from "../support/contract";

const FIXTURES = path.join(__dirname, "../../adapters/emergency/fixtures");
const report = operations().find((o) => o.operationId === "emergency.incident.report")!;
const get = operations().find((o) => o.operationId === "emergency.incident.get")!;
const env = clusterEnv();
const run = randomBytes(3).toString("hex").toUpperCase();

let sandboxDb: Db;
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let node: TestNode;
let hubDb: Db;
let bus: EventBus;
let broker: ServiceBroker;

/** A fixture with this run's identifiers, so runs and tests never share an incident. */
function fixture(name: string, tag: string): string {
  return fs
    .readFileSync(path.join(FIXTURES, name), "utf8")
    .replace(/FD-SH-2026-001187/g, `FD-${run}-${tag}`)
    .replace(/TRI13970876/g, `TRI${run}${tag}`);
}
const GAS_SENDER = "dispatch@fire.shanghai.example";
const incidentId = (sender: string, first: string) => nameBasedUuid(`incident:${sender}:${first}`);

const faults = (body: object) =>
  fetch(`${sandbox.url}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

async function reportXml(xml: string, contentType = "application/cap+xml"): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${node.url}/v1/incidents`, { method: "POST", headers: { "content-type": contentType }, body: xml });
  return { status: res.status, body: (await assertDocumented(report, res)) as Record<string, unknown> };
}
async function reportJson(alert: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${node.url}/v1/incidents`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(alert) });
  return { status: res.status, body: (await assertDocumented(report, res)) as Record<string, unknown> };
}
async function getIncident(id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${node.url}/v1/incidents/${id}`);
  return { status: res.status, body: (await assertDocumented(get, res)) as Record<string, unknown> };
}

const count = async (db: Db, sql: string, params: unknown[]) => Number((await db.query<{ n: string }>(sql, params))[0]!.n);
const hubAlerts = (sender: string, identifier: string) =>
  count(hubDb, "SELECT count(*) AS n FROM hub.incident_alert WHERE sender = $1 AND identifier = $2", [sender, identifier]);
const hubIncidentsLike = (pattern: string) => count(hubDb, "SELECT count(*) AS n FROM hub.incident WHERE first_identifier LIKE $1", [pattern]);
const agencyAlerts = (identifier: string) => count(sandboxDb, "SELECT count(*) AS n FROM sandbox_emergency.alert WHERE identifier = $1", [identifier]);

/** The emergency events of one incident on the EVENTS stream, by type (waits for the outbox). */
async function eventsOf(id: string, expected: number): Promise<Record<string, number>> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const seen: CloudEvent[] = [];
    const consumer = await bus.js.consumers.get("EVENTS", { filterSubjects: ["events.emergency.>"] });
    const info = await consumer.info(true);
    if (info.num_pending > 0) {
      const messages = await consumer.fetch({ max_messages: info.num_pending, expires: 2000 });
      for await (const m of messages) {
        const event = m.json<CloudEvent>();
        if (event.subject === id) seen.push(event);
        if (m.info.pending === 0) break;
      }
    }
    const byType: Record<string, number> = {};
    for (const e of seen) byType[e.type] = (byType[e.type] ?? 0) + 1;
    if (seen.length >= expected || Date.now() > deadline) return byType;
    await new Promise((r) => setTimeout(r, 200));
  }
}

before(async () => {
  sandboxDb = await openDb({ pgliteDir: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "emergency-adapter-")), "pglite") });
  sandbox = await startSandbox({ port: 0, db: sandboxDb });
  node = await startNode("api,emergency", { ...env, EMERGENCY_URL: sandbox.url, EMERGENCY_TIMEOUT_MS: "500" });
  hubDb = await openDb({ url: process.env.DATABASE_URL!, pgliteDir: "" });
  bus = await connectBus(process.env.NATS_URL!, `emergency-test-${process.pid}`);
  broker = await callerBroker(env.HUB_NAMESPACE!, ["emergency"], "emergency-test");
});
beforeEach(async () => void (await fetch(`${sandbox.url}/_sandbox/faults`, { method: "DELETE" })));
after(async () => {
  await broker?.stop();
  await bus?.close();
  await node?.stop();
  await hubDb?.close();
  await sandbox?.close();
  await sandboxDb?.close();
});

describe("reporting", () => {
  test("a CAP XML alert opens an incident; GET answers it; the agency has it", async () => {
    const { status, body } = await reportXml(fixture("gas-leak-alert.xml", "A"));
    assert.equal(status, 200);
    const id = incidentId(GAS_SENDER, `FD-${run}-A`);
    assert.deepEqual(body, {
      id,
      sender: GAS_SENDER,
      firstIdentifier: `FD-${run}-A`,
      status: "OPEN",
      event: "Gas leak",
      category: "Fire",
      severity: "Severe",
      urgency: "Immediate",
      certainty: "Observed",
      headline: "燃气泄漏：漕溪北路 88 号",
      areaDesc: "漕溪北路 88 号及周边 100 米",
      address: { street: "漕溪北路 88 号", province: "上海市", city: "上海市", district: "徐汇区", postcode: "200030" },
      updatedAt: "2026-11-28T09:12:00+08:00",
      alerts: [{ identifier: `FD-${run}-A`, msgType: "Alert", sent: "2026-11-28T09:12:00+08:00" }],
    });
    assert.deepEqual(await getIncident(id), { status: 200, body });
    assert.equal(await agencyAlerts(`FD-${run}-A`), 1);
    assert.deepEqual(await eventsOf(id, 1), { "emergency.incident.reported": 1 });
  });

  test("re-sending the alert (as application/xml, then as JSON) is idempotent: one incident, one alert row, one event", async () => {
    const xml = fixture("gas-leak-alert.xml", "B");
    const first = await reportXml(xml);
    const again = await reportXml(xml, "application/xml");
    const asJson = await reportJson(parseCap(xml));
    assert.deepEqual([first.status, again.status, asJson.status], [200, 200, 200]);
    assert.deepEqual(again.body, first.body);
    assert.deepEqual(asJson.body, first.body);
    assert.equal(await hubIncidentsLike(`FD-${run}-B%`), 1);
    assert.equal(await hubAlerts(GAS_SENDER, `FD-${run}-B`), 1);
    assert.equal(await agencyAlerts(`FD-${run}-B`), 1);
    assert.deepEqual(await eventsOf(first.body.id as string, 1), { "emergency.incident.reported": 1 });
  });

  test("an Update and a Cancel change and close the same incident; the incident count does not grow", async () => {
    const opened = await reportXml(fixture("gas-leak-alert.xml", "C"));
    const updated = await reportXml(fixture("gas-leak-update.xml", "C"));
    assert.equal(updated.body.id, opened.body.id);
    assert.equal(updated.body.status, "OPEN");
    assert.equal(updated.body.severity, "Extreme");
    assert.equal(updated.body.updatedAt, "2026-11-28T09:40:00+08:00");
    const cancelled = await reportJson(parseCap(fixture("gas-leak-cancel.xml", "C")));
    assert.equal(cancelled.body.id, opened.body.id);
    assert.equal(cancelled.body.status, "CANCELLED");
    assert.deepEqual(
      (cancelled.body.alerts as { identifier: string; msgType: string }[]).map((a) => [a.identifier, a.msgType]),
      [
        [`FD-${run}-C`, "Alert"],
        [`FD-${run}-C.2`, "Update"],
        [`FD-${run}-C.3`, "Cancel"],
      ],
    );
    assert.equal(await hubIncidentsLike(`FD-${run}-C%`), 1);
    assert.deepEqual(await eventsOf(opened.body.id as string, 3), {
      "emergency.incident.reported": 1,
      "emergency.incident.updated": 1,
      "emergency.incident.cleared": 1,
    });
    // The agency put them on one incident too.
    const [row] = await sandboxDb.query<{ n: string }>("SELECT count(DISTINCT incident_no) AS n FROM sandbox_emergency.alert WHERE identifier LIKE $1", [
      `FD-${run}-C%`,
    ]);
    assert.equal(Number(row!.n), 1);
  });

  test("an Update whose original the hub never saw is accepted as the incident's current state; the late original does not undo it", async () => {
    const { status, body } = await reportXml(fixture("oasis-earthquake.xml", "D"));
    assert.equal(status, 200);
    assert.equal(body.id, incidentId("trinet@caltech.edu", `TRI${run}D.1`));
    assert.equal(body.firstIdentifier, `TRI${run}D.1`);
    assert.equal(body.status, "OPEN");
    assert.deepEqual(body.alerts, [{ identifier: `TRI${run}D.2`, msgType: "Update", sent: "2003-06-11T20:56:00-07:00" }]);
    const original = parseCap(fixture("oasis-earthquake.xml", "D"));
    Object.assign(original, { identifier: `TRI${run}D.1`, sent: "2003-06-11T20:30:00-07:00", msgType: "Alert", references: undefined });
    delete original.references;
    original.info[0]!.severity = "Moderate";
    const late = await reportJson(original);
    assert.equal(late.body.id, body.id);
    assert.equal(late.body.severity, "Minor", "the update is newer");
    assert.equal((late.body.alerts as unknown[]).length, 2);
    assert.equal(await hubIncidentsLike(`TRI${run}D%`), 1);
  });
});

test("an alert sent with an offset CAP allows and PostgreSQL does not (-19:12) is taken (found by schemathesis)", async () => {
  const { status, body } = await reportJson({ ...parseCap(fixture("gas-leak-alert.xml", "TZ")), sent: "2078-01-01T17:39:06-19:12" });
  assert.equal(status, 200, JSON.stringify(body));
  assert.equal(body.updatedAt, "2078-01-01T17:39:06-19:12", "kept as sent");
});

describe("refusals", () => {
  test("malformed XML, XML that is not CAP 1.2, and invalid CAP: 400 naming each problem, nothing forwarded", async () => {
    const before = await count(sandboxDb, "SELECT count(*) AS n FROM sandbox_emergency.alert", []);
    const notXml = await reportXml("<alert xmlns='urn:oasis:names:tc:emergency:cap:1.2'><identifier>x</alert>");
    assertProblem(notXml.body, 400);
    assert.equal(notXml.body.code, "HUB_ERR_REQUEST_INVALID");
    assert.match((notXml.body.errors as { detail: string }[])[0]!.detail, /not well-formed/);

    const wrongNs = await reportXml(fixture("gas-leak-alert.xml", "E").replace("cap:1.2", "cap:1.1"), "application/xml");
    assertProblem(wrongNs.body, 400);
    assert.match((wrongNs.body.errors as { detail: string }[])[0]!.detail, /namespace/);

    const invalid = await reportXml(
      fixture("gas-leak-alert.xml", "E").replace("<status>Actual</status>", "<status>Real</status>").replace("<event>Gas leak</event>", ""),
    );
    assertProblem(invalid.body, 400);
    assert.deepEqual((invalid.body.errors as { in: string; pointer: string }[]).map((e) => [e.in, e.pointer]).sort(), [
      ["body", "/info/0/event"],
      ["body", "/status"],
    ]);

    const badJson = await reportJson({ ...parseCap(fixture("gas-leak-alert.xml", "E")), msgType: "Shout" });
    assertProblem(badJson.body, 400);
    assert.ok((badJson.body.errors as { pointer: string }[]).some((e) => e.pointer === "/msgType"));

    const text = await fetch(`${node.url}/v1/incidents`, { method: "POST", headers: { "content-type": "text/xml" }, body: fixture("gas-leak-alert.xml", "E") });
    assertProblem(await assertDocumented(report, text), 415);
    assert.equal(await count(sandboxDb, "SELECT count(*) AS n FROM sandbox_emergency.alert", []), before, "nothing reached the agency");
  });

  test("an unknown incident is a 404 problem; a malformed id a 400", async () => {
    const unknown = await getIncident("00000000-0000-5000-8000-000000000000");
    assertProblem(unknown.body, 404);
    assert.equal(unknown.body.code, "HUB_ERR_INCIDENT_NOT_FOUND");
    assertProblem((await getIncident("not-a-uuid")).body, 400);
    await assert.rejects(
      broker.call("emergency.incident.dispatch", {
        incidentId: "00000000-0000-5000-8000-000000000000",
        units: [{ type: "AMBULANCE", count: 1 }],
        idempotencyKey: `dispatch-${run}-x`,
      }),
      /No incident/,
    );
  });
});

describe("dispatch and all-clear (over NATS)", () => {
  test("units are dispatched once per idempotency key; the all-clear ends the incident once; nothing is dispatched after", async () => {
    const opened = await reportXml(fixture("gas-leak-alert.xml", "F"));
    const id = opened.body.id as string;
    const params = {
      incidentId: id,
      units: [
        { type: "FIRE_ENGINE", count: 2 },
        { type: "HAZMAT", count: 1 },
      ],
      idempotencyKey: `dispatch-${run}-F`,
    };
    const dispatch = (await broker.call("emergency.incident.dispatch", params)) as { dispatchId: string; incidentId: string; units: { type: string }[] };
    assert.equal(dispatch.incidentId, id);
    assert.deepEqual(
      dispatch.units.map((u) => u.type),
      ["FIRE_ENGINE", "FIRE_ENGINE", "HAZMAT"],
    );
    assert.deepEqual(await broker.call("emergency.incident.dispatch", params), dispatch, "same key, same dispatch");

    const cleared = (await broker.call("emergency.incident.allClear", { incidentId: id, note: "The leak is sealed." })) as Record<string, unknown>;
    assert.equal(cleared.status, "CLEARED");
    assert.equal(cleared.id, id);
    const last = (cleared.alerts as { identifier: string; msgType: string; sent: string }[]).at(-1)!;
    assert.deepEqual([last.identifier, last.msgType], [`hub-allclear-${id}`, "Update"]);
    assert.match(last.sent, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    assert.deepEqual(await broker.call("emergency.incident.allClear", { incidentId: id }), cleared, "a repeated all-clear is the same alert");
    assert.equal(await agencyAlerts(`hub-allclear-${id}`), 1);
    const [agency] = await sandboxDb.query<{ status: string }>(
      "SELECT i.status FROM sandbox_emergency.incident i JOIN sandbox_emergency.alert a USING (incident_no) WHERE a.identifier = $1",
      [`FD-${run}-F`],
    );
    assert.equal(agency!.status, "CLOSED");
    assert.deepEqual(await eventsOf(id, 2), { "emergency.incident.reported": 1, "emergency.incident.cleared": 1 });

    await assert.rejects(
      broker.call("emergency.incident.dispatch", { ...params, idempotencyKey: `dispatch-${run}-F2` }),
      (err: { type: string; data: { reason: string } }) => {
        assert.equal(err.type, "HUB_ERR_AGENCY_REFUSED");
        assert.equal(err.data.reason, "INCIDENT_CLOSED");
        return true;
      },
    );
  });
});

describe("an unwell emergency services system", () => {
  test("an answer lost after the agency committed: the caller's retry is taken once", async () => {
    const xml = fixture("gas-leak-alert.xml", "G");
    await faults({ lostResponseRate: 1 });
    const lost = await reportXml(xml);
    assertProblem(lost.body, 503);
    assert.equal(lost.body.agency, "emergency");
    assert.equal(await agencyAlerts(`FD-${run}-G`), 1, "the agency took it");
    assert.equal(await hubIncidentsLike(`FD-${run}-G%`), 0, "the hub did not record it");
    await faults({});
    const retried = await reportXml(xml);
    assert.equal(retried.status, 200);
    assert.equal(await agencyAlerts(`FD-${run}-G`), 1, "taken once");
    assert.equal(await hubAlerts(GAS_SENDER, `FD-${run}-G`), 1);
  });

  // In this order: the timeouts, the outage and the 5xx together open the breaker.
  let n = 0;
  for (const [name, fault, status, code] of [
    ["a malformed answer", { malformedRate: 1 }, 502, "HUB_ERR_AGENCY_BAD_ANSWER"],
    ["no answer in time", { timeoutRate: 1 }, 504, "HUB_ERR_AGENCY_TIMEOUT"],
    ["a full outage", { outage: true }, 503, "HUB_ERR_AGENCY_UNAVAILABLE"],
    ["a 5xx burst", { errorRate: 1 }, 503, "HUB_ERR_AGENCY_UNAVAILABLE"],
  ] as const)
    test(`${name} is a ${status} problem naming the agency, and nothing is recorded`, async () => {
      const tag = `H${++n}`;
      await faults(fault);
      const { body } = await reportXml(fixture("gas-leak-alert.xml", tag));
      assertProblem(body, status);
      assert.equal(body.code, code);
      assert.equal(body.agency, "emergency");
      assert.equal(await hubIncidentsLike(`FD-${run}-${tag}%`), 0);
    });

  test("the breaker is open after those failures and fails fast; it closes once the system answers again", async () => {
    const circuit = async () => Number(/^hub_agency_circuit_state\{agency="emergency"\} (\d)/m.exec(await (await fetch(`${node.url}/metrics`)).text())?.[1]);
    assert.equal(await circuit(), 2, "open");
    await faults({ latencyMs: 2000 });
    const t0 = Date.now();
    const { body } = await reportXml(fixture("gas-leak-alert.xml", "I"));
    assertProblem(body, 503);
    assert.match(String(body.detail), /circuit open/);
    assert.ok(Date.now() - t0 < 1000, "failed fast");
    await faults({});
    await new Promise((r) => setTimeout(r, 5000));
    assert.equal((await reportXml(fixture("gas-leak-alert.xml", "I"))).status, 200);
    assert.equal(await circuit(), 0, "closed");
  });
});
