/**
 * The event bus on a real JetStream: CloudEvents validated on publish and consume, durable
 * consumer groups that catch up from before they existed, exactly one side effect per event
 * across crashes, bounded retries into DEAD_LETTERS and replay from there, and the outbox.
 * Side effects are counted per event id in the database, not by acks.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { openDb, type Db } from "../../platform/db";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { createEvent, subjectOf, type CloudEvent } from "../../platform/events/envelope";
import { deadLetters, replayDeadLetters } from "../../platform/events/admin";
import { enqueue, startOutboxRelay } from "../../platform/events/outbox";
import { waitFor } from "../../ops/stack/processes";

const ROOT = path.join(__dirname, "../..");
let db: Db;
let bus: EventBus;
const children: ChildProcess[] = [];

const started = (businessKey: string, id = randomUUID()) =>
  createEvent("linkages.linkage.started", { linkageId: randomUUID(), linkageType: "eid-issuance", businessKey }, { source: "test", id });

function worker(env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  let output = "";
  const child = spawn(process.execPath, ["--import", "tsx", "test/support/event-worker.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.setEncoding("utf8").on("data", (d) => (output += d));
  child.stderr!.setEncoding("utf8").on("data", (d) => (output += d));
  children.push(child);
  return { child, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))), output: () => output };
}

async function consumer(group: string, env: NodeJS.ProcessEnv = {}) {
  const w = worker({ ROLE: "consumer", GROUP: group, ...env });
  await waitFor(`consumer ${group}`, async () => w.output().includes("consuming"), 30_000, w.child);
  return w;
}

const effects = async (group: string, ids: string[]) =>
  db.query<{ event_id: string; n: number }>("SELECT event_id, n FROM test_events.side_effect WHERE grp = $1 AND event_id = ANY($2)", [group, ids]);

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  await waitFor(what, check, timeoutMs);
}

before(async () => {
  db = await openDb({ url: process.env.DATABASE_URL!, pgliteDir: "" });
  await db.exec(`
    CREATE SCHEMA IF NOT EXISTS test_events;
    CREATE TABLE IF NOT EXISTS test_events.side_effect (grp text, event_id text, n int NOT NULL, PRIMARY KEY (grp, event_id));
    CREATE TABLE IF NOT EXISTS test_events.fixed (business_key text PRIMARY KEY);
    CREATE TABLE IF NOT EXISTS test_events.write (id text PRIMARY KEY);`);
  bus = await connectBus(process.env.NATS_URL!, "events-test");
});
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  await bus?.close();
  await db?.close();
});

describe("envelope", () => {
  test("an event whose data breaks its schema is refused on publish, naming the field", async () => {
    const bad = started("K-1");
    (bad.data as Record<string, unknown>).linkageId = "not-a-uuid";
    await assert.rejects(bus.publish(bad), (err: { type: string; data: { errors: { pointer: string }[] } }) => {
      assert.equal(err.type, "HUB_ERR_EVENT_INVALID");
      assert.deepEqual(
        err.data.errors.map((e) => e.pointer),
        ["/data/linkageId"],
      );
      return true;
    });
    await assert.rejects(bus.publish({ ...started("K-2"), type: "civil-registry.nothing.happened" }), /does not match its contract/);
  });

  test("a valid event is a CloudEvents 1.0 envelope carrying request and linkage ids", () => {
    const event = createEvent(
      "linkages.linkage.started",
      { linkageId: randomUUID(), linkageType: "eid-issuance", businessKey: "K-3" },
      { source: "linkages", requestId: "req-1", linkageId: randomUUID() },
    );
    assert.equal(event.specversion, "1.0");
    assert.equal(event.datacontenttype, "application/json");
    assert.equal(event.requestid, "req-1");
    assert.match(event.linkageid!, /^[0-9a-f-]{36}$/);
  });
});

describe("consumer groups", () => {
  test("an event published before its group exists is handled once the group starts", async () => {
    const group = `late-${randomUUID().slice(0, 8)}`;
    const event = started("EARLY-1");
    await bus.publish(event);
    await consumer(group);
    await until("handled", async () => (await effects(group, [event.id])).length === 1);
    assert.equal((await effects(group, [event.id]))[0]!.n, 1);
  });

  test("killed between commit and ack: redelivered, acted on once", async () => {
    const group = `crash-${randomUUID().slice(0, 8)}`;
    const event = started("CRASH-1");
    const first = await consumer(group, { CRASH_AFTER_COMMIT: event.id, ACK_WAIT_MS: "1000" });
    await bus.publish(event);
    assert.notEqual(await first.exited, 0, "the consumer died after committing, before acknowledging");
    assert.equal((await effects(group, [event.id]))[0]!.n, 1);

    const second = await consumer(group, { ACK_WAIT_MS: "1000" });
    await until(
      "redelivered and acknowledged",
      async () => (await bus.jsm.consumers.info("EVENTS", group)).num_ack_pending === 0 && (await bus.jsm.consumers.info("EVENTS", group)).num_pending === 0,
    );
    const info = await bus.jsm.consumers.info("EVENTS", group);
    assert.ok(info.num_redelivered >= 0 && info.delivered.consumer_seq >= 2, "the event was delivered again");
    assert.equal((await effects(group, [event.id]))[0]!.n, 1, "the side effect happened once");
    second.child.kill("SIGTERM");
  });
});

describe("dead letters", () => {
  test("an always-failing event is dead-lettered after bounded, backed-off retries, and replay brings it back once fixed", async () => {
    const group = `dlq-${randomUUID().slice(0, 8)}`;
    const event = started(`FAIL-${randomUUID().slice(0, 8)}`);
    const w = await consumer(group, { BACKOFF_MS: "200,400" });
    const t0 = Date.now();
    await bus.publish(event);
    await until("dead-lettered", async () => (await deadLetters(bus, group)).length === 1, 30_000);
    assert.ok(Date.now() - t0 >= 600, "retries waited for their backoff");
    const [dead] = await deadLetters(bus, group);
    assert.equal(dead!.deliveries, 3);
    assert.match(dead!.reason, /failed 3 times; last error: the downstream system refuses FAIL-/);
    assert.equal((dead!.event as CloudEvent).id, event.id);
    assert.equal((await effects(group, [event.id])).length, 0, "never half-handled");

    // The cause is fixed; the operator replays the group's dead letters with the CLI.
    await db.query("INSERT INTO test_events.fixed (business_key) VALUES ($1)", [(event.data as { businessKey: string }).businessKey]);
    const out = execFileSync(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), "events", "replay", "--group", group, "--dead-letters"], {
      encoding: "utf8",
      env: process.env,
    });
    assert.match(out, /Replayed 1 dead letter/);
    await until("handled after replay", async () => (await effects(group, [event.id])).length === 1, 30_000);
    assert.equal((await effects(group, [event.id]))[0]!.n, 1);
    assert.equal((await deadLetters(bus, group)).length, 0, "replayed dead letters leave DEAD_LETTERS");
    w.child.kill("SIGTERM");
  });

  test("a batch with one failing event: the others' effects commit once, the failing one alone is retried", async (t) => {
    const group = `batch-${randomUUID().slice(0, 8)}`;
    const down = await consumer(group);
    down.child.kill("SIGKILL");
    await down.exited;
    // Published while the group is down, so they are delivered, and handled, together.
    const events = Array.from({ length: 40 }, (_, i) => started(i === 20 ? `FAIL-${randomUUID().slice(0, 8)}` : `BATCH-${i}`));
    const failing = events[20]!;
    const fix = () =>
      db.query("INSERT INTO test_events.fixed (business_key) VALUES ($1) ON CONFLICT DO NOTHING", [(failing.data as { businessKey: string }).businessKey]);
    // Whatever happens here, groups started by later tests (from the stream's start) must not find it failing.
    t.after(fix);
    const others = events.filter((e) => e !== failing);
    const ids = events.map((e) => e.id);
    for (const e of events) await bus.publish(e);
    const w = await consumer(group, { BACKOFF_MS: "300,300", BATCH_MAX_MS: "60000" });
    await until("dead-lettered", async () => (await deadLetters(bus, group)).length === 1, 30_000);
    // The failing event's retries may run out before a later delivery of the others commits.
    await until("the others acted on", async () => (await effects(group, ids)).length >= others.length, 30_000);

    const rows = await effects(group, ids);
    assert.deepEqual(rows.map((r) => r.event_id).sort(), others.map((e) => e.id).sort(), "every other event acted on");
    assert.ok(
      rows.every((r) => r.n === 1),
      "none acted on twice",
    );
    // Records share their transaction's start time: the failing event's neighbours (and so it) were one batch.
    const [before, after] = await Promise.all(
      [events[19]!, events[21]!].map(
        async (e) =>
          (await db.query<{ t: string }>("SELECT handled_at::text AS t FROM hub.handled_event WHERE consumer = $1 AND event_id = $2", [group, e.id]))[0]?.t,
      ),
    );
    assert.ok(before && before === after, `events 19 and 21 committed in one transaction (${before} vs ${after})`);
    const [dead] = await deadLetters(bus, group);
    assert.equal((dead!.event as CloudEvent).id, failing.id);
    assert.equal(dead!.deliveries, 3, "the failing event was retried, alone");
    assert.equal((await effects(group, [failing.id])).length, 0, "its effect rolled back each time");
    assert.equal((await db.query("SELECT 1 FROM hub.handled_event WHERE consumer = $1 AND event_id = $2", [group, failing.id])).length, 0, "and its record");
    // Fixed and replayed, it is acted on once too (and groups started later find it handled, not failing).
    await fix();
    assert.equal(await replayDeadLetters(bus, group), 1);
    await until("handled after replay", async () => (await effects(group, [failing.id])).length === 1, 30_000);
    assert.ok((await effects(group, ids)).every((r) => r.n === 1));
    w.child.kill("SIGTERM");
  });

  test("an event that breaks its schema reaches DEAD_LETTERS with the reason, never the handler", async () => {
    const group = `schema-${randomUUID().slice(0, 8)}`;
    const w = await consumer(group);
    const event = started("BAD-1");
    (event.data as Record<string, unknown>).businessKey = 42;
    // Published around the validating publisher, as a careless producer would.
    await bus.js.publish(subjectOf(event.type), JSON.stringify(event), { msgID: event.id });
    await bus.js.publish(subjectOf(event.type), "not json at all");
    await until("dead-lettered", async () => (await deadLetters(bus, group)).length === 2, 30_000);
    const reasons = (await deadLetters(bus, group)).map((d) => d.reason);
    assert.ok(
      reasons.some((r) => /the message is not JSON/.test(r)),
      reasons.join("; "),
    );
    assert.ok(
      reasons.some((r) => /the event breaks its contract: \/data\/businessKey must be string/.test(r)),
      reasons.join("; "),
    );
    assert.equal((await effects(group, [event.id])).length, 0);
    w.child.kill("SIGTERM");
  });
});

describe("operating the bus", () => {
  const cli = (...args: string[]) =>
    execFileSync(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), ...args], { encoding: "utf8", env: process.env, stdio: "pipe" });

  test("events streams lists the streams and each group's lag", async () => {
    const group = `lag-${randomUUID().slice(0, 8)}`;
    const w = await consumer(group);
    await until("caught up", async () => (await bus.jsm.consumers.info("EVENTS", group)).num_pending === 0);
    const report = JSON.parse(cli("events", "streams", "--json")) as { name: string; consumers: { group: string; pending: number }[] }[];
    const events = report.find((s) => s.name === "EVENTS")!;
    assert.ok(report.some((s) => s.name === "DEAD_LETTERS"));
    assert.deepEqual(events.consumers.find((c) => c.group === group)?.pending, 0);
    w.child.kill("SIGKILL");
    await w.exited;
    await bus.publish(started("LAG-1"));
    const after = JSON.parse(cli("events", "streams", "--json")) as typeof report;
    assert.equal(after.find((s) => s.name === "EVENTS")!.consumers.find((c) => c.group === group)?.pending, 1, "one event waits for the stopped group");
    assert.match(cli("events", "streams"), new RegExp(`${group}\\s+lag\\s+1`));
  });

  test("a time-range replay reaches only the named group, which acts only on what it has not handled", async () => {
    const [a, b] = [`range-a-${randomUUID().slice(0, 8)}`, `range-b-${randomUUID().slice(0, 8)}`];
    const wa = await consumer(a),
      wb = await consumer(b);
    const since = new Date();
    const event = started("RANGE-1");
    await bus.publish(event);
    await until("both handled", async () => (await effects(a, [event.id])).length === 1 && (await effects(b, [event.id])).length === 1);

    assert.match(cli("events", "replay", "--group", a, "--since", since.toISOString()), /Replayed \d+ event/);
    await until(
      "replay consumed",
      async () => (await bus.jsm.consumers.info("EVENTS", a)).num_pending === 0 && (await bus.jsm.consumers.info("EVENTS", a)).num_ack_pending === 0,
    );
    assert.equal((await effects(a, [event.id]))[0]!.n, 1, "already handled: not acted on again");

    // A group whose record was reset (say, restored from a backup) gets the event again.
    await db.query("DELETE FROM hub.handled_event WHERE consumer = $1", [a]);
    cli("events", "replay", "--group", a, "--since", since.toISOString(), "--type", "linkages.linkage.started");
    await until("handled again", async () => (await effects(a, [event.id]))[0]!.n === 2);
    assert.equal((await effects(b, [event.id]))[0]!.n, 1, "the other group saw nothing");
    wa.child.kill("SIGTERM");
    wb.child.kill("SIGTERM");
  });

  test("every command explains itself and refuses bad usage with exit code 2", () => {
    for (const args of [
      ["--help"],
      ["events", "--help"],
      ["events", "streams", "--help"],
      ["events", "dead-letters", "--help"],
      ["events", "replay", "--help"],
    ])
      assert.match(cli(...args), /Usage:/, args.join(" "));
    assert.throws(
      () => cli("events", "replay", "--group", "x"),
      (err: { status: number; stderr: string }) => err.status === 2 && /--dead-letters or --since/.test(err.stderr),
    );
    assert.throws(
      () => cli("events", "replay", "--group", "x", "--since", "yesterday"),
      (err: { status: number; stderr: string }) => err.status === 2 && /ISO 8601/.test(err.stderr),
    );
    assert.throws(
      () => cli("nonsense"),
      (err: { status: number }) => err.status === 2,
    );
  });
});

describe("outbox", () => {
  test("killed between the write and the publish: the event is published after restart, with its write", async () => {
    const rowId = randomUUID();
    const event = started(`OUTBOX-${rowId}`);
    const writer = worker({ ROLE: "outbox-write", ROW_ID: rowId, EVENT_JSON: JSON.stringify(event) });
    await writer.exited;
    assert.match(writer.output(), /committed/);
    assert.equal((await db.query("SELECT 1 FROM test_events.write WHERE id = $1", [rowId])).length, 1);
    assert.equal((await db.query("SELECT 1 FROM hub.outbox WHERE event->>'id' = $1", [event.id])).length, 1, "queued, not yet published");

    // Any hub node relays the outbox; a consumer group then sees the event.
    const group = `outbox-${randomUUID().slice(0, 8)}`;
    const w = await consumer(group);
    const relay = startOutboxRelay(db, bus, (err) => console.error(err));
    await until("published and handled", async () => (await effects(group, [event.id])).length === 1, 30_000);
    await relay.stop();
    assert.equal((await db.query("SELECT 1 FROM hub.outbox WHERE event->>'id' = $1", [event.id])).length, 0);
    w.child.kill("SIGTERM");
  });

  test("a write that rolls back takes its event with it", async () => {
    const event = started("ROLLBACK-1");
    await assert.rejects(
      db.transaction(async (tx) => {
        await enqueue(tx, event);
        throw new Error("the write failed");
      }),
      /the write failed/,
    );
    assert.equal((await db.query("SELECT 1 FROM hub.outbox WHERE event->>'id' = $1", [event.id])).length, 0);
  });
});

// Last: groups created after it would first work through its 10,000 events.
describe("volume", () => {
  test("10,000 events published while the consumer is down: each acted on exactly once", async () => {
    const group = `bulk-${randomUUID().slice(0, 8)}`;
    const down = await consumer(group);
    down.child.kill("SIGKILL");
    await down.exited;

    const events = Array.from({ length: 10_000 }, (_, i) => started(`BULK-${i}`));
    for (let i = 0; i < events.length; i += 500) await Promise.all(events.slice(i, i + 500).map((e) => bus.publish(e)));
    // Publishing twice is harmless: the ids de-duplicate.
    await Promise.all(events.slice(0, 500).map((e) => bus.publish(e)));

    const up = await consumer(group);
    const ids = events.map((e) => e.id);
    await until("all 10,000 handled", async () => (await effects(group, ids)).length === ids.length, 180_000);
    const rows = await effects(group, ids);
    assert.equal(rows.length, 10_000);
    assert.ok(
      rows.every((r) => r.n === 1),
      "no event acted on twice",
    );
    up.child.kill("SIGTERM");
  });
});
