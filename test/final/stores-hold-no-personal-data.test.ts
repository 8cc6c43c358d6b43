/**
 * Run by `npm test` after the whole suite: no store the run wrote holds an id number or a name
 * of the civil registry sandbox (every citizen in its table) in clear, outside the places
 * allowed (the agencies' own sandboxes, ALLOWED_PLACES). The stores: every process's logs,
 * Temporal's SQLite database (its files and its rows), the JetStream store, any other file
 * under HUB_DATA_DIR, and a dump of the hub's database (idempotent answers, webhook attempts,
 * the outbox, the audit log, ...). e-ID credentials and base64 blobs are decoded and searched too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { openDb } from "../../platform/db";
import { natsStoreDir, temporalDbFile } from "../../ops/stack/services";
import { describeFindings } from "../support/personal-data-scan";
import { registryNeedles, scanDataDir, scanHubDatabase, STORE } from "../support/personal-data-stores";

test("no store the run wrote holds an id number or a name of the registry in clear", async () => {
  const dataDir = process.env.HUB_DATA_DIR!;
  const db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: "" });
  const needles = await registryNeedles(db).finally(() => db.close());
  assert.ok(needles.ids.size > 1000, `the run used synthetic citizens (${needles.ids.size})`);
  assert.ok(
    fs.existsSync(temporalDbFile(dataDir)),
    `Temporal's database is under the data directory (${temporalDbFile(dataDir)}; a Temporal server the run did not start keeps its own)`,
  );
  assert.ok(
    fs.existsSync(natsStoreDir(dataDir)),
    `the JetStream store is under the data directory (${natsStoreDir(dataDir)}; a NATS server the run did not start keeps its own)`,
  );

  const files = scanDataDir(dataDir, needles);
  const hub = scanHubDatabase(process.env.DATABASE_URL!, needles);
  const scanned = { ...files.scanned, ...hub.scanned };
  for (const [store, s] of Object.entries(scanned)) console.log(`scanned ${store}: ${s.items} ${s.unit}, ${Math.round(s.bytes / 1024)} KiB`);
  console.log(`for ${needles.ids.size} id numbers and ${needles.names.size} names`);
  assert.ok((scanned[STORE.logs]?.items ?? 0) > 5, "the run's logs are there");
  const findings = [...files.findings, ...hub.findings];
  assert.equal(findings.length, 0, `personal data in clear:\n${describeFindings(findings)}`);
});
