/**
 * The live crowd watch on the real stack: a hub node (all roles, the crowd role with them), NATS
 * with authentication, PostgreSQL and public security's sandbox. Devices are registered with
 * `npx linkage-hub devices` and publish with the credentials it issues; level changes are read
 * from EVENTS; drops from /metrics. A reading stops counting after CROWD_STALE_MS (20 s here):
 * stale readings are made by dating them in the past, readings that must outlive a restart by
 * dating them a little ahead.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import type { components } from "../../contracts/generated/types";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { createEvent, type CloudEvent } from "../../platform/events/envelope";
import { loadConfig } from "../../platform/config";
import { natsAuthDir } from "../../platform/nats-auth";
import { addPartner } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { rawFetch, suiteDb } from "../support/partner";
import { eventually } from "../support/permits";

type KeyPlaceCrowd = components["schemas"]["KeyPlaceCrowd"];
type LevelChange = components["schemas"]["CrowdLevelChangedEvent"];

const ROOT = path.resolve(__dirname, "../..");
const STALE_MS = 20_000;
const run = randomBytes(3).toString("hex");
const id = (name: string) => `T${run}-${name}`;

const env = { ...clusterEnv(), CROWD_STALE_MS: String(STALE_MS) };
let hub: TestNode;
let bus: EventBus;
const open: NatsConnection[] = [];

/** `npx linkage-hub devices ...` against the test's hub; answers its --json output. */
async function devices(...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), "devices", ...args, "--json"], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** A device registered at `placeId` and connected to NATS with the credentials `devices add` issued. */
async function device(deviceId: string, placeId: string): Promise<NatsConnection> {
  const added = await devices("add", deviceId, "--place", placeId);
  assert.equal(added.creds, path.join(natsAuthDir(loadConfig().dataDir), `device-${deviceId}.creds`));
  assert.equal(added.subject, `counts.${placeId}.${deviceId}`);
  const nc = await connect({ servers: process.env.NATS_URL, authenticator: credsAuthenticator(new Uint8Array(fs.readFileSync(String(added.creds)))) });
  open.push(nc);
  return nc;
}

const reading = (deviceId: string, placeId: string, count: number, at = Date.now()) => ({ deviceId, placeId, count, at: new Date(at).toISOString() });

async function send(nc: NatsConnection, subject: string, body: unknown): Promise<void> {
  nc.publish(subject, typeof body === "string" ? body : JSON.stringify(body));
  await nc.flush();
}

const place = async (placeId: string) => (await fetch(`${hub.url}/v1/key-places/${placeId}`)).json() as Promise<KeyPlaceCrowd>;

/** The crowd.level.changed events of one place on EVENTS, in order. */
async function levelEvents(placeId: string): Promise<LevelChange[]> {
  const seen: LevelChange[] = [];
  const consumer = await bus.js.consumers.get("EVENTS", { filterSubjects: ["events.crowd.level.changed"] });
  const info = await consumer.info(true);
  if (info.num_pending === 0) return seen;
  const messages = await consumer.fetch({ max_messages: info.num_pending, expires: 2000 });
  for await (const m of messages) {
    const event = m.json<CloudEvent>();
    if (event.subject === placeId) seen.push(event.data as LevelChange);
    if (m.info.pending === 0) break;
  }
  return seen;
}
const levels = async (placeId: string) => (await levelEvents(placeId)).map((e) => e.level);

/** The drop counters of the hub's /metrics, by reason, and the readings handled. */
async function counters(): Promise<Record<string, number>> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^hub_crowd_counts_dropped_total\{reason="(\w+)"\} (\d+)/gm)) out[m[1]!] = Number(m[2]);
  out.handled = Number(/^hub_crowd_counts_total (\d+)/m.exec(text)?.[1] ?? NaN);
  return out;
}

before(async () => {
  hub = await startNode("all", env);
  bus = await connectBus(process.env.NATS_URL!, `crowd-test-${process.pid}`);
});
after(async () => {
  for (const nc of open) await nc.close().catch(() => {});
  await bus?.nc.close();
  await hub?.stop();
});

describe("levels", () => {
  test("a crowd rising through warning to critical publishes one event per level change, with the place's numbers", async () => {
    const P = id("rise");
    await devices("place", P, "--capacity", "100");
    const d1 = await device(id("rise-1"), P);
    const d2 = await device(id("rise-2"), P);
    const t = Date.now();
    await send(d1, `counts.${P}.${id("rise-1")}`, reading(id("rise-1"), P, 30, t));
    await send(d2, `counts.${P}.${id("rise-2")}`, reading(id("rise-2"), P, 50, t + 1)); // 80: warning
    await send(d2, `counts.${P}.${id("rise-2")}`, reading(id("rise-2"), P, 55, t + 2)); // 85: still warning
    await send(d1, `counts.${P}.${id("rise-1")}`, reading(id("rise-1"), P, 45, t + 3)); // 100: critical
    const events = await eventually(
      () => levelEvents(P),
      (e) => e.length >= 2,
    );
    assert.deepEqual(
      events.map((e) => [e.previousLevel, e.level, e.count, e.capacity, e.occupancy, e.at]),
      [
        ["normal", "warning", 80, 100, 0.8, new Date(t + 1).toISOString()],
        ["warning", "critical", 100, 100, 1, new Date(t + 3).toISOString()],
      ],
    );
    const now = await place(P);
    assert.deepEqual([now.count, now.capacity, now.occupancy, now.level, now.source], [100, 100, 1, "critical", "registered"]);
    assert.deepEqual(
      now.devices.map((d) => [d.deviceId, d.count, d.stale]),
      [
        [id("rise-1"), 45, false],
        [id("rise-2"), 55, false],
      ],
    );
  });

  test("a place's own thresholds set its levels", async () => {
    const P = id("own");
    await devices("place", P, "--capacity", "100");
    const set = await devices("thresholds", P, "--warning", "0.5", "--critical", "0.6");
    assert.deepEqual([set.warningAt, set.criticalAt], [0.5, 0.6]);
    const d = await device(id("own-1"), P);
    await send(d, `counts.${P}.${id("own-1")}`, reading(id("own-1"), P, 60));
    assert.deepEqual(
      await eventually(
        () => levels(P),
        (l) => l.length >= 1,
      ),
      ["critical"],
    );
  });

  test("stale devices stop counting: the level falls when their readings expire, and they show as stale", async () => {
    const P = id("stale");
    await devices("place", P, "--capacity", "10");
    const d = await device(id("stale-1"), P);
    // Dated so that it goes stale about 3 s from now.
    await send(d, `counts.${P}.${id("stale-1")}`, reading(id("stale-1"), P, 9, Date.now() - STALE_MS + 3000));
    assert.deepEqual(
      await eventually(
        () => levels(P),
        (l) => l.length >= 1,
      ),
      ["warning"],
    );
    assert.deepEqual(
      await eventually(
        () => levels(P),
        (l) => l.length >= 2,
      ),
      ["warning", "normal"],
    );
    const now = await place(P);
    assert.deepEqual([now.count, now.level, now.devices[0]!.stale, now.devices[0]!.count], [0, "normal", true, 9]);
    const metrics = await (await fetch(`${hub.url}/metrics`)).text();
    assert.ok(Number(/^hub_crowd_stale_devices (\d+)/m.exec(metrics)?.[1]) >= 1, "the stale device is counted");
    assert.match(metrics, /^hub_crowd_places\{level="normal"\} \d+/m);
  });
});

describe("many devices", () => {
  test("devices import registers devices and places in bulk with their credentials; remove takes them out", async () => {
    const file = path.join(loadConfig().dataDir, `crowd-import-${run}.csv`);
    const [A, B] = [id("import-a"), id("import-b")];
    const lines = ["# deviceId,placeId,kind,capacity", `${id("imp-1")},${A},gate,50`, `${id("imp-2")},${A}`, "", `${id("imp-3")},${B},camera,20`];
    fs.writeFileSync(file, lines.join("\n"));
    assert.deepEqual(await devices("import", file), { devices: 3, places: 2, creds: 3, dir: natsAuthDir(loadConfig().dataDir) });
    const listed = ((await devices("list")).devices as { deviceId: string; placeId: string; kind: string }[]).filter((d) => d.deviceId.startsWith(id("imp")));
    assert.deepEqual(
      listed.map((d) => [d.deviceId, d.placeId, d.kind]),
      [
        [id("imp-1"), A, "gate"],
        [id("imp-2"), A, "counter"],
        [id("imp-3"), B, "camera"],
      ],
    );
    for (const d of listed) assert.ok(fs.existsSync(path.join(natsAuthDir(loadConfig().dataDir), `device-${d.deviceId}.creds`)));
    const a = await eventually(
      () => place(A),
      (p) => p.devices?.length === 2,
    );
    assert.deepEqual([a.capacity, a.source, a.devices.length], [50, "registered", 2]);
    const removed = await devices("remove", id("imp-2"));
    assert.deepEqual(removed.revoked, [`device-${id("imp-2")}`]);
    assert.deepEqual(
      (await place(A)).devices.map((d) => d.deviceId),
      [id("imp-1")],
    );
    assert.ok(!fs.existsSync(path.join(natsAuthDir(loadConfig().dataDir), `device-${id("imp-2")}.creds`)));
  });
});

describe("bad input", () => {
  test("every bad reading is dropped and counted by its reason, none reaches the count", async () => {
    const P = id("bad");
    const P2 = id("bad-other");
    await devices("place", P, "--capacity", "100");
    await devices("place", P2, "--capacity", "100");
    const D = id("bad-1");
    await device(D, P);
    await devices("add", id("bad-nowhere"), "--place", id("no-such-place"));
    // The hub's own connection publishes what a device's credentials would not let it.
    const nc = bus.nc;
    const at = Date.now();
    const before = await counters();
    const deadBefore = (await bus.jsm.streams.info("DEAD_LETTERS")).state.messages;
    await send(nc, `counts.${P}.${D}`, reading(D, P, 10, at));
    const sent: [string, string, unknown][] = [
      ["malformed", `counts.${P}.${D}`, "{not json"],
      ["invalid", `counts.${P}.${D}`, { deviceId: D, placeId: P, count: "ten", at: new Date().toISOString() }],
      ["wrong_subject", `counts.${P}.${D}`, reading(id("bad-2"), P, 1)],
      ["unknown_device", `counts.${P}.${id("bad-ghost")}`, reading(id("bad-ghost"), P, 1)],
      ["unknown_place", `counts.${id("no-such-place")}.${id("bad-nowhere")}`, reading(id("bad-nowhere"), id("no-such-place"), 1)],
      ["wrong_place", `counts.${P2}.${D}`, reading(D, P2, 1)],
      ["negative", `counts.${P}.${D}`, reading(D, P, -1)],
      ["absurd", `counts.${P}.${D}`, reading(D, P, 1001)],
      ["future", `counts.${P}.${D}`, reading(D, P, 1, Date.now() + 6 * 60_000)],
      ["out_of_order", `counts.${P}.${D}`, reading(D, P, 99, at - 1000)],
      ["duplicate", `counts.${P}.${D}`, reading(D, P, 99, at)],
    ];
    for (const [, subject, body] of sent) await send(nc, subject, body);
    const reasons = sent.map(([reason]) => reason);
    const afterwards = await eventually(counters, (c) => reasons.every((r) => c[r]! > before[r]!) && c.handled! > before.handled!);
    for (const r of reasons) assert.equal(afterwards[r]! - before[r]!, 1, `one drop counted as ${r}`);
    assert.equal(afterwards.handled! - before.handled!, 1, "only the good reading is handled");
    assert.equal((await bus.jsm.streams.info("DEAD_LETTERS")).state.messages, deadBefore, "nothing dead-lettered");
    const now = await place(P);
    assert.deepEqual([now.count, now.level], [10, "normal"]);
  });

  test("a device publishing on another subject is refused by NATS", async () => {
    const P = id("perm");
    await devices("place", P, "--capacity", "100");
    const nc = await device(id("perm-1"), P);
    const statuses = nc.status();
    const refused = (async () => {
      for await (const s of statuses) if (s.type === "error") return String(s.data);
      return "closed";
    })();
    nc.publish(`counts.${P}.${id("perm-2")}`, JSON.stringify(reading(id("perm-2"), P, 1)));
    nc.publish(`events.crowd.level.changed`, "{}");
    await nc.flush().catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const none = new Promise<string>((r) => (timer = setTimeout(() => r("no error from the server"), 10_000)));
    assert.match(await Promise.race([refused, none]).finally(() => clearTimeout(timer)), /permissions.violation/i);
  });
});

describe("places", () => {
  test("public security's attractions and an event permit's key place are watched", async () => {
    const bund = await eventually(
      async () => (await fetch(`${hub.url}/v1/key-places/KP-ATTR-0001`)).status,
      (s) => s === 200,
    );
    assert.equal(bund, 200);
    const attraction = await place("KP-ATTR-0001");
    assert.deepEqual([attraction.source, attraction.capacity, attraction.name], ["attraction", 25000, "Bund Riverside Promenade"]);

    const placeId = id("event");
    const data = {
      linkageId: "b09a4730-6f8e-5512-8a87-444a45c225c1",
      applicationNo: `EP-${run}`,
      placeId,
      venueId: "VEN-0001",
      capacity: 300,
      opensAt: "2030-07-04T18:00:00+08:00",
      closesAt: "2030-07-04T23:00:00+08:00",
    };
    await bus.publish(createEvent("permits.key-place.opened", data, { source: "permits", subject: data.linkageId }));
    const opened = await eventually(
      () => fetch(`${hub.url}/v1/key-places/${placeId}`),
      (r) => r.status === 200,
    );
    const body = (await opened.json()) as KeyPlaceCrowd;
    assert.deepEqual([body.source, body.capacity, body.open], ["event", 300, true]);
    await bus.publish(createEvent("permits.key-place.closed", { ...data, closedBecause: "EVENT_ENDED" }, { source: "permits", subject: data.linkageId }));
    assert.equal(
      (
        await eventually(
          () => place(placeId),
          (p) => !p.open,
        )
      ).open,
      false,
    );
  });

  test("REST: the list pages by id, a place reads by id, an unknown one is a 404 problem; crowd.read is needed", async () => {
    const page = async (query: string) => (await (await fetch(`${hub.url}/v1/key-places?${query}`)).json()) as components["schemas"]["KeyPlaceCrowdPage"];
    const first = await page("limit=1");
    assert.equal(first.items.length, 1);
    assert.ok(first.next);
    const second = await page(`limit=1&cursor=${first.next}`);
    assert.ok(second.items[0]!.placeId > first.items[0]!.placeId);
    const critical = await page("level=critical&limit=100");
    assert.ok(critical.items.every((p: KeyPlaceCrowd) => p.level === "critical"));

    const missing = await fetch(`${hub.url}/v1/key-places/${id("nowhere")}`);
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get("content-type")?.split(";")[0], "application/problem+json");

    assert.equal((await rawFetch(`${hub.url}/v1/key-places`)).status, 401);
    const db = await suiteDb();
    const partnerId = `crowdless-${run}`;
    const scopes = SCOPES.filter((s) => s !== "crowd.read");
    await addPartner(db, { id: partnerId, scopes, purposes: [...PURPOSES] });
    const token = (await issueToken(db, loadConfig({}), { partnerId, scopes })).access_token;
    const refused = await rawFetch(`${hub.url}/v1/key-places/KP-ATTR-0001`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(refused.status, 403);
  });
});

describe("restart", () => {
  test("a node that restarts rebuilds its places from COUNTS and publishes no level again", async () => {
    const P = id("restart");
    await devices("place", P, "--capacity", "100");
    const d = await device(id("restart-1"), P);
    // Dated a minute ahead, so it still counts after the restart.
    await send(d, `counts.${P}.${id("restart-1")}`, reading(id("restart-1"), P, 85, Date.now() + 60_000));
    assert.deepEqual(
      await eventually(
        () => levels(P),
        (l) => l.length >= 1,
      ),
      ["warning"],
    );
    await hub.stop();
    hub = await startNode("all", env);
    const rebuilt = await eventually(
      () => place(P),
      (p) => p.count === 85,
    );
    assert.deepEqual([rebuilt.count, rebuilt.level, rebuilt.devices[0]!.count], [85, "warning", 85]);
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(await levels(P), ["warning"], "the rebuild publishes no second warning");
  });
});
