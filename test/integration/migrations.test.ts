/** Migrations are safe when several nodes start at once: each file is applied exactly once. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { openDb } from "../../platform/db";
import { HUB_MIGRATIONS, migrateHub } from "../../hub/schema";
import { createScratchDatabase } from "../support/scratch-db";

let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
before(async () => (scratch = await createScratchDatabase()));
after(async () => scratch?.drop());

test("four nodes migrating one fresh database at once", async () => {
  const dbs = await Promise.all([1, 2, 3, 4].map(() => openDb({ url: scratch.url, pgliteDir: "" })));
  try {
    const dir = HUB_MIGRATIONS;
    const files = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".sql"))
      .sort();
    const applied = await Promise.all(dbs.map((db) => migrateHub(db)));
    assert.deepEqual(applied.flat().sort(), files, "each migration file ran once in all");
    const rows = await dbs[0]!.query<{ version: string }>("SELECT version FROM hub.schema_migrations ORDER BY version");
    assert.deepEqual(
      rows.map((r) => r.version),
      files,
    );
    // And the table it made is there.
    await dbs[0]!.query("SELECT id, type, business_key, workflow_id FROM hub.linkage LIMIT 0");
  } finally {
    await Promise.all(dbs.map((db) => db.close()));
  }
});
