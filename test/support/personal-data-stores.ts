/**
 * Every store a run of the hub writes, read for the civil registry's id numbers and names
 * (test/support/personal-data-scan.ts finds them in the bytes): the files under the data
 * directory (logs, Temporal's SQLite database with its `-wal`, the JetStream store, anything
 * else), the rows of Temporal's database read through SQLite (a value that spans pages is
 * whole there), and a dump of the hub's PostgreSQL database but for the places allowed below.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { DatabaseSync } from "node:sqlite";
import type { Queryable } from "../../platform/db";
import { natsStoreDir, temporalDbFile } from "../../ops/stack/services";
import { SCHEMA as CIVIL_REGISTRY } from "../../adapters/civil-registry/sandbox/store";
import { SCHEMA as EMERGENCY } from "../../adapters/emergency/sandbox/store";
import { SCHEMA as UTILITIES } from "../../adapters/utilities/sandbox/store";
import { SCHEMA as PUBLIC_SECURITY } from "../../agencies/public-security/sandbox/key-places";
import { SCHEMA as FIRE_SAFETY } from "../../agencies/fire-safety/sandbox/routes";
import { SCHEMA as AVIATION } from "../../agencies/aviation/sandbox/registry";
import { scanBytes, scanText, type Finding, type Needles } from "./personal-data-scan";

/**
 * The only places where an id number or a name the civil registry holds may be kept, each with
 * its reason: the agencies' own systems (their sandboxes, schemas of the same PostgreSQL
 * database in tests). Everything else the hub writes must not hold them in clear.
 */
export const ALLOWED_PLACES: { schema: string; reason: string }[] = [
  { schema: CIVIL_REGISTRY, reason: "the civil registry's own records: citizens, their e-IDs and credentials, marriages, address changes" },
  { schema: EMERGENCY, reason: "the emergency service's own records: incidents, alerts, dispatches" },
  { schema: UTILITIES, reason: "the utilities' own records: premises and their account holders, service orders" },
  { schema: PUBLIC_SECURITY, reason: "public security's own records (a catalogue agency): reviews, dispatches, officers" },
  { schema: FIRE_SAFETY, reason: "fire safety's own records (a catalogue agency): venues, reviews, officers" },
  { schema: AVIATION, reason: "the aviation authority's own records (a catalogue agency): drones and their operators" },
];

/**
 * Rows allowed in the hub's database, each with its reason: the built-in services' documents are
 * the hub's own contract, served to anyone at /openapi.json; the people its examples name are
 * published fixtures (the sandbox's first citizens, so each example works as written).
 */
export const ALLOWED_ROWS: { table: string; column: string; value: string; reason: string }[] = [
  { table: "hub.catalogue_service", column: "builtin", value: "t", reason: "the hub's own contract (its examples), published at /openapi.json" },
];

/** The stores, as findings name them. */
export const STORE = {
  logs: "logs",
  temporal: "Temporal's database",
  jetstream: "JetStream store",
  hubDatabase: "hub database",
  otherFiles: "other files under the data directory",
} as const;

export interface ScanResult {
  findings: Finding[];
  /** Per store: how many of what were read (files, rows or dump lines), and how many bytes. */
  scanned: Record<string, { items: number; unit: string; bytes: number }>;
}

/** Every citizen of the civil registry sandbox: what must not be found. */
export async function registryNeedles(db: Queryable): Promise<Needles> {
  const people = await db.query<{ citizen_no: string; full_name: string }>(`SELECT citizen_no, full_name FROM ${CIVIL_REGISTRY}.citizen`);
  return { ids: new Set(people.map((p) => p.citizen_no)), names: new Set(people.map((p) => p.full_name)) };
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? filesUnder(full) : e.isFile() ? [full] : [];
  });
}

/** Which store a file under the data directory belongs to. */
export function storeOfFile(dataDir: string, file: string): string {
  if (!path.relative(natsStoreDir(dataDir), file).startsWith("..")) return STORE.jetstream;
  if (file.startsWith(temporalDbFile(dataDir))) return STORE.temporal;
  if (file.endsWith(".log")) return STORE.logs;
  return STORE.otherFiles;
}

function count(result: ScanResult, store: string, unit: string, bytes: number): void {
  const s = (result.scanned[store] ??= { items: 0, unit, bytes: 0 });
  s.items += 1;
  s.bytes += bytes;
}

/** Every file under `dataDir`, byte for byte (gzip files also unpacked), and the rows of Temporal's database there. */
export function scanDataDir(dataDir: string, needles: Needles): ScanResult {
  const result: ScanResult = { findings: [], scanned: {} };
  for (const file of filesUnder(dataDir)) {
    const store = storeOfFile(dataDir, file);
    const where = path.relative(dataDir, file);
    const bytes = fs.readFileSync(file);
    count(result, store, "files", bytes.length);
    const contents = [bytes];
    if (file.endsWith(".gz")) contents.push(zlib.gunzipSync(bytes));
    for (const content of contents) for (const hit of scanBytes(content, needles)) result.findings.push({ store, where, ...hit });
  }
  if (fs.existsSync(temporalDbFile(dataDir))) scanSqliteRows(temporalDbFile(dataDir), STORE.temporal, needles, result);
  return result;
}

/** Every value of every row of an SQLite database (with its `-wal`), read through SQLite. */
export function scanSqliteRows(file: string, store: string, needles: Needles, result: ScanResult): void {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
    for (const { name } of tables) {
      for (const row of db.prepare(`SELECT * FROM "${name.replaceAll('"', '""')}"`).iterate()) {
        let size = 0;
        for (const [column, value] of Object.entries(row as Record<string, unknown>)) {
          const bytes = value instanceof Uint8Array ? Buffer.from(value) : typeof value === "string" ? Buffer.from(value, "utf8") : undefined;
          if (!bytes) continue;
          size += bytes.length;
          for (const hit of scanBytes(bytes, needles)) result.findings.push({ store, where: `${path.basename(file)} row of ${name}.${column}`, ...hit });
        }
        count(result, `${store} (rows)`, "rows", size);
      }
    }
  } finally {
    db.close();
  }
}

/**
 * A dump (`pg_dump`) of the hub's database at `url`, every schema but the allowed places, each
 * line scanned; a finding names the table (and the row's number in it), bytea values decoded.
 */
export function scanHubDatabase(url: string, needles: Needles): ScanResult {
  const result: ScanResult = { findings: [], scanned: {} };
  const args = ["--dbname", url, "--no-owner", "--no-privileges", ...ALLOWED_PLACES.map((p) => `--exclude-schema=${p.schema}`)];
  const dump = execFileSync("pg_dump", args, { maxBuffer: 4 * 1024 ** 3, stdio: ["ignore", "pipe", "pipe"] }).toString("utf8");
  let table: string | undefined;
  let allowed: { index: number; value: string } | undefined;
  let row = 0;
  for (const line of dump.split("\n")) {
    const copy = /^COPY (\S+) \(([^)]*)\)/.exec(line);
    if (copy) {
      [table, row] = [copy[1], 0];
      const rule = ALLOWED_ROWS.find((r) => r.table === table);
      allowed = rule ? { index: copy[2]!.split(", ").indexOf(rule.column), value: rule.value } : undefined;
    } else if (line === "\\.") table = undefined;
    else if (table) row += 1;
    if (table && !copy && allowed && line.split("\t")[allowed.index] === allowed.value) continue;
    count(result, STORE.hubDatabase, "dump lines", Buffer.byteLength(line) + 1);
    const where = table && !copy ? `${table} row ${row}` : "schema and definitions";
    const hits = scanText(line, needles);
    // bytea in COPY text: \\x and the bytes in hex.
    for (const m of line.matchAll(/\\\\x((?:[0-9a-f]{2})+)/g)) hits.push(...scanBytes(Buffer.from(m[1]!, "hex"), needles));
    for (const hit of hits) result.findings.push({ store: STORE.hubDatabase, where, ...hit });
  }
  return result;
}
