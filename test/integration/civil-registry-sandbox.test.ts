/**
 * The civil registry sandbox over real HTTP, on embedded PGlite and, when DATABASE_URL is
 * set, on PostgreSQL (in a scratch database of this test's own).
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { isResidentId, residentIdBirthDate } from "../../contracts/formats";
import { openDb, type Db } from "../../platform/db";
import { startSandbox, NO_FAULTS } from "../../adapters/civil-registry/sandbox/server";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { createScratchDatabase } from "../support/scratch-db";

const SEED_COUNT = 50;
const S = "sandbox_civil_registry";

interface Reply {
  status: number;
  text: string;
  body: Record<string, unknown>;
}

interface Citizen {
  citizenNo: string;
  fullName: string;
  birthDate: string;
  sex: string;
  maritalStatus: string;
}

const backends: { name: string; postgres: boolean }[] = [{ name: "PGlite", postgres: false }];
if (process.env.DATABASE_URL) backends.push({ name: "PostgreSQL", postgres: true });

for (const backend of backends) {
  describe(`civil-registry sandbox on ${backend.name}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "civil-registry-sandbox-"));
    const pgliteDir = path.join(dir, "pglite");
    let db: Db;
    let sandbox: Awaited<ReturnType<typeof startSandbox>>;
    let keyCounter = 0;
    const newKey = () => `test-${process.pid}-${Date.now()}-${++keyCounter}`;

    async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Reply> {
      const res = await fetch(sandbox.url + route, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      const text = await res.text();
      return { status: res.status, text, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
    }
    /** `key` null: no Idempotency-Key header at all. */
    const issue = (citizenNo: string, key: string | null = newKey()) =>
      call("POST", "/registry/v2/eids", { citizenNo }, key === null ? {} : { "idempotency-key": key });
    const personCheck = (citizenNo: string, fullName: string) => call("POST", "/registry/v2/person-checks", { citizenNo, fullName });
    const setFaults = async (faults: Record<string, unknown>) => assert.equal((await call("PUT", "/_sandbox/faults", faults)).status, 200);
    async function freshCitizens(count: number, ages: { minAge?: number; maxAge?: number } = {}): Promise<Citizen[]> {
      const reply = await call("POST", "/_sandbox/citizens", { count, ...ages });
      assert.equal(reply.status, 201, reply.text);
      return reply.body as unknown as Citizen[];
    }
    const eidRows = async (citizenNo: string) =>
      db.query<{ eid_no: string; status: string }>(`SELECT eid_no, status FROM ${S}.eid WHERE citizen_no = $1`, [citizenNo]);
    const count = async (table: string) => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${S}.${table}`))[0]!.n);

    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;

    before(async () => {
      if (backend.postgres) scratch = await createScratchDatabase();
      db = await openDb({ url: scratch?.url, pgliteDir });
      sandbox = await startSandbox({ port: 0, db, seedCount: SEED_COUNT });
    });
    afterEach(async () => {
      await call("DELETE", "/_sandbox/faults");
    });
    after(async () => {
      await sandbox?.close();
      await db?.close();
      await scratch?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("seeds the deterministic citizens of seed 1, and is healthy", async () => {
      assert.equal(sandbox.seeded, SEED_COUNT);
      const expected = syntheticCitizens(SEED, SEED_COUNT, { asOf: SEED_AS_OF });
      const rows = await db.query<{ citizen_no: string; full_name: string; birth_date: string; sex: string; marital_status: string; address: unknown }>(
        `SELECT citizen_no, full_name, birth_date::text AS birth_date, sex, marital_status, address FROM ${S}.citizen ORDER BY citizen_no`,
      );
      assert.deepEqual(
        rows,
        expected
          .map((c) => ({ citizen_no: c.citizenNo, full_name: c.fullName, birth_date: c.birthDate, sex: c.sex, marital_status: "SINGLE", address: c.address }))
          .sort((a, b) => (a.citizen_no < b.citizen_no ? -1 : 1)),
      );
      assert.deepEqual(await call("GET", "/healthz"), {
        status: 200,
        text: '{"status":"ok","sandbox":"civil-registry"}',
        body: { status: "ok", sandbox: "civil-registry" },
      });
      assert.equal((await call("GET", "/nowhere")).body.errorCode, "NOT_FOUND");
    });

    test("person check: consistent only for the exact number and name, nothing else disclosed", async () => {
      const [c] = syntheticCitizens(SEED, 1, { asOf: SEED_AS_OF });
      assert.deepEqual((await personCheck(c!.citizenNo, c!.fullName)).body, { checkResult: "CONSISTENT" });
      assert.deepEqual((await personCheck(c!.citizenNo, ` ${c!.fullName} `)).body, { checkResult: "CONSISTENT" }, "surrounding spaces are ignored");
      assert.deepEqual(await personCheck(c!.citizenNo, c!.fullName + "某"), {
        status: 200,
        text: '{"checkResult":"INCONSISTENT"}',
        body: { checkResult: "INCONSISTENT" },
      });
      const unknown = "11010519491231002X"; // valid checksum, not in the registry
      assert.deepEqual((await personCheck(unknown, c!.fullName)).body, { checkResult: "INCONSISTENT" });

      const bad = await personCheck("110105194912310021", c!.fullName);
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errorCode, "INVALID_REQUEST");
      assert.equal(typeof bad.body.errorMessage, "string");
      assert.equal((await call("POST", "/registry/v2/person-checks", { citizenNo: c!.citizenNo })).status, 400, "missing fullName");
      assert.equal((await call("POST", "/registry/v2/person-checks", { idNumber: c!.citizenNo, name: c!.fullName })).status, 400, "hub field names");
      assert.equal((await call("POST", "/registry/v2/person-checks", { citizenNo: c!.citizenNo, fullName: 7 })).status, 400);
      assert.equal((await call("POST", "/registry/v2/person-checks", [])).status, 400);
      const text = await fetch(sandbox.url + "/registry/v2/person-checks", { method: "POST", headers: { "content-type": "text/plain" }, body: "x" });
      assert.equal(text.status, 415);
      assert.equal((await call("GET", "/registry/v2/person-checks")).status, 405);
    });

    test("e-ID: issued, signed, verifiable with the JWKS, idempotent, one active per citizen", async () => {
      const [c] = await freshCitizens(1);
      const key = newKey();
      const first = await issue(c!.citizenNo, key);
      assert.equal(first.status, 201, first.text);
      const eid = first.body as { eidNo: string; citizenNo: string; credential: string; issuedAt: string; expiresAt: string; status: string };
      assert.match(eid.eidNo, /^EID[0-9A-F]{16}$/);
      assert.equal(eid.citizenNo, c!.citizenNo);
      assert.equal(eid.status, "ACTIVE");
      assert.equal(new Date(eid.expiresAt).getUTCFullYear() - new Date(eid.issuedAt).getUTCFullYear(), 10);
      assert.ok(Math.abs(Date.parse(eid.issuedAt) - Date.now()) < 60_000);

      const jwks = createRemoteJWKSet(new URL(sandbox.url + "/.well-known/jwks.json"));
      const { payload, protectedHeader } = await jwtVerify(eid.credential, jwks, { issuer: sandbox.url, typ: "eid+jwt", algorithms: ["EdDSA"] });
      assert.deepEqual(payload, {
        iss: sandbox.url,
        sub: eid.eidNo,
        eid_no: eid.eidNo,
        citizen_no: c!.citizenNo,
        full_name: c!.fullName,
        birth_date: c!.birthDate,
        iat: Date.parse(eid.issuedAt) / 1000,
        exp: Date.parse(eid.expiresAt) / 1000,
      });
      const keys = (await call("GET", "/.well-known/jwks.json")).body.keys as Record<string, string>[];
      assert.equal(keys.length, 1);
      assert.deepEqual(Object.keys(keys[0]!).sort(), ["alg", "crv", "kid", "kty", "use", "x"], "public parts only");
      assert.equal(keys[0]!.kid, protectedHeader.kid);
      assert.equal(keys[0]!.alg, "EdDSA");
      assert.equal(keys[0]!.use, "sig");

      const [h, p, sig] = eid.credential.split(".") as [string, string, string];
      const forged = Buffer.from(JSON.stringify({ ...payload, full_name: "王伟" })).toString("base64url");
      await assert.rejects(jwtVerify(`${h}.${forged}.${sig}`, jwks), { code: "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" });
      assert.notEqual(p, forged);

      const again = await issue(c!.citizenNo, key);
      assert.equal(again.status, 201);
      assert.equal(again.text, first.text, "the same answer, byte for byte");

      const reused = await issue(syntheticCitizens(SEED, 1, { asOf: SEED_AS_OF })[0]!.citizenNo, key);
      assert.equal(reused.status, 422);
      assert.equal(reused.body.errorCode, "IDEMPOTENCY_KEY_REUSED");

      const second = await issue(c!.citizenNo);
      assert.equal(second.status, 409);
      assert.equal(second.body.errorCode, "EID_ALREADY_ACTIVE");
      assert.equal(second.body.existingEidNo, eid.eidNo);

      const fetched = await call("GET", `/registry/v2/eids/${eid.eidNo}`);
      assert.equal(fetched.status, 200);
      assert.deepEqual(fetched.body, eid);
      assert.deepEqual(await eidRows(c!.citizenNo), [{ eid_no: eid.eidNo, status: "ACTIVE" }]);

      const noKey = await issue(c!.citizenNo, null);
      assert.deepEqual([noKey.status, noKey.body.errorCode], [400, "IDEMPOTENCY_KEY_MISSING"]);
      const unknown = await issue("11010519491231002X");
      assert.deepEqual([unknown.status, unknown.body.errorCode], [404, "CITIZEN_NOT_FOUND"]);
      const missing = await call("GET", "/registry/v2/eids/EID0000000000000000");
      assert.deepEqual([missing.status, missing.body.errorCode], [404, "EID_NOT_FOUND"]);
      assert.equal((await call("GET", "/registry/v2/eids/%E0%A4%A")).status, 400, "bad percent-encoding");
    });

    test("concurrent requests: one key issues once, several keys for one citizen issue once", async () => {
      const [a, b] = await freshCitizens(2);
      const key = newKey();
      const sameKey = await Promise.all(Array.from({ length: 8 }, () => issue(a!.citizenNo, key)));
      assert.deepEqual(new Set(sameKey.map((r) => r.status)), new Set([201]));
      assert.equal(new Set(sameKey.map((r) => r.text)).size, 1);
      assert.equal((await eidRows(a!.citizenNo)).length, 1);

      const manyKeys = await Promise.all(Array.from({ length: 8 }, () => issue(b!.citizenNo)));
      const won = manyKeys.filter((r) => r.status === 201);
      assert.equal(won.length, 1, manyKeys.map((r) => r.status).join());
      for (const r of manyKeys.filter((x) => x.status !== 201)) assert.deepEqual([r.status, r.body.existingEidNo], [409, won[0]!.body.eidNo]);
      assert.deepEqual(await eidRows(b!.citizenNo), [{ eid_no: won[0]!.body.eidNo, status: "ACTIVE" }]);
    });

    test("test-data citizens: fresh, valid, in the age range asked for", async () => {
      const minors = await freshCitizens(20, { minAge: 0, maxAge: 17 });
      assert.equal(new Set(minors.map((c) => c.citizenNo)).size, 20);
      const thisYear = new Date().getUTCFullYear();
      for (const c of minors) {
        assert.ok(isResidentId(c.citizenNo), c.citizenNo);
        assert.equal(residentIdBirthDate(c.citizenNo), c.birthDate);
        assert.equal(c.maritalStatus, "SINGLE");
        const born = Number(c.birthDate.slice(0, 4));
        assert.ok(born >= thisYear - 18 && born <= thisYear, c.birthDate);
      }
      const before = await count("citizen");
      await freshCitizens(5);
      assert.equal(await count("citizen"), before + 5);
      for (const body of [{ count: 0 }, { count: 1001 }, { count: 2.5 }, { count: 1, minAge: 30, maxAge: 20 }, { count: 1, colour: "red" }])
        assert.equal((await call("POST", "/_sandbox/citizens", body)).status, 400, JSON.stringify(body));
    });

    test("faults: settings are validated and apply to /registry (an outage to its health too) only", async () => {
      assert.deepEqual((await call("GET", "/_sandbox/faults")).body, NO_FAULTS);
      for (const body of [{ errorRate: 2 }, { latencyMs: -1 }, { outage: "yes" }, { latency: 5 }])
        assert.equal((await call("PUT", "/_sandbox/faults", body)).status, 400, JSON.stringify(body));
      await setFaults({ outage: true, errorRate: 0.25 });
      assert.deepEqual((await call("GET", "/_sandbox/faults")).body, { ...NO_FAULTS, outage: true, errorRate: 0.25 });
      await setFaults({ outage: true });
      assert.deepEqual((await call("GET", "/_sandbox/faults")).body, { ...NO_FAULTS, outage: true }, "PUT replaces, not merges");

      const [c] = syntheticCitizens(SEED, 1, { asOf: SEED_AS_OF });
      const down = await personCheck(c!.citizenNo, c!.fullName);
      assert.deepEqual([down.status, down.body.errorCode], [503, "SERVICE_UNAVAILABLE"]);
      // A system that is down says so on its health endpoint, which the hub probes.
      assert.deepEqual(await call("GET", "/healthz"), {
        status: 503,
        text: '{"status":"unavailable","sandbox":"civil-registry"}',
        body: { status: "unavailable", sandbox: "civil-registry" },
      });
      assert.equal((await call("GET", "/.well-known/jwks.json")).status, 200);
      assert.equal((await call("DELETE", "/_sandbox/faults")).status, 200);
      assert.equal((await personCheck(c!.citizenNo, c!.fullName)).status, 200);
      assert.equal((await call("GET", "/healthz")).status, 200);
    });

    test("faults: errors, latency and timeouts commit nothing", async () => {
      const [c] = await freshCitizens(1);
      const key = newKey();
      await setFaults({ errorRate: 1 });
      const failed = await issue(c!.citizenNo, key);
      assert.deepEqual([failed.status, failed.body.errorCode], [500, "INTERNAL_ERROR"]);

      await setFaults({ timeoutRate: 1 });
      await assert.rejects(call("POST", "/registry/v2/eids", { citizenNo: c!.citizenNo }, { "idempotency-key": key }, AbortSignal.timeout(300)), {
        name: "TimeoutError",
      });
      assert.equal((await eidRows(c!.citizenNo)).length, 0);

      await setFaults({ latencyMs: 250 });
      const started = performance.now();
      const slow = await issue(c!.citizenNo, key);
      assert.ok(performance.now() - started >= 240, `answered after ${performance.now() - started} ms`);
      assert.equal(slow.status, 201, "the key was not used up by the failed attempts");
      assert.equal((await eidRows(c!.citizenNo)).length, 1);
    });

    test("faults: a malformed answer breaks the format and commits nothing", async () => {
      const [c] = await freshCitizens(1);
      await setFaults({ malformedRate: 1 });
      for (let i = 0; i < 5; i++) {
        const check = await personCheck(c!.citizenNo, c!.fullName);
        assert.equal(check.status, 200);
        assert.ok(!["CONSISTENT", "INCONSISTENT"].includes(check.body.checkResult as string), check.text);
      }
      const key = newKey();
      const bad = await issue(c!.citizenNo, key);
      assert.equal(bad.status, 201);
      assert.ok(typeof bad.body.eidNo !== "string" || typeof bad.body.credential !== "string", bad.text);
      assert.equal((await eidRows(c!.citizenNo)).length, 0);
      assert.equal((await db.query(`SELECT 1 FROM ${S}.idempotency WHERE key = $1`, [key])).length, 0);
    });

    test("faults: a lost answer is committed, and a retry with the same key gets it", async () => {
      const [c] = await freshCitizens(1);
      const key = newKey();
      await setFaults({ lostResponseRate: 1 });
      await assert.rejects(issue(c!.citizenNo, key), TypeError, "fetch fails: the socket closes without an answer");
      const rows = await eidRows(c!.citizenNo);
      assert.equal(rows.length, 1);
      await call("DELETE", "/_sandbox/faults");
      const retry = await issue(c!.citizenNo, key);
      assert.equal(retry.status, 201);
      assert.equal(retry.body.eidNo, rows[0]!.eid_no);
      assert.equal((await eidRows(c!.citizenNo)).length, 1);
    });

    test("state survives a restart: e-IDs and keys kept, citizens not re-seeded, faults reset", async () => {
      const [c] = await freshCitizens(1);
      const issued = await issue(c!.citizenNo);
      assert.equal(issued.status, 201);
      const citizens = await count("citizen");
      const jwks = (await call("GET", "/.well-known/jwks.json")).body;
      const oldUrl = sandbox.url;

      // A request held by a timeout fault must not keep the server from closing.
      await setFaults({ timeoutRate: 1 });
      const hanging = fetch(sandbox.url + "/registry/v2/eids/whatever").then(
        () => "answered",
        () => "closed",
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      await sandbox.close();
      assert.equal(await hanging, "closed");
      await db.close();

      db = await openDb({ url: scratch?.url, pgliteDir });
      sandbox = await startSandbox({ port: 0, db, seedCount: SEED_COUNT });
      assert.equal(sandbox.seeded, 0);
      assert.equal(await count("citizen"), citizens);
      assert.deepEqual((await call("GET", "/_sandbox/faults")).body, NO_FAULTS);
      assert.deepEqual((await call("GET", `/registry/v2/eids/${issued.body.eidNo as string}`)).body, issued.body);
      assert.deepEqual((await call("GET", "/.well-known/jwks.json")).body, jwks);
      const remote = createRemoteJWKSet(new URL(sandbox.url + "/.well-known/jwks.json"));
      const { payload } = await jwtVerify(issued.body.credential as string, remote, { issuer: oldUrl });
      assert.equal(payload.eid_no, issued.body.eidNo);
      assert.equal(decodeProtectedHeader(issued.body.credential as string).kid, (jwks.keys as { kid: string }[])[0]!.kid);
      assert.equal((await issue(c!.citizenNo)).body.errorCode, "EID_ALREADY_ACTIVE");
    });
  });
}
