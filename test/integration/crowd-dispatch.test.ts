/**
 * The crowd-dispatch linkage on the real stack: `crowd.level.changed` events published on
 * JetStream (as the crowd watch publishes them), taken by the `crowd-dispatch` consumer group
 * on two linkages nodes at once, the worker, the emergency adapter and its sandbox (CAP), and
 * public security's dispatches through the catalogue and its sandbox over HTTP. Short deadlines
 * come in through the environment.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Client } from "@temporalio/client";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, json, post, startNode, type TestNode, hubTemporalClient } from "../support/hub";
import { nameBasedUuid } from "../../platform/ids";
import { openDb, type Db } from "../../platform/db";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { readStream } from "../../platform/events/admin";
import { createEvent, type CloudEvent } from "../../platform/events/envelope";
import { LINKAGE_STATUS } from "../../workflows/linkages/visibility";

const police = process.env.PUBLIC_SECURITY_URL!;
const run = Date.now().toString(36).toUpperCase();
const DEADLINE_MS = 1500;
const CLEAR_AFTER_MS = 1500;
const nodes: TestNode[] = [];
let broker: ServiceBroker;
let worker: TestNode;
let db: Db;
let bus: EventBus;
let temporal: Client;

before(async () => {
  const env: NodeJS.ProcessEnv = {
    ...clusterEnv(),
    DISPATCH_DEADLINE_MS: String(DEADLINE_MS),
    DISPATCH_CLEAR_AFTER_MS: String(CLEAR_AFTER_MS),
    DISPATCH_POLL_MS: "200",
  };
  worker = await startNode("emergency,linkages,worker", env);
  // A second linkages node: the consumer group's events are shared between the two.
  nodes.push(worker, await startNode("linkages", env), await startNode("api", env));
  broker = await callerBroker(env.HUB_NAMESPACE!, ["linkages"]);
  db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: fs.mkdtempSync(path.join(os.tmpdir(), "crowd-dispatch-test-")) });
  bus = await connectBus(process.env.NATS_URL!, "crowd-dispatch-test");
  temporal = await hubTemporalClient();
  await dispatching(null);
  // Units an earlier run left dispatched (a run stopped midway) go back, through the police's own API.
  for (const { dispatch_id } of await db.query<{ dispatch_id: string }>("SELECT dispatch_id FROM public_security.dispatch WHERE status = 'CONFIRMED'"))
    await post(
      `${police}/dispatches/${dispatch_id}/release`,
      { reason: "left by an earlier run" },
      { "idempotency-key": `crowd-${run}-cleanup-${dispatch_id}` },
    );
});
after(async () => {
  await dispatching(null).catch(() => undefined);
  await temporal?.connection.close();
  await broker?.stop();
  await bus?.close();
  for (const n of nodes.reverse()) await n.stop();
  await db?.close();
});

/** Sets how the public-security sandbox answers dispatches (null: back to confirming at once). */
async function dispatching(mode: object | null): Promise<void> {
  const res = await fetch(`${police}/_sandbox/dispatching`, {
    method: mode ? "PUT" : "DELETE",
    headers: { "content-type": "application/json" },
    ...(mode ? { body: JSON.stringify(mode) } : {}),
  });
  assert.equal(res.status, 200, await res.clone().text());
}

/** A key place of this run's own at public security: an event at Old Town Square for the next hour. */
async function keyPlace(tag: string): Promise<string> {
  const res = await post(
    `${police}/key-places`,
    {
      reference: `CROWD-${run}-${tag}`,
      kind: "event",
      name: `Crowd test ${tag}`,
      venueId: "VEN-0004",
      capacity: 1000,
      area: {
        type: "Polygon",
        coordinates: [
          [
            [121.49, 31.23],
            [121.491, 31.23],
            [121.491, 31.231],
            [121.49, 31.23],
          ],
        ],
      },
      opensAt: new Date(Date.now() - 60_000).toISOString(),
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    },
    { "idempotency-key": `crowd-${run}-${tag}` },
  );
  assert.equal(res.status, 201, await res.clone().text());
  return String((await json(res)).placeId);
}

type Level = "normal" | "warning" | "critical";
const COUNTS: Record<Level, number> = { normal: 500, warning: 850, critical: 1020 };

/** Publishes the place's level change as the crowd watch would; answers its `at`. */
async function level(placeId: string, to: Level, from: Level, at = new Date()): Promise<string> {
  const count = COUNTS[to];
  const data = { placeId, level: to, previousLevel: from, count, capacity: 1000, occupancy: count / 1000, at: at.toISOString() };
  await bus.publish(createEvent("crowd.level.changed", data, { source: "crowd-watch", subject: placeId }));
  return data.at;
}

/** The linkage's id (GET /v1/linkages/{id}); started by an event, it has no partner: read as an internal caller, over NATS. */
const linkageOf = (placeId: string, at: string) => nameBasedUuid(`dispatch:${placeId}:${at}`);

async function until(id: string, ready: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const linkage = await broker.call<Record<string, unknown>, object>("linkages.status.get", { id }).catch((err: Error) => void (last = err.message));
    if (linkage && ready(linkage)) return linkage;
    if (Date.now() > deadline) throw new Error(`linkage ${id}: ${JSON.stringify(linkage ?? last)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
const settle = (id: string) => until(id, (l) => l.status !== "RUNNING");

/** The LinkageStatus search attribute of the linkage, once `ready` holds for it. */
async function searchStatus(placeId: string, at: string, ready: (s: string | undefined) => boolean): Promise<string | undefined> {
  const handle = temporal.workflow.getHandle(`dispatch:${placeId}:${at}`);
  for (let i = 0; i < 200; i++) {
    const status = (await handle.describe()).typedSearchAttributes.get(LINKAGE_STATUS);
    if (ready(status)) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`dispatch:${placeId}:${at} never got there`);
}

const linkagesOf = (placeId: string) =>
  db.query<{ business_key: string }>("SELECT business_key FROM hub.linkage WHERE type = 'crowd-dispatch' AND business_key LIKE $1", [`${placeId}:%`]);

async function dispatchesAt(placeId: string): Promise<{ dispatch_id: string; status: string; unit_ids: string[] }[]> {
  return db.query("SELECT dispatch_id, status, unit_ids FROM public_security.dispatch WHERE place_id = $1 ORDER BY requested_at", [placeId]);
}

/** The hub's CAP alerts for the place's episode, as the emergency services' sandbox received them. */
async function alertsAt(incidentId: string): Promise<{ msg_type: string; xml: string }[]> {
  return db.query(
    `SELECT a.msg_type, a.xml FROM sandbox_emergency.alert a JOIN hub.incident i ON i.agency_incident_no = a.incident_no
      WHERE i.id = $1 ORDER BY a.received_at`,
    [incidentId],
  );
}

test("a critical place starts one linkage however its count hovers, on two nodes; it ends with the all-clear once the place stays below warning", async () => {
  const place = await keyPlace("A");
  const t0 = Date.now();
  const at = (ms: number) => new Date(t0 + ms);
  const criticals = [await level(place, "critical", "warning", at(0))];
  // Hovering around the threshold: each critical again is the same episode's linkage.
  await level(place, "warning", "critical", at(10));
  criticals.push(await level(place, "critical", "warning", at(20)));
  await level(place, "warning", "critical", at(30));
  criticals.push(await level(place, "critical", "warning", at(40)));
  // The two nodes take the events at once: the episode is keyed by the first critical one handled.
  let linkages: { business_key: string }[] = [];
  for (let i = 0; i < 200 && !linkages.length; i++) {
    linkages = await linkagesOf(place);
    if (!linkages.length) await new Promise((r) => setTimeout(r, 100));
  }
  const start = linkages[0]!.business_key.slice(place.length + 1);
  assert.ok(criticals.includes(start), start);
  const url = linkageOf(place, start);
  const waiting = await until(url, (l) => l.currentStep === "await-all-clear");
  assert.equal(waiting.status, "RUNNING");
  assert.deepEqual(waiting.stepsDone, ["alert-emergency", "request-units"]);
  await searchStatus(place, start, (s) => s === "AWAITING_ALL_CLEAR");
  assert.deepEqual(
    (await linkagesOf(place)).map((l) => l.business_key),
    [`${place}:${start}`],
    "one linkage for the place",
  );
  const [confirmed] = await dispatchesAt(place);
  assert.equal(confirmed?.status, "CONFIRMED");
  assert.equal(confirmed.unit_ids.length, 2);

  // Below warning, then warning again before the clear-after time: the wait starts over.
  await level(place, "normal", "critical", new Date());
  await new Promise((r) => setTimeout(r, CLEAR_AFTER_MS / 2));
  await level(place, "warning", "normal", new Date());
  await new Promise((r) => setTimeout(r, CLEAR_AFTER_MS));
  assert.equal((await until(url, () => true)).currentStep, "await-all-clear", "back at warning: no all-clear");
  const quiet = Date.now();
  await level(place, "normal", "warning", new Date(quiet));
  const done = await settle(url);
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  assert.ok(Date.parse(String(done.closedAt)) - quiet >= CLEAR_AFTER_MS - 100, `all-clear ${Date.parse(String(done.closedAt)) - quiet} ms after the quiet`);
  assert.deepEqual(done.stepsDone, ["alert-emergency", "request-units", "await-all-clear", "release-units", "send-all-clear"]);
  const result = done.result as { incidentId: string; unitIds: string[]; escalated: boolean; levelChanges: number; dispatchIds: string[] };
  assert.equal(result.escalated, false);
  assert.deepEqual(result.unitIds, confirmed.unit_ids);
  // Every later change reached the linkage; two nodes may deliver the hovering ones out of order, and an older one is ignored.
  assert.ok(result.levelChanges >= 3 && result.levelChanges <= 7, `level changes received: ${result.levelChanges}`);
  assert.deepEqual(await linkagesOf(place), [{ business_key: `${place}:${start}` }], "still one linkage");

  // Units released at public security; the CAP alert and its all-clear Update at the emergency services.
  assert.deepEqual(
    (await dispatchesAt(place)).map((d) => d.status),
    ["RELEASED"],
  );
  const units = (await json(await fetch(`${police}/units`))).units as { unitId: string; status: string }[];
  for (const id of result.unitIds) assert.equal(units.find((u) => u.unitId === id)?.status, "available", id);
  const alerts = await alertsAt(result.incidentId);
  assert.deepEqual(
    alerts.map((a) => a.msg_type),
    ["Alert", "Update"],
  );
  assert.match(alerts[1]!.xml, /<responseType>AllClear<\/responseType>/);

  // The place critical again: a new episode, a new linkage.
  const again = await level(place, "critical", "normal");
  await until(linkageOf(place, again), (l) => l.currentStep === "await-all-clear");
  assert.equal((await linkagesOf(place)).length, 2);
  await level(place, "normal", "critical");
  assert.equal((await settle(linkageOf(place, again))).status, "COMPLETED");
  // The first change after the end clears the place's row: later ones ask Temporal nothing.
  await level(place, "warning", "normal");
  const rowOf = () => db.query("SELECT 1 FROM hub.crowd_dispatch WHERE place_id = $1", [place]);
  for (const deadline = Date.now() + 10_000; (await rowOf()).length && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await rowOf(), [], "the ended linkage's row is cleared");
});

test("no unit confirmed in time: escalated (event, metric, ESCALATED), it keeps asking through NO_UNITS answers, then completes once units come", async () => {
  const place = await keyPlace("B");
  await dispatching({ mode: "never" });
  const since = new Date();
  const start = await level(place, "critical", "warning");
  let escalated: CloudEvent | undefined;
  for (let i = 0; i < 100 && !escalated; i++) {
    const events = (await readStream(bus, "EVENTS", "events.linkages.linkage.escalated", { startTime: since })).map(
      (m) => JSON.parse(new TextDecoder().decode(m.data)) as CloudEvent,
    );
    escalated = events.find((e) => e.data.businessKey === `${place}:${start}`);
    if (!escalated) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(escalated, "a linkages.linkage.escalated event");
  assert.equal(escalated.data.linkageType, "crowd-dispatch");
  assert.equal(escalated.data.step, "request-units");
  assert.equal(escalated.data.deadlineMs, DEADLINE_MS);
  assert.equal(await searchStatus(place, start, (s) => s === "ESCALATED"), "ESCALATED");
  const metrics = await (await fetch(`${worker.url}/metrics`)).text();
  assert.match(metrics, /hub_linkage_escalations_total\{[^}]*linkage_type="crowd-dispatch"[^}]*step="request-units"[^}]*\} [1-9]/);
  const url = linkageOf(place, start);
  const stuck = await until(url, () => true);
  assert.equal(stuck.status, "RUNNING", "still trying");
  assert.equal(stuck.currentStep, "request-units");

  // No units at all: each NO_UNITS answer is asked again.
  await dispatching({ mode: "unavailable" });
  for (let i = 0; i < 100 && (await dispatchesAt(place)).length < 3; i++) await new Promise((r) => setTimeout(r, 100));
  const asked = await dispatchesAt(place);
  assert.ok(asked.length >= 3, `asked again after NO_UNITS: ${JSON.stringify(asked)}`);
  assert.ok(
    asked.every((d) => d.status === "NO_UNITS"),
    JSON.stringify(asked),
  );

  await dispatching(null);
  await until(url, (l) => l.currentStep === "await-all-clear");
  await searchStatus(place, start, (s) => s === "AWAITING_ALL_CLEAR");
  await level(place, "normal", "critical");
  const done = await settle(url);
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  const result = done.result as { escalated: boolean; dispatchIds: string[]; unitIds: string[] };
  assert.equal(result.escalated, true);
  assert.ok(result.dispatchIds.length >= 3);
  assert.equal(result.unitIds.length, 2);
  assert.deepEqual((await dispatchesAt(place)).at(-1)?.status, "RELEASED");
  const escalations = (await readStream(bus, "EVENTS", "events.linkages.linkage.escalated", { startTime: since }))
    .map((m) => JSON.parse(new TextDecoder().decode(m.data)) as CloudEvent)
    .filter((e) => e.data.businessKey === `${place}:${start}`);
  assert.equal(escalations.length, 1, "escalated once");
});

test("lower levels of a place without a running linkage start nothing", async () => {
  const place = await keyPlace("C");
  await level(place, "warning", "normal");
  await level(place, "normal", "warning");
  await new Promise((r) => setTimeout(r, 1000));
  assert.deepEqual(await linkagesOf(place), []);
});

test("public security's sandbox: units, dispatches (confirmed after a delay, never, no units), release, and its controls", async () => {
  const place = await keyPlace("D");
  const key = (k: string) => ({ "idempotency-key": `crowd-${run}-sandbox-${k}` });
  const ask = (k: string, body: object = { reference: `sandbox-${run}`, placeId: place, units: 2 }) => post(`${police}/dispatches`, body, key(k));

  assert.equal((await post(`${police}/dispatches`, { reference: "x", placeId: place, units: 2 })).status, 400, "an Idempotency-Key is required");
  const unknown = await ask("unknown", { reference: "x", placeId: "KP-NOWHERE", units: 1 });
  assert.equal(unknown.status, 422);
  assert.equal(((await json(unknown)).errors as { pointer: string }[])[0]!.pointer, "/placeId");
  assert.equal((await ask("bad", { reference: "x", placeId: place, units: 0 })).status, 400);
  assert.equal((await fetch(`${police}/dispatches/DP-000000000000`)).status, 404);

  assert.equal(
    (await fetch(`${police}/_sandbox/dispatching`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode: "later" }) }))
      .status,
    400,
  );
  await dispatching({ mode: "confirm", confirmAfterMs: 400 });
  assert.deepEqual(await json(await fetch(`${police}/_sandbox/dispatching`)), { mode: "confirm", confirmAfterMs: 400 });
  const requested = await ask("delayed");
  assert.equal(requested.status, 201);
  const dispatch = await json(requested);
  assert.equal(dispatch.status, "REQUESTED");
  assert.deepEqual(dispatch.unitIds, []);
  const replay = await ask("delayed");
  assert.equal(replay.headers.get("idempotent-replayed"), "true");
  assert.equal((await json(replay)).dispatchId, dispatch.dispatchId);
  assert.equal((await json(await fetch(`${police}/dispatches/${dispatch.dispatchId}`))).status, "REQUESTED", "not before its delay");
  await new Promise((r) => setTimeout(r, 450));
  const confirmed = await json(await fetch(`${police}/dispatches/${dispatch.dispatchId}`));
  assert.equal(confirmed.status, "CONFIRMED");
  const unitIds = confirmed.unitIds as string[];
  assert.equal(unitIds.length, 2);
  let units = (await json(await fetch(`${police}/units`))).units as { unitId: string; status: string; dispatchId?: string }[];
  assert.ok(units.some((u) => u.status === "off-duty"));
  for (const id of unitIds) {
    const unit = units.find((u) => u.unitId === id);
    assert.deepEqual([unit?.status, unit?.dispatchId], ["dispatched", dispatch.dispatchId], id);
  }

  const released = await post(`${police}/dispatches/${dispatch.dispatchId}/release`, { reason: "crowd gone" }, key("release"));
  assert.equal(released.status, 200);
  assert.equal((await json(released)).status, "RELEASED");
  assert.equal(
    (await post(`${police}/dispatches/${dispatch.dispatchId}/release`, { reason: "crowd gone" }, key("release"))).headers.get("idempotent-replayed"),
    "true",
  );
  units = (await json(await fetch(`${police}/units`))).units as { unitId: string; status: string }[];
  for (const id of unitIds) assert.equal(units.find((u) => u.unitId === id)?.status, "available");

  await dispatching({ mode: "never" });
  const never = await json(await ask("never"));
  await new Promise((r) => setTimeout(r, 200));
  assert.equal((await json(await fetch(`${police}/dispatches/${never.dispatchId}`))).status, "REQUESTED");
  await dispatching({ mode: "unavailable" });
  assert.equal((await json(await fetch(`${police}/dispatches/${never.dispatchId}`))).status, "NO_UNITS", "a change of mode reaches pending dispatches");
  assert.equal((await json(await ask("unavailable"))).status, "NO_UNITS");
  await dispatching(null);
  assert.equal((await json(await ask("at-once"))).status, "CONFIRMED");
  const last = (await dispatchesAt(place)).at(-1)!;
  await post(`${police}/dispatches/${last.dispatch_id}/release`, {}, key("release-last"));
});
