/**
 * The crowd watch and the dispatch linkage together on the real stack: a counting device
 * registered with `npx linkage-hub devices add` publishes with its own NATS credentials at an
 * event's key place at public security; the crowd node's level events start and steer the
 * place's dispatch linkage. (Each half alone: crowd.test.ts, crowd-dispatch.test.ts.)
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import type { Client } from "@temporalio/client";
import { clusterEnv, post, startNode, type TestNode, hubTemporalClient } from "../support/hub";
import { eventually } from "../support/permits";
import { openDb, type Db } from "../../platform/db";
import { LINKAGE_STATUS } from "../../workflows/linkages/visibility";

const ROOT = path.resolve(__dirname, "../..");
const police = process.env.PUBLIC_SECURITY_URL!;
const run = Date.now().toString(36).toUpperCase();
const CLEAR_AFTER_MS = 1500;
const env: NodeJS.ProcessEnv = { ...clusterEnv(), DISPATCH_DEADLINE_MS: "1500", DISPATCH_CLEAR_AFTER_MS: String(CLEAR_AFTER_MS), DISPATCH_POLL_MS: "200" };
let hub: TestNode;
let db: Db;
let temporal: Client;
let device: NatsConnection;

const linkageHub = async (...args: string[]) =>
  JSON.parse(
    (await promisify(execFile)(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), ...args, "--json"], { env: { ...process.env, ...env } })).stdout,
  ) as Record<string, unknown>;

const dispatching = (mode: object | null) =>
  fetch(`${police}/_sandbox/dispatching`, {
    method: mode ? "PUT" : "DELETE",
    headers: { "content-type": "application/json" },
    ...(mode ? { body: JSON.stringify(mode) } : {}),
  });

before(async () => {
  hub = await startNode("api,crowd,emergency,linkages,worker", env);
  db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: fs.mkdtempSync(path.join(os.tmpdir(), "crowd-watch-dispatch-")) });
  temporal = await hubTemporalClient();
});
after(async () => {
  await dispatching(null).catch(() => undefined);
  await device?.close();
  await temporal?.connection.close();
  await db?.close();
  await hub?.stop();
});

test("a device's counts rising to critical and hovering start one dispatch, which escalates without units and gives the all-clear once the crowd falls", async () => {
  const placed = await post(
    `${police}/key-places`,
    {
      reference: `WATCH-${run}`,
      kind: "event",
      name: "Crowd watch test",
      venueId: "VEN-0004",
      capacity: 100,
      area: { type: "Polygon", coordinates: [[[121.49, 31.23], [121.491, 31.23], [121.491, 31.231], [121.49, 31.23]]] }, // prettier-ignore
      opensAt: new Date(Date.now() - 60_000).toISOString(),
      closesAt: new Date(Date.now() + 3_600_000).toISOString(),
    },
    { "idempotency-key": `watch-${run}` },
  );
  assert.equal(placed.status, 201, await placed.clone().text());
  const place = ((await placed.json()) as { placeId: string }).placeId;
  await linkageHub("devices", "place", place, "--capacity", "100");
  const deviceId = `GATE-${run}`;
  const added = await linkageHub("devices", "add", deviceId, "--place", place);
  device = await connect({ servers: process.env.NATS_URL, authenticator: credsAuthenticator(new Uint8Array(fs.readFileSync(String(added.creds)))) });
  await dispatching({ mode: "never" });

  let t = Date.now();
  const count = async (n: number) => {
    device.publish(`counts.${place}.${deviceId}`, JSON.stringify({ deviceId, placeId: place, count: n, at: new Date((t += 10)).toISOString() }));
    await device.flush();
  };
  // Rising through warning to critical, then hovering around the threshold.
  for (const n of [50, 85, 101, 95, 102, 97, 104]) await count(n);
  const linkagesOf = () =>
    db.query<{ business_key: string }>("SELECT business_key FROM hub.linkage WHERE type = 'crowd-dispatch' AND business_key LIKE $1", [`${place}:%`]);
  const [first] = await eventually(linkagesOf, (l) => l.length > 0);
  const episode = first!.business_key.slice(place.length + 1);
  assert.equal(episode, new Date(t - 40).toISOString(), "the episode starts at the reading that made the place critical");
  const handle = temporal.workflow.getHandle(`dispatch:${place}:${episode}`);
  const status = async () => (await handle.describe()).typedSearchAttributes.get(LINKAGE_STATUS);
  assert.equal(await eventually(status, (s) => s === "ESCALATED"), "ESCALATED", "no unit confirmed within DISPATCH_DEADLINE_MS");

  await dispatching({ mode: "confirm", confirmAfterMs: 0 });
  await eventually(status, (s) => s === "AWAITING_ALL_CLEAR");
  await count(40);
  const ended = await eventually(
    async () => (await handle.describe()).status.name,
    (s) => s !== "RUNNING",
  );
  assert.equal(ended, "COMPLETED");
  assert.deepEqual(
    (await linkagesOf()).map((l) => l.business_key),
    [`${place}:${episode}`],
    "one linkage for the hovering count",
  );
  const dispatches = await db.query<{ status: string }>("SELECT status FROM public_security.dispatch WHERE place_id = $1 AND status <> 'NO_UNITS'", [place]);
  assert.deepEqual(
    dispatches.map((d) => d.status),
    ["RELEASED"],
  );
});
