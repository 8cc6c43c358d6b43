/**
 * Run by `npm test` after the whole suite: the logs of every process it ran (hub nodes, the
 * sandboxes, NATS, Temporal; all under HUB_DATA_DIR) hold none of the synthetic id numbers
 * and names the run used (every citizen in the civil registry sandbox's tables).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { openDb } from "../../platform/db";

function logFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? logFiles(path.join(dir, e.name)) : e.name.endsWith(".log") ? [path.join(dir, e.name)] : []));
}

test("no id number or name used by the run appears in any log line", async () => {
  const db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: "" });
  const people = await db.query<{ citizen_no: string; full_name: string }>("SELECT citizen_no, full_name FROM sandbox_civil_registry.citizen");
  await db.close();
  assert.ok(people.length > 1000, `the run used synthetic citizens (${people.length})`);
  const ids = new Set(people.map((p) => p.citizen_no));
  const names = new Set(people.map((p) => p.full_name));

  const files = logFiles(process.env.HUB_DATA_DIR!);
  assert.ok(files.length > 10, `the run's logs are there (${files.length} files)`);
  const found: string[] = [];
  let bytes = 0;
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    bytes += text.length;
    for (const m of text.matchAll(/[1-9]\d{16}[\dX]/g)) if (ids.has(m[0])) found.push(`${path.relative(process.env.HUB_DATA_DIR!, file)}: id number ${m[0]}`);
    // A name stands alone in a log line (a JSON string, a field); compare whole runs of CJK.
    for (const m of text.matchAll(/[\u4e00-\u9fff\u3400-\u4dbf·]{2,}/g))
      if (names.has(m[0])) found.push(`${path.relative(process.env.HUB_DATA_DIR!, file)}: name ${m[0]}`);
  }
  console.log(`scanned ${files.length} log files, ${Math.round(bytes / 1024)} KiB, for ${ids.size} id numbers and ${names.size} names`);
  assert.deepEqual(found.slice(0, 20), [], `${found.length} found`);
});
