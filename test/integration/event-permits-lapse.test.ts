/**
 * An event permit application lapses: the fire service asks for a document that never comes
 * before PERMIT_DOCUMENT_DEADLINE_MS (short here: a hub of its own), so it ends REFUSED with
 * DOCUMENT_NOT_RECEIVED, told to the organiser's webhook and on the stream.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { application, apply, eventually, organiser, permitEvents, signal, slot, statusUntil, type Linkage, type Organiser } from "../support/permits";

let hub: TestNode;
let bus: EventBus;
let org: Organiser;

before(async () => {
  hub = await startNode("all", { ...clusterEnv(), PERMIT_DOCUMENT_DEADLINE_MS: "2000" });
  bus = await connectBus(process.env.NATS_URL!, `permits-lapse-test-${process.pid}`);
  org = await organiser();
});
after(async () => {
  org?.close();
  await bus?.nc.close();
  await hub?.stop();
});

test("Exhibition Hall without its evacuation plan: AWAITING_DOCUMENT, then lapsed at the deadline (REFUSED, DOCUMENT_NOT_RECEIVED)", async () => {
  const res = await apply(hub.url, org, application("VEN-0003", slot(20)));
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as Linkage;
  const waiting = await statusUntil(hub.url, org, id, (l) => l.permit?.status === "AWAITING_DOCUMENT" || l.status !== "RUNNING");
  assert.equal(waiting.permit!.status, "AWAITING_DOCUMENT");
  const lapsed = await statusUntil(hub.url, org, id, (l) => l.status !== "RUNNING");
  assert.equal(lapsed.status, "REFUSED");
  assert.match(String(lapsed.reason), /^DOCUMENT_NOT_RECEIVED: fire-safety: .*evacuation-plan/);
  assert.equal(lapsed.permit!.status, "LAPSED");
  assert.equal(lapsed.permit!.refusal!.code, "DOCUMENT_NOT_RECEIVED");
  assert.equal(lapsed.permit!.keyPlace, undefined);

  const hook = await eventually(
    async () => org.hooks.find((e) => e.subject === id && e.type === "permits.permit.lapsed"),
    (h) => h !== undefined,
  );
  assert.equal((hook!.data as { code: string }).code, "DOCUMENT_NOT_RECEIVED");
  const events = await eventually(
    () => permitEvents(bus, id),
    (e) => e.length >= 3,
  );
  assert.deepEqual(
    events.map((e) => e.type),
    ["permits.application.received", "permits.application.awaiting-document", "permits.permit.lapsed"],
  );

  // Too late: the linkage has ended.
  const late = await signal(hub.url, org, id, { signal: "document", name: "evacuation-plan", reference: "https://docs.events.example/evac.pdf" });
  assert.equal(late.status, 409);
});
