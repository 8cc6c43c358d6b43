/**
 * The final scan of every store (test/final/stores-hold-no-personal-data.test.ts) fails when a
 * plain id number is planted in any one store, and names that store alone. Each plant goes
 * into a store of its own (a scratch data directory with its own NATS or Temporal server, a
 * scratch database), never into the run's, which the final scan reads after the suite.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { Client, Connection } from "@temporalio/client";
import { connect, credsAuthenticator } from "nats";
import { openDb } from "../../platform/db";
import { stackCredsFile } from "../../platform/nats-auth";
import { ensureStreams } from "../../platform/events/streams";
import { migrateHub } from "../../hub/schema";
import { newKeyPair, signEid, toSigningKey } from "../../adapters/civil-registry/sandbox/credentials";
import { startNats, startTemporal } from "../../ops/stack/services";
import type { Finding, Needles } from "../support/personal-data-scan";
import { registryNeedles, scanDataDir, scanHubDatabase, STORE } from "../support/personal-data-stores";
import { createScratchDatabase } from "../support/scratch-db";
import { freePort } from "../support/hub";

let needles: Needles;
let person: { citizen_no: string; full_name: string };
const scratchDirs: string[] = [];
const quiet = () => {};

before(async () => {
  const db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: "" });
  try {
    needles = await registryNeedles(db);
    const [one] = await db.query<{ citizen_no: string; full_name: string }>(
      "SELECT citizen_no, full_name FROM sandbox_civil_registry.citizen ORDER BY random() LIMIT 1",
    );
    assert.ok(one, "the civil registry sandbox holds citizens");
    person = one;
  } finally {
    await db.close();
  }
});

after(() => {
  for (const dir of scratchDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function scratchDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "store-scan-"));
  scratchDirs.push(dir);
  return dir;
}

/** The stores the findings name, and the values found: exactly one store, exactly the planted id number. */
function assertOnly(findings: Finding[], store: string, via: Finding["via"] = "plain"): void {
  assert.ok(findings.length > 0, `the id number planted in ${store} is found`);
  assert.deepEqual([...new Set(findings.map((f) => f.store))], [store]);
  assert.deepEqual([...new Set(findings.map((f) => `${f.what} ${f.value} ${f.via}`))], [`id number ${person.citizen_no} ${via}`]);
}

test("an id number in a log line: the scan names that log file", () => {
  const dir = scratchDataDir();
  fs.mkdirSync(path.join(dir, "logs"));
  fs.writeFileSync(path.join(dir, "logs", "hub.log"), `${JSON.stringify({ level: 30, msg: "person found", citizenNo: person.citizen_no })}\n`);
  fs.writeFileSync(path.join(dir, "logs", "other.log"), `${JSON.stringify({ level: 30, msg: "nothing personal" })}\n`);
  const { findings } = scanDataDir(dir, needles);
  assertOnly(findings, STORE.logs);
  assert.deepEqual([...new Set(findings.map((f) => f.where))], [path.join("logs", "hub.log")]);
});

test("an id number in a workflow's input: the scan finds it in Temporal's database, files and rows", async () => {
  const dir = scratchDataDir();
  const address = `127.0.0.1:${await freePort()}`;
  const temporal = await startTemporal(address, { ui: await freePort(), metrics: await freePort() }, dir, quiet);
  try {
    const connection = await Connection.connect({ address });
    const client = new Client({ connection });
    // No worker: the started event alone holds the input, as every linkage's history does.
    await client.workflow.start("plantedWorkflow", {
      taskQueue: "store-scan-plant",
      workflowId: `plant-${randomUUID()}`,
      args: [{ citizenNo: person.citizen_no }],
    });
    await connection.close();
  } finally {
    await temporal.stop();
  }
  const { findings } = scanDataDir(dir, needles);
  assertOnly(findings, STORE.temporal);
  assert.ok(
    findings.some((f) => f.where.includes(" row of ")),
    "found in a row read through SQLite",
  );
});

test("an id number in an event on a stream: the scan finds it in the JetStream store", async () => {
  const dir = scratchDataDir();
  const url = `nats://127.0.0.1:${await freePort()}`;
  const nats = await startNats(url, dir, quiet);
  try {
    const nc = await connect({ servers: url, authenticator: credsAuthenticator(new Uint8Array(fs.readFileSync(stackCredsFile(dir)))) });
    await ensureStreams(await nc.jetstreamManager());
    const event = { specversion: "1.0", id: randomUUID(), type: "person.planted", data: { citizenNo: person.citizen_no } };
    await nc.jetstream().publish("events.civil-registry.person.planted", JSON.stringify(event));
    await nc.close();
  } finally {
    await nats.stop();
  }
  assertOnly(scanDataDir(dir, needles).findings, STORE.jetstream);
});

test("an id number in a row of a hub table: the scan of the hub's database names that table; the agency's own schema is allowed", async () => {
  const scratch = await createScratchDatabase();
  const db = await openDb({ url: scratch.url, pgliteDir: "" });
  try {
    await migrateHub(db);
    const body = JSON.stringify({ citizenNo: person.citizen_no });
    await db.query("INSERT INTO hub.idempotency_key (partner_id, key, fingerprint, status, headers, body) VALUES ('plant', $1, 'f', 200, '{}', $2)", [
      randomUUID(),
      body,
    ]);
    // The same person in the registry's own schema: an allowed place, not a finding.
    await db.exec("CREATE SCHEMA sandbox_civil_registry; CREATE TABLE sandbox_civil_registry.citizen (citizen_no text, full_name text)");
    await db.query("INSERT INTO sandbox_civil_registry.citizen VALUES ($1, $2)", [person.citizen_no, person.full_name]);
    const { findings } = scanHubDatabase(scratch.url, needles);
    assertOnly(findings, STORE.hubDatabase);
    assert.deepEqual([...new Set(findings.map((f) => f.where))], ["hub.idempotency_key row 1"]);
  } finally {
    await db.close();
    await scratch.drop();
  }
});

test("an e-ID credential in a log line: the scan decodes it and finds its holder", async () => {
  const dir = scratchDataDir();
  const key = await toSigningKey((await newKeyPair()).privateJwk);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: "civil-registry",
    sub: "E1",
    eid_no: "E1",
    citizen_no: person.citizen_no,
    full_name: person.full_name,
    birth_date: "1990-03-07",
    iat: now,
    exp: now + 3600,
  };
  const credential = await signEid(key, claims);
  assert.ok(!credential.includes(person.citizen_no), "the holder is not in clear in the credential");
  fs.mkdirSync(path.join(dir, "logs"));
  fs.writeFileSync(path.join(dir, "logs", "hub.log"), `${JSON.stringify({ level: 30, msg: "e-ID issued", credential })}\n`);
  const { findings } = scanDataDir(dir, needles);
  assert.deepEqual(
    findings.map((f) => [f.store, f.what, f.value, f.via]),
    [
      [STORE.logs, "id number", person.citizen_no, "JWS payload"],
      [STORE.logs, "name", person.full_name, "JWS payload"],
    ],
  );
});
