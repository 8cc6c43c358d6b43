/**
 * The emergency services sandbox over real HTTP, on embedded PGlite and, when DATABASE_URL
 * is set, on PostgreSQL (a scratch database of this test's own): CAP alerts in, receipts and
 * dispatches out, idempotency keys honoured, faults settable at run time, state kept across
 * a restart.
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDb, type Db } from "../../platform/db";
import { startSandbox, NO_FAULTS } from "../../adapters/emergency/sandbox/server";
import { FLEET, incidentNoOf } from "../../adapters/emergency/sandbox/store";
import { isCadDispatch, isCadReceipt } from "../../adapters/emergency/agency-format";
import { createScratchDatabase } from "../support/scratch-db";

const FIXTURES = path.join(__dirname, "../../adapters/emergency/fixtures");
const SENDER = "dispatch@fire.shanghai.example";

const backends: { name: string; postgres: boolean }[] = [{ name: "PGlite", postgres: false }];
if (process.env.DATABASE_URL) backends.push({ name: "PostgreSQL", postgres: true });

for (const backend of backends) {
  describe(`emergency sandbox on ${backend.name}`, () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "emergency-sandbox-"));
    const run = randomBytes(3).toString("hex").toUpperCase();
    let db: Db;
    let sandbox: Awaited<ReturnType<typeof startSandbox>>;
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    const open = () => openDb({ url: scratch?.url, pgliteDir: path.join(dir, "pglite") });

    const gas = (name: string, tag: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8").replace(/FD-SH-2026-001187/g, `FD-${run}-${tag}`);
    async function call(method: string, route: string, body?: string, headers: Record<string, string> = {}) {
      const res = await fetch(sandbox.url + route, { method, headers, body });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    }
    const alert = (xml: string, key: string | null, contentType = "application/cap+xml") =>
      call("POST", "/cad/v1/alerts", xml, key === null ? { "content-type": contentType } : { "content-type": contentType, "idempotency-key": key });
    const dispatch = (incidentNo: string, units: unknown, key: string) =>
      call("POST", `/cad/v1/incidents/${incidentNo}/dispatches`, JSON.stringify({ units }), { "content-type": "application/json", "idempotency-key": key });
    const setFaults = async (f: object) =>
      assert.equal((await call("PUT", "/_sandbox/faults", JSON.stringify(f), { "content-type": "application/json" })).status, 200);

    before(async () => {
      if (backend.postgres) scratch = await createScratchDatabase();
      db = await open();
      sandbox = await startSandbox({ port: 0, db });
    });
    afterEach(async () => void (await call("DELETE", "/_sandbox/faults")));
    after(async () => {
      await sandbox?.close();
      await db?.close();
      await scratch?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    test("seeds its fleet once, and is healthy", async () => {
      assert.equal(
        sandbox.seeded,
        Object.values(FLEET).reduce((n, f) => n + f.count, 0),
      );
      assert.deepEqual(await call("GET", "/healthz"), { status: 200, body: { status: "ok", sandbox: "emergency" } });
      assert.equal((await call("GET", "/nowhere")).body.errorCode, "NOT_FOUND");
    });

    test("an alert is taken once per idempotency key and once per CAP identity", async () => {
      const xml = gas("gas-leak-alert.xml", "A");
      const first = await alert(xml, `${SENDER},FD-${run}-A`);
      assert.equal(first.status, 201);
      assert.ok(isCadReceipt(first.body));
      assert.equal(first.body.incidentNo, incidentNoOf(SENDER, `FD-${run}-A`));
      assert.equal(first.body.incidentStatus, "ACTIVE");
      assert.deepEqual(await alert(xml, `${SENDER},FD-${run}-A`), first, "the same key replays the answer");
      const otherKey = await alert(xml, `another-key-${run}`);
      assert.equal(otherKey.status, 200, "the same alert under another key is recognised");
      assert.equal(otherKey.body.receiptId, first.body.receiptId);
      const reused = await alert(gas("gas-leak-update.xml", "A"), `${SENDER},FD-${run}-A`);
      assert.deepEqual([reused.status, reused.body.errorCode], [422, "IDEMPOTENCY_KEY_REUSED"]);
      assert.deepEqual([(await alert(xml, null)).status, (await alert(xml, null)).body.errorCode], [400, "IDEMPOTENCY_KEY_MISSING"]);
    });

    test("Update and Cancel alerts join the incident their references name, and the Cancel closes it", async () => {
      const opened = await alert(gas("gas-leak-alert.xml", "B"), `k-${run}-B1`);
      const updated = await alert(gas("gas-leak-update.xml", "B"), `k-${run}-B2`);
      const cancelled = await alert(gas("gas-leak-cancel.xml", "B"), `k-${run}-B3`);
      assert.deepEqual([opened.status, updated.status, cancelled.status], [201, 201, 201]);
      assert.equal(updated.body.incidentNo, opened.body.incidentNo);
      assert.equal(cancelled.body.incidentNo, opened.body.incidentNo);
      assert.equal(cancelled.body.incidentStatus, "CLOSED");
      const incident = await call("GET", `/cad/v1/incidents/${opened.body.incidentNo}`);
      assert.equal(incident.body.status, "CLOSED");
      assert.deepEqual(
        (incident.body.alerts as { msgType: string }[]).map((a) => a.msgType),
        ["Alert", "Update", "Cancel"],
      );
      // An update whose original it never saw opens the incident of that original.
      const orphan = await alert(gas("gas-leak-update.xml", "C"), `k-${run}-C2`);
      assert.equal(orphan.body.incidentNo, incidentNoOf(SENDER, `FD-${run}-C`));
    });

    test("refuses what is not CAP 1.2, and bodies of other media types", async () => {
      const bad = await alert("<alert><identifier>x</identifier></alert>", `k-${run}-bad`);
      assert.deepEqual([bad.status, bad.body.errorCode], [400, "INVALID_CAP"]);
      assert.ok(Array.isArray(bad.body.problems));
      assert.equal((await alert(gas("gas-leak-alert.xml", "D"), `k-${run}-D`, "text/plain")).status, 415);
      assert.equal((await call("GET", "/cad/v1/alerts")).status, 405);
      assert.equal((await call("GET", "/cad/v1/incidents/INC-000000000000")).body.errorCode, "INCIDENT_NOT_FOUND");
    });

    test("dispatch sends the longest-idle units once per key, and nothing to a closed incident", async () => {
      const opened = await alert(gas("gas-leak-alert.xml", "E"), `k-${run}-E`);
      const no = opened.body.incidentNo as string;
      const first = await dispatch(no, [{ type: "AMBULANCE", count: 2 }], `d-${run}-E1`);
      assert.equal(first.status, 201);
      assert.ok(isCadDispatch(first.body));
      assert.deepEqual(await dispatch(no, [{ type: "AMBULANCE", count: 2 }], `d-${run}-E1`), first);
      const second = await dispatch(no, [{ type: "AMBULANCE", count: 2 }], `d-${run}-E2`);
      const ids = (r: typeof first) => (r.body.units as { unitId: string }[]).map((u) => u.unitId);
      assert.equal(new Set([...ids(first), ...ids(second)]).size, 4, "other units the second time");
      assert.equal((await dispatch(no, [{ type: "HAZMAT", count: 99 }], `d-${run}-E3`)).status, 400);
      assert.equal((await dispatch(no, [{ type: "TANK", count: 1 }], `d-${run}-E4`)).status, 400);
      assert.equal((await dispatch("INC-000000000000", [{ type: "POLICE", count: 1 }], `d-${run}-E5`)).body.errorCode, "INCIDENT_NOT_FOUND");
      await alert(gas("gas-leak-cancel.xml", "E"), `k-${run}-E3`);
      assert.deepEqual((await dispatch(no, [{ type: "POLICE", count: 1 }], `d-${run}-E6`)).body.errorCode, "INCIDENT_CLOSED");
    });

    test("faults: settable at run time, each one as described", async () => {
      assert.deepEqual((await call("GET", "/_sandbox/faults")).body, NO_FAULTS);
      assert.equal((await call("PUT", "/_sandbox/faults", JSON.stringify({ errorRate: 2 }), { "content-type": "application/json" })).status, 400);
      assert.equal((await call("PUT", "/_sandbox/faults", JSON.stringify({ bogus: 1 }), { "content-type": "application/json" })).status, 400);
      await setFaults({ outage: true });
      assert.equal((await alert(gas("gas-leak-alert.xml", "F"), `k-${run}-F`)).status, 503);
      await setFaults({ errorRate: 1 });
      assert.equal((await alert(gas("gas-leak-alert.xml", "F"), `k-${run}-F`)).status, 500);
      await setFaults({ malformedRate: 1 });
      const malformed = await alert(gas("gas-leak-alert.xml", "F"), `k-${run}-F`);
      assert.equal(malformed.status, 201);
      assert.ok(!isCadReceipt(malformed.body));
      await setFaults({ latencyMs: 300 });
      const t0 = Date.now();
      await call("GET", "/cad/v1/incidents/INC-000000000000");
      assert.ok(Date.now() - t0 >= 290);
      await setFaults({ timeoutRate: 1 });
      await assert.rejects(fetch(sandbox.url + "/cad/v1/incidents/INC-000000000000", { signal: AbortSignal.timeout(300) }), /TimeoutError|aborted/i);
      await setFaults({ lostResponseRate: 1 });
      await assert.rejects(alert(gas("gas-leak-alert.xml", "F"), `k-${run}-F`), /fetch failed|socket/i);
      await setFaults({});
      assert.equal((await alert(gas("gas-leak-alert.xml", "F"), `k-${run}-F`)).status, 201, "the lost answer's alert was committed: replayed");
      const [row] = await db.query<{ n: string }>("SELECT count(*) AS n FROM sandbox_emergency.alert WHERE identifier = $1", [`FD-${run}-F`]);
      assert.equal(Number(row!.n), 1);
    });

    test("state survives a restart", async () => {
      const opened = await alert(gas("gas-leak-alert.xml", "G"), `k-${run}-G`);
      await sandbox.close();
      await db.close();
      db = await open();
      sandbox = await startSandbox({ port: 0, db });
      assert.equal(sandbox.seeded, 0, "not seeded twice");
      assert.deepEqual(await alert(gas("gas-leak-alert.xml", "G"), `k-${run}-G`), opened);
    });
  });
}
