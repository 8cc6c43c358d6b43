/**
 * The audit log on embedded PGlite, where the hub is the database's only writer and its batches
 * append from the chain's head kept in memory: records in the caller's transactions (committed
 * or rolled back) and failed batches between them still give one valid chain.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../../platform/config";
import { openDb } from "../../platform/db";
import { migrateHub } from "../../hub/schema";
import { openAuditLog } from "../../audit/log";
import { checkpoint, readPage, verifyChain } from "../../audit/chain";

test("PGlite: batched records, records in callers' transactions (committed and rolled back) and a failed batch give one valid chain", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "audit-embedded-"));
  const db = await openDb({ pgliteDir: path.join(dir, "pglite") });
  const config = loadConfig({ HUB_DATA_DIR: dir });
  const audit = openAuditLog(db, config, (err) => assert.fail(String(err)));
  const entry = (i: number) => ({ operation: "civil-registry.identity.verify", outcome: "OK", requestId: `r${i}`, subjects: [] });
  try {
    await migrateHub(db);
    const wave = (from: number) => Promise.all(Array.from({ length: 50 }, (_, i) => audit.record(entry(from + i))));
    await wave(0);
    await db.transaction((tx) => audit.record(entry(100), tx));
    await wave(200);
    await assert.rejects(
      db.transaction(async (tx) => {
        await audit.record(entry(300), tx);
        throw new Error("the caller's work failed");
      }),
    );
    await wave(400);
    // A batch whose other write fails commits none of its records.
    await assert.rejects(audit.record(entry(500), { alongside: (tx) => tx.exec("SELECT * FROM no_such_table").then(() => {}) }));
    await wave(600);
    await checkpoint(db, audit.keys);

    const rows = await db.query<{ request_id: string }>("SELECT record->>'requestId' AS request_id FROM hub.audit_record ORDER BY seq");
    assert.equal(rows.length, 50 * 4 + 1);
    assert.ok(!rows.some((r) => r.request_id === "r300" || r.request_id === "r500"), "the rolled-back and failed records are not in the chain");
    const verdict = await verifyChain((after) => readPage(db, after, 500), audit.keys.publicKey);
    assert.ok(verdict.ok, JSON.stringify(verdict));
    assert.equal(verdict.records, rows.length);
  } finally {
    await audit.stop();
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
