/**
 * The hub on a NATS cluster of 3 (ops/stack/nats-cluster.ts), on ports of the test's own: a
 * hub node and an event-bus client connect with NATS_URL's comma list, the hub's streams are
 * made with 3 replicas (HUB_STREAM_REPLICAS), and a consumer group keeps acting on every event
 * exactly once while the server the client is connected to is killed with SIGKILL and later
 * restarted. Effects are counted per event id in PostgreSQL, not by acks.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { credsAuthenticator } from "nats";
import { startNatsCluster, type NatsCluster } from "../../ops/stack/nats-cluster";
import { waitFor } from "../../ops/stack/processes";
import { openDb, type Db } from "../../platform/db";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { startConsumer, type RunningConsumer } from "../../platform/events/consumer";
import { createEvent, subjectOf, type CloudEvent } from "../../platform/events/envelope";
import { COUNTS_STREAM, DEAD_LETTER_STREAM, DEFAULT_STREAM_SETTINGS, EVENTS_STREAM } from "../../platform/events/streams";
import { natsAuthDir } from "../../platform/nats-auth";
import { clusterEnv, freePort, startNode, type TestNode } from "../support/hub";

const TYPE = "linkages.linkage.started";
const GROUP = `cluster-${randomUUID().slice(0, 8)}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "nats-cluster-test-"));
let cluster: NatsCluster;
let natsUrl: string;
let node: TestNode;
let db: Db;
let bus: EventBus;
let consumer: RunningConsumer;
/** Every event id published (acknowledged by JetStream), in order, and when each was acknowledged. */
const published: string[] = [];
const ackedAt: number[] = [];
/** The node the test killed, by index. */
let killed = -1;

const event = (): CloudEvent =>
  createEvent(TYPE, { linkageId: randomUUID(), linkageType: "eid-issuance", businessKey: `K-${published.length}` }, { source: "test" });

/** Publishes `e` until JetStream acknowledges it (as the outbox relay does, with the same id), or 30 s pass. */
async function publishSurely(e: CloudEvent): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await bus.publish(e);
      published.push(e.id);
      ackedAt.push(Date.now());
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
  }
}

/** Publishes one event every `everyMs` for `ms`, one after another. */
async function publishFor(ms: number, everyMs = 20): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await publishSurely(event());
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How many times the group acted on each published event. */
async function effects(): Promise<Map<string, number>> {
  const rows = await db.query<{ event_id: string; n: number }>("SELECT event_id, n FROM test_nats_cluster.side_effect WHERE grp = $1", [GROUP]);
  return new Map(rows.map((r) => [r.event_id, Number(r.n)]));
}

async function allActedOn(timeoutMs = 45_000): Promise<void> {
  await waitFor(`the group acting on ${published.length} events`, async () => (await effects()).size >= published.length, timeoutMs);
}

const streamInfo = (name: string) => bus.jsm.streams.info(name);
const readyz = async () => (await fetch(`${node.url}/readyz`).catch(() => undefined))?.status;

before(async () => {
  const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const urls = ports.slice(0, 3).map((p) => `nats://127.0.0.1:${p}`);
  cluster = await startNatsCluster(urls, dataDir, () => {}, { routePorts: ports.slice(3) });
  natsUrl = urls.join(",");
  node = await startNode("api", {
    ...clusterEnv(),
    NATS_URL: natsUrl,
    NATS_CREDS: cluster.credsFile,
    NATS_SYSTEM_CREDS: path.join(natsAuthDir(dataDir), "system.creds"),
    HUB_STREAM_REPLICAS: "3",
  });
  db = await openDb({ url: process.env.DATABASE_URL!, pgliteDir: "" });
  await db.exec(`CREATE SCHEMA IF NOT EXISTS test_nats_cluster;
    CREATE TABLE IF NOT EXISTS test_nats_cluster.side_effect (grp text, event_id text, n int NOT NULL, PRIMARY KEY (grp, event_id));`);
  bus = await connectBus(
    natsUrl,
    "nats-cluster-test",
    { authenticator: credsAuthenticator(new Uint8Array(fs.readFileSync(cluster.credsFile))) },
    { ...DEFAULT_STREAM_SETTINGS, replicas: 3 },
  );
  consumer = await startConsumer(bus, db, {
    group: GROUP,
    types: [TYPE],
    // An ack lost with its server comes back soon, and is then only acknowledged (the event's record is there).
    ackWaitMs: 5000,
    async handle(e, tx) {
      await tx.query(
        "INSERT INTO test_nats_cluster.side_effect (grp, event_id, n) VALUES ($1, $2, 1) ON CONFLICT (grp, event_id) DO UPDATE SET n = test_nats_cluster.side_effect.n + 1",
        [GROUP, e.id],
      );
    },
  });
});

after(async () => {
  await consumer?.stop();
  await bus?.close().catch(() => {});
  await node?.stop();
  await cluster?.stop();
  await db?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test("the hub node connects with NATS_URL's list and makes its streams with 3 replicas, one on each server", async () => {
  assert.equal(await readyz(), 200);
  for (const name of [EVENTS_STREAM, DEAD_LETTER_STREAM, COUNTS_STREAM]) {
    const info = await streamInfo(name);
    assert.equal(info.config.num_replicas, 3, `${name}'s replicas`);
    const servers = [info.cluster!.leader, ...info.cluster!.replicas!.map((r) => r.name)].sort();
    assert.deepEqual(servers, ["n1", "n2", "n3"], `${name} on every server`);
  }
  const group = await bus.jsm.consumers.info(EVENTS_STREAM, GROUP);
  assert.equal(group.cluster!.replicas!.length, 2, "the consumer group is replicated as its stream");
});

/** The longest wait between two acknowledged publishes from event `from` on, in ms. */
const longestPause = (from: number) => Math.max(0, ...ackedAt.slice(from + 1).map((t, i) => t - ackedAt[from + i]!));

test("killing the server the client is on (SIGKILL) loses no event and acts on none twice", async (t) => {
  await publishFor(2000);
  await allActedOn();
  const server = bus.nc.getServer();
  killed = cluster.nodes.findIndex((n) => `${n.host}:${n.port}` === server);
  assert.ok(killed >= 0, `the client is on one of the cluster's servers (${server})`);
  const publishing = publishFor(8000);
  await new Promise((r) => setTimeout(r, 1000));
  cluster.processes[killed]!.child!.kill("SIGKILL");
  const atKill = published.length;
  await publishing;
  assert.notEqual(bus.nc.getServer(), server, "the client moved to another server");
  assert.ok(published.length > atKill, `events kept being published after the kill (${published.length - atKill})`);
  t.diagnostic(`${atKill} events before the kill, ${published.length - atKill} after; longest pause between acknowledgements ${longestPause(atKill - 1)} ms`);
  await allActedOn();
  const counts = await effects();
  assert.deepEqual(
    published.filter((id) => counts.get(id) !== 1),
    [],
    "every event acted on exactly once",
  );
  assert.equal(counts.size, published.length, "no event the test did not publish");
  const stored = await bus.jsm.streams.info(EVENTS_STREAM, { subjects_filter: subjectOf(TYPE) });
  assert.equal(stored.state.subjects?.[subjectOf(TYPE)], published.length, "JetStream stored each event once (de-duplicated by its id)");
  await waitFor("the hub node ready again", async () => (await readyz()) === 200, 20_000);
});

test("the killed server, restarted on its store, catches up: every replica current again", async () => {
  assert.ok(killed >= 0, "a server was killed");
  await cluster.restart(killed);
  await waitFor(
    "EVENTS's replicas current",
    async () => {
      const info = await streamInfo(EVENTS_STREAM);
      return info.cluster!.replicas!.length === 2 && info.cluster!.replicas!.every((r) => r.current && !r.offline);
    },
    30_000,
  );
  await publishFor(500);
  await allActedOn();
  assert.equal((await effects()).size, published.length);
});

test("stopping the cluster leaves none of its processes running", async () => {
  const pids = cluster.processes.map((p) => p.child!.pid!);
  await consumer.stop();
  await bus.close();
  await node.stop();
  await cluster.stop();
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  assert.deepEqual(alive, []);
});
