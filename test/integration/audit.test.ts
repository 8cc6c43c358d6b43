/**
 * The audit log on the real stack, from outside: records from two gateways in one valid
 * chain, response binding, refusals, the access report (REST and CLI), an evidence bundle
 * verified offline, tampering caught by `linkage-hub audit verify`, and a gateway killed
 * with -9 under load losing no record of an answer its client received.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createHash, randomUUID } from "node:crypto";
import { spawnSync } from "node:child_process";
import { clusterEnv, seedCitizens, startNode, type Citizen, type TestNode } from "../support/hub";
import { rawFetch, suiteDb } from "../support/partner";
import { createScratchDatabase } from "../support/scratch-db";
import { addPartner } from "../../partners/registry";
import { issueToken } from "../../partners/tokens";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { loadConfig } from "../../platform/config";
import { AUDIT_PAGE, appendRecord, checkpoint, readRecords, recordHash, type AuditEntry } from "../../audit/chain";
import { auditKeysOf } from "../../audit/log";
import { publicKeyPem } from "../../audit/keys";
import { openDb } from "../../platform/db";
import { migrateHub } from "../../hub/schema";

const ROOT = path.resolve(__dirname, "../..");
const env = { ...clusterEnv(), HUB_AUDIT_CHECKPOINT_MS: "300" };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "audit-test-"));
let hub: TestNode;
let second: TestNode;
let token: string;
let partnerId: string;

const cli = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
  spawnSync(process.execPath, ["--import", "tsx", "ops/cli/main.ts", "audit", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env, ...extra },
    encoding: "utf8",
  });

const verifyPost = (base: string, c: Citizen, headers: Record<string, string> = {}) =>
  rawFetch(`${base}/v1/identity-verifications`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "data-purpose": "identity-verification", "content-type": "application/json", ...headers },
    body: JSON.stringify({ idNumber: c.citizenNo, name: c.fullName }),
  });

async function recordsOf(requestIds: string[]): Promise<{ seq: number; record: Record<string, unknown> }[]> {
  const rows = await (
    await suiteDb()
  ).query<{ seq: string; record: Record<string, unknown> }>("SELECT seq, record FROM hub.audit_record WHERE record->>'requestId' = ANY($1) ORDER BY seq", [
    requestIds,
  ]);
  return rows.map((r) => ({ seq: Number(r.seq), record: r.record }));
}

before(async () => {
  hub = await startNode("all", env);
  second = await startNode("api", env);
  const made = await addPartner(await suiteDb(), { id: `audited-${randomUUID().slice(0, 8)}`, scopes: [...SCOPES], purposes: [...PURPOSES] });
  partnerId = made.partner.id;
  token = (await issueToken(await suiteDb(), loadConfig({}), { partnerId, scopes: [...SCOPES] })).access_token;
});
after(async () => {
  await second?.stop();
  await hub?.stop();
});

describe("records", () => {
  test("N requests from two gateways at once give N records in one valid chain, each bound to its request", async () => {
    const citizens = await seedCitizens(20);
    const answers = await Promise.all(citizens.map((c, i) => verifyPost(i % 2 ? second.url : hub.url, c)));
    assert.ok(answers.every((a) => a.status === 200));
    const ids = answers.map((a) => a.headers.get("x-request-id")!);
    const records = await recordsOf(ids);
    assert.equal(records.length, 20);
    for (const r of records)
      assert.deepEqual(
        [r.record.partnerId, r.record.purpose, r.record.operation, r.record.outcome],
        [partnerId, "identity-verification", "civil-registry.identity.verify", "OK"],
      );
    // No id number in the log: subjects are keyed hashes.
    const text = JSON.stringify(records);
    for (const c of citizens) assert.ok(!text.includes(c.citizenNo));

    // Response binding: the answer names the request's hash, and so does its record.
    const one = answers[0]!;
    const body = JSON.stringify({ idNumber: citizens[0]!.citizenNo, name: citizens[0]!.fullName });
    const expected = `sha-256=:${createHash("sha256").update(`POST /v1/identity-verifications\n${body}`).digest("base64")}:`;
    assert.equal(one.headers.get("request-hash"), expected);
    assert.equal((await recordsOf([one.headers.get("x-request-id")!]))[0]!.record.requestHash, expected);

    // Over two pages of records like these, so the CLI pages through the log over NATS (one
    // message held 2000 of them once: more than NATS's 1 MB).
    const like = records[0]!.record as AuditEntry;
    for (let i = 0; i <= 2 * AUDIT_PAGE; i++) await appendRecord(await suiteDb(), { ...like, requestId: randomUUID() });
    await new Promise((r) => setTimeout(r, 800)); // a checkpoint
    const run = cli(["verify"]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Audit log intact: \d+ records, proven by signed checkpoints up to record \d+/);
  });

  test("concurrent requests' records are group-committed: fewer transactions than records, and the chain verifies", async (t) => {
    const batches = async () => {
      const text = await (await rawFetch(`${hub.url}/metrics`)).text();
      const value = (name: string) => Number(new RegExp(`^hub_audit_batch_records_${name} (\\S+)$`, "m").exec(text)?.[1]);
      return { records: value("sum"), transactions: value("count") };
    };
    const citizens = await seedCitizens(48);
    const before = await batches();
    const answers = await Promise.all(citizens.map((c) => verifyPost(hub.url, c)));
    assert.ok(answers.every((a) => a.status === 200));
    assert.equal((await recordsOf(answers.map((a) => a.headers.get("x-request-id")!))).length, citizens.length);
    const after = await batches();
    const records = after.records - before.records;
    const transactions = after.transactions - before.transactions;
    assert.ok(records >= citizens.length, `${records} records counted in batches`);
    t.diagnostic(`${records} records in ${transactions} transactions`);
    assert.ok(transactions < records, `${records} records in ${transactions} transactions: not batched`);

    await new Promise((r) => setTimeout(r, 800)); // a checkpoint
    const run = cli(["verify"]);
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /Audit log intact/);
  });

  test("a refused authenticated partner is recorded; an unauthenticated caller only counted", async () => {
    const [c] = await seedCitizens(1);
    const refused = await verifyPost(hub.url, c!, { "data-purpose": "supervision-of-nothing" });
    assert.equal(refused.status, 403);
    const [rec] = await recordsOf([refused.headers.get("x-request-id")!]);
    assert.deepEqual([rec!.record.outcome, rec!.record.partnerId], ["HUB_ERR_FORBIDDEN", partnerId]);

    const anonymous = await rawFetch(`${hub.url}/v1/identity-verifications`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await recordsOf([anonymous.headers.get("x-request-id")!]), []);
    assert.match(await (await rawFetch(`${hub.url}/metrics`)).text(), /hub_auth_refusals_total\{reason="no_token"\} [1-9]/);
  });

  test("the access report: who accessed a person's data, when, why, with what outcome (REST, auditors only; and the CLI)", async () => {
    const [c] = await seedCitizens(1);
    await verifyPost(hub.url, c!);
    const ask = (purpose: string) =>
      rawFetch(`${hub.url}/v1/audit/access-reports`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "data-purpose": purpose, "content-type": "application/json" },
        body: JSON.stringify({ idNumber: c!.citizenNo }),
      });
    const report = (await (await ask("supervision")).json()) as { accesses: { partnerId: string; purpose: string; outcome: string; operation: string }[] };
    assert.deepEqual(
      report.accesses.filter((a) => a.operation === "civil-registry.identity.verify").map((a) => [a.partnerId, a.purpose, a.outcome]),
      [[partnerId, "identity-verification", "OK"]],
    );
    const narrow = (await issueToken(await suiteDb(), loadConfig({}), { partnerId, scopes: ["identity.verify"] })).access_token;
    const denied = await rawFetch(`${hub.url}/v1/audit/access-reports`, {
      method: "POST",
      headers: { authorization: `Bearer ${narrow}`, "data-purpose": "supervision", "content-type": "application/json" },
      body: JSON.stringify({ idNumber: c!.citizenNo }),
    });
    assert.equal(denied.status, 403);
    const run = cli(["access-report", c!.citizenNo, "--json"]);
    assert.equal(run.status, 0, run.stderr);
    assert.ok((JSON.parse(run.stdout) as { accesses: unknown[] }).accesses.length >= 1);
  });

  test("a linkage's evidence bundle verifies offline; one byte changed, it does not", async () => {
    const [c] = await seedCitizens(1);
    const started = await rawFetch(`${hub.url}/v1/linkages/eid-issuances`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "data-purpose": "civil-registration", "content-type": "application/json" },
      body: JSON.stringify({ applicationNo: `AUDIT-${Date.now()}`, idNumber: c!.citizenNo, name: c!.fullName }),
    });
    const linkageId = ((await started.json()) as { id: string }).id;
    await new Promise((r) => setTimeout(r, 3000)); // the linkage runs; its records are checkpointed
    const file = path.join(tmp, "bundle.json");
    const exported = cli(["export", "--linkage", linkageId, "--out", file]);
    assert.equal(exported.status, 0, exported.stderr);
    const bundle = JSON.parse(fs.readFileSync(file, "utf8")) as { records: unknown[] };
    assert.ok(bundle.records.length >= 2, "the linkage's own steps: identity verified, e-ID issued");
    const key = path.join(tmp, "audit.pem");
    fs.writeFileSync(key, publicKeyPem(auditKeysOf(loadConfig({ ...process.env, ...env }))));
    const ok = cli(["verify", "--bundle", file, "--public-key", key], { DATABASE_URL: "", NATS_URL: "nats://127.0.0.1:1" });
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);

    const text = fs.readFileSync(file, "utf8");
    const at = text.indexOf('"outcome": "OK"') + '"outcome": "'.length;
    fs.writeFileSync(file, text.slice(0, at) + "0" + text.slice(at + 1));
    const bad = cli(["verify", "--bundle", file, "--public-key", key]);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /does NOT verify: record \d+ was altered/);
  });
});

describe("tampering", () => {
  test("altered, deleted, reordered, truncated and recomputed logs each fail `audit verify`, naming the record", async () => {
    const scratch = await createScratchDatabase();
    const db = await openDb({ url: scratch.url, pgliteDir: "" });
    try {
      await migrateHub(db);
      const keys = auditKeysOf(loadConfig({ ...process.env, ...env }));
      const build = async () => {
        await db.exec("TRUNCATE hub.audit_record, hub.audit_checkpoint");
        for (let i = 1; i <= 12; i++) {
          await appendRecord(db, { at: new Date().toISOString(), operation: "civil-registry.identity.verify", outcome: "OK", subjects: [], partnerId: "p" });
          if (i === 5 || i === 10) await checkpoint(db, keys);
        }
      };
      // No hub answers in this namespace: the CLI reads PostgreSQL directly.
      const verify = () => cli(["verify"], { DATABASE_URL: scratch.url, HUB_NAMESPACE: `none-${randomUUID()}` });
      await build();
      assert.equal(verify().status, 0, verify().stdout);

      const cases: [string, string, RegExp][] = [
        ["altered", `UPDATE hub.audit_record SET record = jsonb_set(record, '{partnerId}', '"q"') WHERE seq = 7`, /BROKEN at record 7: record 7 was altered/],
        ["deleted", `DELETE FROM hub.audit_record WHERE seq = 4`, /BROKEN at record 4: record 4 is missing/],
        [
          "reordered",
          `UPDATE hub.audit_record a SET record = b.record, hash = b.hash, prev_hash = b.prev_hash FROM hub.audit_record b WHERE (a.seq, b.seq) IN ((3, 6), (6, 3))`,
          /BROKEN at record 3/,
        ],
        ["tail cut", `DELETE FROM hub.audit_record WHERE seq > 8`, /tail was cut/],
      ];
      for (const [what, sql, expected] of cases) {
        await build();
        await db.exec(sql);
        const run = verify();
        assert.equal(run.status, 1, `${what}: ${run.stdout}`);
        assert.match(run.stdout, expected, what);
      }

      // Every hash recomputed after a change: consistent, but not what the checkpoint signed.
      await build();
      const records = await readRecords(db, 0, 100);
      await db.exec("DELETE FROM hub.audit_record");
      let prev = "0".repeat(64);
      for (const r of records) {
        const record = r.seq === 7 ? { ...r.record, partnerId: "q" } : r.record;
        const hash = recordHash(r.seq, prev, record);
        await db.query("INSERT INTO hub.audit_record (seq, record, prev_hash, hash) VALUES ($1, $2, $3, $4)", [r.seq, JSON.stringify(record), prev, hash]);
        prev = hash;
      }
      const run = verify();
      assert.equal(run.status, 1);
      assert.match(run.stdout, /BROKEN at record 10: records 6 to 10 differ from what checkpoint 10 signed/);
    } finally {
      await db.close();
      await scratch.drop();
    }
  });
});

test("with no hub to reach and no database, the CLI says so in seconds (NATS that never answers included)", () => {
  const run = spawnSync(process.execPath, ["--import", "tsx", "ops/cli/main.ts", "audit", "verify"], {
    cwd: ROOT,
    env: { ...process.env, NATS_URL: "nats://127.0.0.1:1", DATABASE_URL: "" },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(run.status, 1, run.stderr);
  assert.match(run.stderr, /no running hub answers at nats:\/\/127\.0\.0\.1:1 .*Or set DATABASE_URL/);
});

describe("a gateway killed under load", () => {
  test("every request whose 2xx answer the client received has its audit record", async () => {
    const gateway = await startNode("api", env);
    const citizens = await seedCitizens(200);
    const received: string[] = [];
    let i = 0;
    const worker = async () => {
      while (i < citizens.length) {
        const c = citizens[i++]!;
        try {
          const res = await verifyPost(gateway.url, c);
          if (res.status === 200) received.push(res.headers.get("x-request-id")!);
        } catch {
          return; // the gateway is gone
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, worker));
    while (received.length < 30) await new Promise((r) => setTimeout(r, 10));
    gateway.service.child!.kill("SIGKILL");
    await load;
    await gateway.stop();
    assert.ok(received.length >= 30 && received.length < citizens.length, `${received.length} answered before the kill`);
    const recorded = new Set((await recordsOf(received)).map((r) => String(r.record.requestId)));
    assert.deepEqual(
      received.filter((id) => !recorded.has(id)),
      [],
      "answered but not recorded",
    );
  });
});
