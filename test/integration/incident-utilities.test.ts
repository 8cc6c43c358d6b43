/**
 * The emergency to utilities linkage on the real stack: CAP alerts posted over REST, the
 * emergency and utilities adapters, the linkage started by the `emergency.incident.reported`
 * event on NATS, the worker, and the sandboxes over HTTP.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { clusterEnv, json, post, settle, startNode, type TestNode, hubTemporalClient } from "../support/hub";
import { nameBasedUuid } from "../../platform/ids";
import { openDb, type Db } from "../../platform/db";
import { connectBus } from "../../platform/events/bus";
import { readStream } from "../../platform/events/admin";
import type { CloudEvent } from "../../platform/events/envelope";
import { FIXTURE_SENDER, fixtureAlert, type Premise } from "../../ops/chaos/alerts";
import { openPremises, sandboxCitizens } from "../../ops/chaos/sandboxes";

const SENDER = FIXTURE_SENDER;
const utilities = process.env.UTILITIES_URL!;
const run = Date.now().toString(36).toUpperCase();
const nodes: TestNode[] = [];
let api: string;
let linkagesNode: TestNode;
let db: Db;

before(async () => {
  const env = { ...clusterEnv(), LINKAGE_SUSPENSION_DEADLINE_MS: "1500" };
  nodes.push(await startNode("emergency,utilities", env));
  linkagesNode = await startNode("linkages,worker", env);
  nodes.push(linkagesNode, await startNode("api", env));
  api = nodes[2]!.url;
  db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: fs.mkdtempSync(path.join(os.tmpdir(), "incident-test-")) });
});
const clearFaults = () => fetch(`${utilities}/_sandbox/faults`, { method: "DELETE" });
after(async () => {
  for (const n of nodes.reverse()) await n.stop();
  await db?.close();
});

/** A citizen holding gas, power and water at a street of this run's own. */
async function premise(tag: string): Promise<Premise> {
  const [where] = await openPremises(utilities, await sandboxCitizens(process.env.CIVIL_REGISTRY_URL!, 1), () => `应急路${run}${tag}号`);
  return where!;
}

/** A fixture alert of this run's incident `tag`, at `where` (or nowhere). */
const alert = (file: string, tag: string, where: Premise | null, event?: string) => fixtureAlert(file, `FD-${run}-${tag}`, where, event);

async function report(xml: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${api}/v1/incidents`, { method: "POST", headers: { "content-type": "application/cap+xml" }, body: xml });
  assert.ok(res.status === 201 || res.status === 200, `${res.status} ${await res.clone().text()}`);
  return json(res);
}

const linkageUrl = (tag: string) => `${api}/v1/linkages/${nameBasedUuid(`incident-utilities:${SENDER},FD-${run}-${tag}`)}`;

/** Polls the linkage until `ready` holds for its status. */
async function until(tag: string, ready: (l: Record<string, unknown>) => boolean, timeoutMs = 20_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(linkageUrl(tag));
    const body = await json(res);
    if (res.status === 200 && ready(body)) return body;
    if (Date.now() > deadline) throw new Error(`linkage ${tag}: ${res.status} ${JSON.stringify(body)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function accountsAt(p: Premise): Promise<{ svc_code: string; acct_status: string }[]> {
  const res = await fetch(`${utilities}/utility/v1/accounts?${new URLSearchParams({ post_code: p.postcode, street: p.street })}`);
  return ((await res.json()) as { acct_list: { svc_code: string; acct_status: string }[] }).acct_list;
}
const statusOf = async (p: Premise) => Object.fromEntries((await accountsAt(p)).map((a) => [a.svc_code, a.acct_status]));

async function ordersOf(incidentId: string): Promise<string[]> {
  const rows = await db.query<{ order_type: string; svc_code: string }>(
    "SELECT order_type, svc_code FROM sandbox_utilities.service_order WHERE incident_ref = $1 ORDER BY eff_ts",
    [incidentId],
  );
  return rows.map((r) => `${r.order_type} ${r.svc_code}`);
}

test("a gas leak alert over REST: gas suspended once, the linkage waits; the all-clear signal restores it once", async () => {
  const where = await premise("A");
  const incident = await report(alert("gas-leak-alert.xml", "A", where));
  const waiting = await until("A", (l) => l.currentStep === "await-all-clear");
  assert.equal(waiting.status, "RUNNING");
  assert.deepEqual(waiting.stepsDone, ["find-accounts", "suspend-supply"]);
  assert.deepEqual(await statusOf(where), { G: "SUS", E: "ACT", W: "ACT" });

  // The same alert again is the same incident and linkage; an Update reaches the linkage.
  await report(alert("gas-leak-alert.xml", "A", where));
  await report(alert("gas-leak-update.xml", "A", where));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal((await until("A", () => true)).currentStep, "await-all-clear", "an Update does not end the wait");

  const signalled = await post(`${linkageUrl("A")}/signals`, { signal: "all-clear", reason: "Leak sealed" });
  assert.equal(signalled.status, 202, await signalled.clone().text());
  assert.equal(signalled.headers.get("location"), new URL(linkageUrl("A")).pathname);
  const done = await settle(linkageUrl("A"));
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  assert.deepEqual(done.stepsDone, ["find-accounts", "suspend-supply", "await-all-clear", "restore-supply"]);
  const result = done.result as {
    services: string[];
    alerts: string[];
    endedBy: string;
    escalated: boolean;
    suspensionOrders: string[];
    restorationOrders: string[];
  };
  assert.deepEqual(result.services, ["gas"]);
  assert.deepEqual(result.alerts, [`FD-${run}-A.2`]);
  assert.equal(result.endedBy, "Leak sealed");
  assert.equal(result.escalated, false);
  assert.deepEqual(await statusOf(where), { G: "ACT", E: "ACT", W: "ACT" });
  assert.deepEqual(await ordersOf(String(incident.id)), ["SUSPEND G", "RESTORE G"], "each change once at the utility");

  // An ended linkage takes no more signals.
  const late = await post(`${linkageUrl("A")}/signals`, { signal: "all-clear" });
  assert.equal(late.status, 409);
  assert.equal((await json(late)).code, "HUB_ERR_LINKAGE_CLOSED");
});

test("an electrical fire's suspension not confirmed in time is escalated (event and metric), then carried out; a Cancel alert ends it", async (t) => {
  const where = await premise("B");
  const since = new Date();
  await fetch(`${utilities}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ outage: true }) });
  t.after(clearFaults);
  const incident = await report(alert("gas-leak-alert.xml", "B", where, "Electrical fire"));
  const bus = await connectBus(process.env.NATS_URL!, "incident-test");
  try {
    let escalated: CloudEvent | undefined;
    for (let i = 0; i < 100 && !escalated; i++) {
      const events = (await readStream(bus, "EVENTS", "events.linkages.linkage.escalated", { startTime: since })).map(
        (m) => JSON.parse(new TextDecoder().decode(m.data)) as CloudEvent,
      );
      escalated = events.find((e) => e.data.businessKey === `${SENDER},FD-${run}-B`);
      if (!escalated) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(escalated, "a linkages.linkage.escalated event");
    assert.equal(escalated.data.step, "suspend-supply");
    assert.equal(escalated.data.deadlineMs, 1500);
    assert.match(String(escalated.data.reason), /power suspension/);
  } finally {
    await bus.close();
  }
  const metrics = await (await fetch(`${linkagesNode.url}/metrics`)).text();
  assert.match(metrics, /hub_linkage_escalations_total\{[^}]*linkage_type="incident-utilities"[^}]*step="suspend-supply"[^}]*\} [1-9]/);
  const stuck = await until("B", () => true);
  assert.equal(stuck.status, "RUNNING", "still trying");
  assert.ok(["find-accounts", "suspend-supply"].includes(String(stuck.currentStep)), JSON.stringify(stuck));

  await clearFaults();
  await until("B", (l) => l.currentStep === "await-all-clear", 30_000);
  assert.deepEqual(await statusOf(where), { G: "ACT", E: "SUS", W: "ACT" });

  await report(alert("gas-leak-cancel.xml", "B", where, "Electrical fire"));
  const done = await settle(linkageUrl("B"));
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  const result = done.result as { services: string[]; escalated: boolean; endedBy: string };
  assert.deepEqual([result.services, result.escalated], [["power"], true]);
  assert.match(result.endedBy, /cancelled/);
  assert.deepEqual(await statusOf(where), { G: "ACT", E: "ACT", W: "ACT" });
  assert.deepEqual(await ordersOf(String(incident.id)), ["SUSPEND E", "RESTORE E"]);
});

test("without an all-clear the supply stays cut and the case open and listed; cancelled, it stays cut", async () => {
  const where = await premise("C");
  await report(alert("gas-leak-alert.xml", "C", where));
  await until("C", (l) => l.currentStep === "await-all-clear");

  const temporal = await hubTemporalClient();
  try {
    const workflowId = `incident-utilities:${SENDER},FD-${run}-C`;
    let listed = false;
    for (let i = 0; i < 50 && !listed; i++) {
      for await (const w of temporal.workflow.list({ query: `LinkageType="incident-utilities" AND LinkageStatus="AWAITING_ALL_CLEAR"` }))
        listed ||= w.workflowId === workflowId;
      if (!listed) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(listed, "ops find the open case with temporal workflow list --query");
  } finally {
    await temporal.connection.close();
  }

  const wrong = await post(`${linkageUrl("C")}/signals`, { signal: "consent-withdrawn" });
  assert.equal(wrong.status, 409);
  assert.match(String((await json(wrong)).detail), /takes "all-clear", not "consent-withdrawn"/);
  const bad = await post(`${linkageUrl("C")}/signals`, { signal: "all-clear", extra: 1 });
  assert.equal(bad.status, 400);

  const cancel = await fetch(`${linkageUrl("C")}/cancellation`, { method: "POST" });
  assert.equal(cancel.status, 202, await cancel.clone().text());
  const done = await settle(linkageUrl("C"));
  assert.equal(done.status, "CANCELLED");
  assert.match(String(done.reason), /stays suspended/);
  assert.deepEqual(await statusOf(where), { G: "SUS", E: "ACT", W: "ACT" });
  assert.equal((await fetch(`${linkageUrl("C")}/cancellation`, { method: "POST" })).status, 409);
  assert.equal((await fetch(`${api}/v1/linkages/${nameBasedUuid("nothing")}/cancellation`, { method: "POST" })).status, 404);
});

test("a gas leak whose alerts give no address is refused with the reason; other incidents start no linkage", async () => {
  await report(alert("gas-leak-alert.xml", "D", null));
  const refused = await until("D", (l) => l.status !== "RUNNING");
  assert.equal(refused.status, "REFUSED");
  assert.match(String(refused.reason), /no street and postcode/);

  const where = await premise("E");
  await report(alert("gas-leak-alert.xml", "E", where, "Flood"));
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal((await fetch(linkageUrl("E"))).status, 404);
  assert.deepEqual(await statusOf(where), { G: "ACT", E: "ACT", W: "ACT" });
});
