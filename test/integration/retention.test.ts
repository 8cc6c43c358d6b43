/**
 * Retention on the real stack: a closed linkage's status, and a repeated start, answer from the
 * hub's stored outcome once Temporal has deleted the workflow (as its namespace's retention
 * does); the retention jobs remove only the rows past their limit and count them in
 * `hub_retention_removed_total`; the server's drops from a stream are counted; the stack sets the
 * namespace's retention and the streams' max_age.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { WorkflowNotFoundError, type Client, type Connection } from "@temporalio/client";
import { nanos } from "nats";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, json, post, seedCitizens, settle, startNode, type TestNode } from "../support/hub";
import { suiteDb } from "../support/partner";
import type { Db } from "../../platform/db";
import { loadConfig } from "../../platform/config";
import { closeTemporal, temporal as temporalOf } from "../../platform/temporal";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { removeExpiredRows, streamRemovals } from "../../hub/retention";

const env: NodeJS.ProcessEnv = { ...clusterEnv(), HUB_RETENTION_EVERY_MS: "1000", HUB_EVENTS_RETENTION_DAYS: "29" };
const config = loadConfig();
let hub: TestNode;
let connection: Connection;
let temporal: Client;
let bus: EventBus;

before(async () => {
  hub = await startNode("all", env);
  // The hub's client: its payload codec decodes the memo a description carries.
  ({ connection, client: temporal } = temporalOf(config));
  bus = await connectBus(process.env.NATS_URL!, `retention-test-${process.pid}`);
});
after(async () => {
  await hub?.stop();
  await closeTemporal();
  await bus?.close();
});

/** Deletes the workflow as Temporal's retention would, and waits until Temporal no longer has it; returns how long that took. */
async function deleteFromTemporal(workflowId: string): Promise<number> {
  const t0 = Date.now();
  await connection.workflowService.deleteWorkflowExecution({ namespace: config.temporalNamespace, workflowExecution: { workflowId } });
  for (let i = 0; ; i++) {
    const gone = await temporal.workflow
      .getHandle(workflowId)
      .describe()
      .then(
        () => false,
        (err) => (err instanceof WorkflowNotFoundError ? true : Promise.reject(err)),
      );
    if (gone) return Date.now() - t0;
    // The dev server deletes in a background task: it took 30 to 60 s here.
    assert.ok(i < 1200, "Temporal still describes the deleted workflow after 120 s");
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("past Temporal's retention, a linkage's status answers from the hub's store and a repeated start starts nothing", async (t) => {
  const [citizen] = await seedCitizens(1);
  const request = { applicationNo: `RET-${randomUUID().slice(0, 8)}`, idNumber: citizen!.citizenNo, name: citizen!.fullName };
  const started = await post(`${hub.url}/v1/linkages/eid-issuances`, request);
  assert.equal(started.status, 202);
  const { id } = (await json(started)) as { id: string };
  const ended = await settle(`${hub.url}/v1/linkages/${id}`);
  assert.equal(ended.status, "COMPLETED");
  const db = await suiteDb();
  const [stored] = await db.query<{ status: string; result: Record<string, unknown> }>("SELECT status, result FROM hub.linkage_outcome WHERE linkage_id = $1", [
    id,
  ]);
  assert.equal(stored?.status, "COMPLETED");
  assert.deepEqual(Object.keys(stored!.result).sort(), ["eidNo", "expiresAt", "issuedAt"], "the stored result keeps references, not the credential");
  assert.ok(!JSON.stringify(stored).includes(citizen!.citizenNo) && !JSON.stringify(stored).includes(citizen!.fullName));

  const [{ workflow_id: workflowId }] = (await db.query<{ workflow_id: string }>("SELECT workflow_id FROM hub.linkage WHERE id = $1", [id])) as [
    { workflow_id: string },
  ];
  t.diagnostic(`Temporal deleted the workflow in ${await deleteFromTemporal(workflowId)} ms`);
  // A new node: nothing of the linkage kept in memory (closed linkages' answers are kept a minute).
  await hub.stop();
  hub = await startNode("all", env);

  const { credential, ...references } = ended.result as Record<string, unknown>;
  assert.ok(credential, "Temporal's answer had the credential");
  const expected = { ...ended, result: references };
  assert.deepEqual(await json(await fetch(`${hub.url}/v1/linkages/${id}`)), expected, "REST status, from the store");
  const broker: ServiceBroker = await callerBroker(env.HUB_NAMESPACE!, ["linkages"]);
  try {
    assert.deepEqual(await broker.call("linkages.status.get", { id }), expected, "the NATS status action, from the store");
  } finally {
    await broker.stop();
  }

  const again = await post(`${hub.url}/v1/linkages/eid-issuances`, request, { "idempotency-key": randomUUID() });
  assert.equal(again.status, 202);
  assert.deepEqual(await json(again), expected, "a repeated start returns the same linkage as it ended");
  const count = await temporal.workflow.count(`WorkflowId = "${workflowId}"`);
  assert.equal(Number(count.count), 0, "no workflow started again");
  const rows = await db.query("SELECT 1 FROM hub.linkage WHERE business_key = $1", [request.applicationNo]);
  assert.equal(rows.length, 1);
  const cancel = await fetch(`${hub.url}/v1/linkages/${id}/cancellation`, { method: "POST" });
  assert.equal(cancel.status, 409, "an ended linkage takes no cancellation, also past the retention");
  assert.match(String((await json(cancel)).type), /linkage-closed/);
});

async function removedSoFar(): Promise<Record<string, number>> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^hub_retention_removed_total\{[^}]*kind="([^"]+)"[^}]*\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Rows of each kind, `ages` seconds past (positive) or short of (negative) the kind's limit. */
async function plant(tag: string, ages: number[]): Promise<void> {
  const db = await suiteDb();
  const idem = config.idempotencyTtlS;
  const hooks = config.webhookRetentionDays * 86_400;
  const handled = Math.max(config.eventsRetentionDays, config.deadLettersRetentionDays) * 86_400;
  for (const [i, age] of ages.entries()) {
    await db.query(
      `INSERT INTO hub.idempotency_key (partner_id, key, fingerprint, status, created_at) VALUES ($1, $2, 'f', 201, now() - make_interval(secs => $3))`,
      [`retention-${tag}`, `${i}`, idem + age],
    );
    await db.query(
      `INSERT INTO hub.webhook_delivery (event_id, partner_id, url, event, attempts, updated_at) VALUES ($1, $2, 'http://x', '{}', 1, now() - make_interval(secs => $3))`,
      [`${tag}-${i}`, `retention-${tag}`, hooks + age],
    );
    await db.query(`INSERT INTO hub.handled_event (consumer, event_id, handled_at) VALUES ($1, $2, now() - make_interval(secs => $3))`, [
      `retention-${tag}`,
      `${i}`,
      handled + age,
    ]);
    await plantPermitAndFlight(db, tag, i, age);
  }
}

/** An ended permit linkage's application, and a flight report, `age` seconds past or short of their limits. */
async function plantPermitAndFlight(db: Db, tag: string, i: number, age: number): Promise<void> {
  const linkageId = randomUUID();
  await db.query("INSERT INTO hub.linkage (id, type, business_key, workflow_id, partner_id) VALUES ($1, 'event-permit', $2, $3, $4)", [
    linkageId,
    `${tag}-${i}`,
    `retention-${tag}-${i}`,
    `retention-${tag}`,
  ]);
  await db.query(
    "INSERT INTO hub.linkage_outcome (linkage_id, status, progress, closed_at) VALUES ($1, 'COMPLETED', '{\"stepsDone\":[]}', now() - make_interval(secs => $2))",
    [linkageId, config.permitApplicationsRetentionDays * 86_400 + age],
  );
  await db.query("INSERT INTO hub.permit_application (linkage_id, application_no, organiser) VALUES ($1, $2, '{}')", [linkageId, `retention-${tag}`]);
  await db.query(
    `INSERT INTO hub.flight_report (report_id, partner_id, drone_registration, area, west, south, east, north, max_altitude_m, starts_at, ends_at, outcome)
     VALUES ($1, $2, 'x', '{}', 0, 0, 1, 1, 100, now() - make_interval(secs => $3 + 3600), now() - make_interval(secs => $3), 'ACCEPTED')`,
    [`FR-${randomUUID().replace(/-/g, "").slice(0, 16).toUpperCase()}`, `retention-${tag}`, config.flightReportsRetentionDays * 86_400 + age],
  );
}

async function left(tag: string): Promise<number[]> {
  const db = await suiteDb();
  const n = async (sql: string) => Number((await db.query<{ n: string }>(sql, [`retention-${tag}`]))[0]!.n);
  return [
    await n("SELECT count(*) AS n FROM hub.idempotency_key WHERE partner_id = $1"),
    await n("SELECT count(*) AS n FROM hub.webhook_delivery WHERE partner_id = $1"),
    await n("SELECT count(*) AS n FROM hub.handled_event WHERE consumer = $1"),
    await n("SELECT count(*) AS n FROM hub.permit_application WHERE application_no = $1"),
    await n("SELECT count(*) AS n FROM hub.flight_report WHERE partner_id = $1"),
  ];
}

test("the retention jobs remove the rows just past their limit, keep those just short of it, and count what they removed", async () => {
  // Anything due already goes first, so the count below is this test's rows alone.
  await removeExpiredRows(await suiteDb(), config);
  const before = await removedSoFar();
  const tag = randomUUID().slice(0, 8);
  // Three rows of each kind a minute past the limit, two a minute short of it.
  await plant(tag, [60, 60, 60, -60, -60]);
  for (let i = 0; (await left(tag)).some((n) => n > 2); i++) {
    assert.ok(i < 100, `the rows past their limit are still there after 10 s: ${JSON.stringify(await left(tag))}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await left(tag), [2, 2, 2, 2, 2], "the rows short of their limit are kept");
  await new Promise((r) => setTimeout(r, 1500)); // another run: nothing more goes
  assert.deepEqual(await left(tag), [2, 2, 2, 2, 2]);
  const now = await removedSoFar();
  for (const kind of ["idempotent-answers", "webhook-deliveries", "handled-events", "permit-applications", "flight-reports"])
    assert.equal(now[kind]! - before[kind]!, 3, `hub_retention_removed_total{kind="${kind}"} counts the three removed`);
});

test("what the server drops from a stream past its max_age is counted; the hub's streams carry the configured max_age", async () => {
  const name = `RETENTION_TEST_${randomUUID().slice(0, 8).toUpperCase()}`;
  await bus.jsm.streams.add({ name, subjects: [`${name}.>`], max_age: nanos(1000) });
  try {
    const look = streamRemovals(bus.jsm, [[name, "counts-stream"]]);
    assert.deepEqual(await look(), {}, "a first look counts nothing");
    for (let i = 0; i < 5; i++) await bus.js.publish(`${name}.x`, new Uint8Array([i]));
    for (let i = 0; (await bus.jsm.streams.info(name)).state.messages > 0; i++) {
      assert.ok(i < 100, "the server did not drop the aged messages in 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
    for (let i = 0; i < 2; i++) await bus.js.publish(`${name}.x`, new Uint8Array([i]));
    assert.deepEqual(await look(), { "counts-stream": 5 }, "the five dropped, not the two just stored");
  } finally {
    await bus.jsm.streams.delete(name);
  }
  // Every node sets the streams' limits at start-up (this test's bus set its default of 30 days since the node started).
  await hub.stop();
  hub = await startNode("all", env);
  const events = await bus.jsm.streams.info("EVENTS");
  assert.equal(events.config.max_age, nanos(Number(env.HUB_EVENTS_RETENTION_DAYS) * 86_400_000));
});

test("the stack sets the namespace's retention for closed workflows", async () => {
  const ns = await connection.workflowService.describeNamespace({ namespace: config.temporalNamespace });
  assert.equal(Number(ns.config?.workflowExecutionRetentionTtl?.seconds), config.temporalRetentionDays * 86_400);
});
