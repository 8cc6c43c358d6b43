/**
 * `npm run -s seed:citizens`: fresh citizens in the suite's running sandboxes (civil registry
 * and utilities, at CIVIL_REGISTRY_URL and UTILITIES_URL), checked against both over HTTP
 * and against the registry's own records.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import fs from "node:fs";
import os from "node:os";
import { isResidentId, residentIdBirthDate } from "../../contracts/formats";
import { openDb, type Db } from "../../platform/db";
import { post } from "../support/hub";

const ROOT = path.resolve(__dirname, "../..");
const registry = process.env.CIVIL_REGISTRY_URL!;
const utilities = process.env.UTILITIES_URL;
let db: Db;
let utilitiesUp = false;

before(async () => {
  utilitiesUp = utilities
    ? await fetch(`${utilities}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    : false;
  db = await openDb({ url: process.env.DATABASE_URL, pgliteDir: fs.mkdtempSync(path.join(os.tmpdir(), "seed-tool-")) });
});
after(async () => db?.close());

function seed(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "ops/seed-citizens.ts"), ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stdout = "",
      stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

interface Seeded {
  idNumber: string;
  name: string;
  birthDate: string;
  sex: string;
  maritalStatus: string;
  address: { province: string; city: string; district: string; street: string; postcode: string };
  utilityAccounts: { acct_no: string; holder_id: string; premise: { post_code: string } }[];
}

const age = (birthDate: string) => {
  const now = new Date();
  const [y, m, d] = birthDate.split("-").map(Number) as [number, number, number];
  return now.getUTCFullYear() - y - (now.getUTCMonth() + 1 < m || (now.getUTCMonth() + 1 === m && now.getUTCDate() < d) ? 1 : 0);
};

test("--count 1001 --json: fresh adults, unmarried, no e-ID, with an address and utility accounts", async () => {
  assert.ok(utilitiesUp, `the suite starts the utilities sandbox; none at ${utilities}`);
  const run = await seed(["--count", "1001", "--json"]);
  assert.equal(run.code, 0, run.stderr);
  const citizens = JSON.parse(run.stdout) as Seeded[];
  assert.equal(citizens.length, 1001);
  const numbers = citizens.map((c) => c.idNumber);
  assert.equal(new Set(numbers).size, 1001, "distinct across chunks");
  for (const c of citizens) {
    assert.ok(isResidentId(c.idNumber), c.idNumber);
    assert.equal(residentIdBirthDate(c.idNumber), c.birthDate);
    assert.ok(age(c.birthDate) >= 18 && age(c.birthDate) <= 80, c.birthDate);
    assert.ok(["MALE", "FEMALE"].includes(c.sex));
    assert.equal(c.maritalStatus, "SINGLE");
    assert.match(c.address.postcode, /^\d{6}$/);
    assert.ok(c.utilityAccounts.length > 0, "has utility accounts");
    for (const a of c.utilityAccounts) assert.deepEqual([a.holder_id, a.premise.post_code], [c.idNumber, c.address.postcode]);
  }

  // The registry knows them by name, unmarried and without an e-ID; the utility, their accounts.
  const rows = await db.query<{ citizen_no: string; full_name: string; marital_status: string; eids: string }>(
    `SELECT c.citizen_no, c.full_name, c.marital_status, (SELECT count(*) FROM sandbox_civil_registry.eid e WHERE e.citizen_no = c.citizen_no) AS eids
     FROM sandbox_civil_registry.citizen c WHERE c.citizen_no = ANY($1::text[])`,
    [numbers],
  );
  assert.equal(rows.length, 1001);
  const byNo = new Map(citizens.map((c) => [c.idNumber, c]));
  for (const r of rows) assert.deepEqual([r.full_name, r.marital_status, Number(r.eids)], [byNo.get(r.citizen_no)!.name, "SINGLE", 0]);
  const check = await post(`${registry}/registry/v2/person-checks`, { citizenNo: citizens[0]!.idNumber, fullName: citizens[0]!.name });
  assert.deepEqual(await check.json(), { checkResult: "CONSISTENT" });
});

test("a readable table by default", async () => {
  assert.ok(utilitiesUp, `the suite starts the utilities sandbox; none at ${utilities}`);
  const run = await seed(["--count", "2"]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split("\n");
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^ID NUMBER\s+NAME\s+SEX\s+BORN \(AGE\)\s+ADDRESS\s+ACCOUNTS$/);
  for (const line of lines.slice(1)) assert.ok(isResidentId(line.slice(0, 18)), line);
});

test("an unreachable sandbox is named with its URL and variable, exit 1", async () => {
  const noUtilities = await seed(["--count", "3", "--json"], { UTILITIES_URL: "http://127.0.0.1:9" });
  assert.equal(noUtilities.code, 1);
  assert.equal(noUtilities.stdout, "");
  assert.match(noUtilities.stderr, /utilities sandbox at http:\/\/127\.0\.0\.1:9 is unreachable \(set UTILITIES_URL/);

  const noRegistry = await seed(["--json"], { CIVIL_REGISTRY_URL: "http://127.0.0.1:9" });
  assert.equal(noRegistry.code, 1);
  assert.match(noRegistry.stderr, /civil-registry sandbox at http:\/\/127\.0\.0\.1:9 is unreachable \(set CIVIL_REGISTRY_URL/);

  const notAUrl = await seed([], { UTILITIES_URL: "ftp://x" });
  assert.equal(notAUrl.code, 1);
  assert.match(notAUrl.stderr, /UTILITIES_URL="ftp:\/\/x" must use http or https/);
});

test("bad arguments: usage and exit 2; --help: exit 0", async () => {
  for (const args of [
    ["--count", "0"],
    ["--count", "100001"],
    ["--count", "x"],
    ["--count"],
    ["--colour"],
    ["--min-age", "17"],
    ["--min-age", "40", "--max-age", "30"],
  ]) {
    const run = await seed(args);
    assert.equal(run.code, 2, args.join(" "));
    assert.match(run.stderr, /Usage: npm run -s seed:citizens/);
  }
  const help = await seed(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /CIVIL_REGISTRY_URL\s+http:\/\/127\.0\.0\.1:4101/);
});
