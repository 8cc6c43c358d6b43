/**
 * The utilities sandbox over real HTTP, on PostgreSQL (a scratch database of this test's
 * own) and on embedded PGlite: its seed matches the civil registry's, test-data accounts,
 * orders with idempotency keys (replay, reuse, a race), its refusals in its own format,
 * the fault controls, and state that survives a restart.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openDb, type Db } from "../../platform/db";
import { NO_FAULTS, startSandbox } from "../../adapters/utilities/sandbox/server";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { formatAddrLine, isAccountList, isServiceOrder, isUtilityError, type ServiceOrder, type UtilityAccount } from "../../adapters/utilities/agency-format";
import { createScratchDatabase } from "../support/scratch-db";

const SEED_COUNT = 30;
const S = "sandbox_utilities";
const citizens = syntheticCitizens(SEED, SEED_COUNT, { asOf: SEED_AS_OF });
const premiseOf = (i: number) => ({ addr_line: formatAddrLine(citizens[i]!.address), post_code: citizens[i]!.address.postcode });

const backends: { name: string; postgres: boolean }[] = [{ name: "PGlite", postgres: false }];
if (process.env.DATABASE_URL) backends.push({ name: "PostgreSQL", postgres: true });

for (const backend of backends) {
  describe(`utilities sandbox on ${backend.name}`, () => {
    const pgliteDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "utilities-sandbox-")), "pglite");
    let scratch: Awaited<ReturnType<typeof createScratchDatabase>> | undefined;
    let db: Db;
    let sandbox: Awaited<ReturnType<typeof startSandbox>>;
    let n = 0;
    const newKey = () => `sandbox-test-${process.pid}-${++n}`;

    async function call(method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
      const res = await fetch(sandbox.url + route, {
        method,
        headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    }
    const suspend = (body: object, key: string | null = newKey()) =>
      call("POST", "/utility/v1/suspensions", body, key === null ? {} : { "idempotency-key": key });
    const accountsAt = async (i: number) => {
      const q = new URLSearchParams({ post_code: citizens[i]!.address.postcode, street: citizens[i]!.address.street });
      const res = await call("GET", `/utility/v1/accounts?${q}`);
      assert.equal(res.status, 200);
      assert.ok(isAccountList(res.body));
      return res.body.acct_list;
    };

    before(async () => {
      if (backend.postgres) scratch = await createScratchDatabase();
      db = await openDb({ url: scratch?.url, pgliteDir });
      sandbox = await startSandbox({ port: 0, db, seedCount: SEED_COUNT });
    });
    after(async () => {
      await sandbox?.close();
      await db?.close();
      await scratch?.drop();
    });

    test("the seed gives the civil registry's seeded citizens gas, power and water at their addresses", async () => {
      assert.equal(sandbox.seeded, 3 * SEED_COUNT);
      const list = await accountsAt(0);
      assert.deepEqual(
        list.map((a) => a.acct_no),
        ["G0000000001", "E0000000001", "W0000000001"],
      );
      for (const a of list) {
        assert.equal(a.holder_id, citizens[0]!.citizenNo);
        assert.equal(a.holder_nm, citizens[0]!.fullName);
        assert.deepEqual(a.premise, premiseOf(0));
        assert.equal(a.acct_status, "ACT");
      }
    });

    test("POST /_sandbox/accounts gives each holder gas, power and water at their address, once", async () => {
      const holder = { idNumber: citizens[5]!.citizenNo, name: "测试人", address: { ...citizens[5]!.address, street: "试验路1号" } };
      const created = await call("POST", "/_sandbox/accounts", { holders: [holder] });
      assert.equal(created.status, 201);
      const accounts = created.body as UtilityAccount[];
      assert.deepEqual(accounts.map((a) => a.svc_code).sort(), ["E", "G", "W"]);
      assert.ok(
        accounts.every((a) => a.holder_id === holder.idNumber && a.premise.addr_line.startsWith("试验路1号, ") && Number(a.acct_no.slice(1)) >= 1_000_000),
      );
      const again = await call("POST", "/_sandbox/accounts", { holders: [holder] });
      assert.deepEqual(again.body, created.body, "a holder who has accounts there keeps them");
      for (const bad of [
        {},
        { holders: [] },
        { holders: [{ ...holder, idNumber: "123" }] },
        { holders: [{ ...holder, address: { ...holder.address, street: "a,b" } }] },
        { holders: [holder], more: 1 },
      ]) {
        const res = await call("POST", "/_sandbox/accounts", bad);
        assert.equal(res.status, 400, JSON.stringify(bad));
        assert.ok(isUtilityError(res.body) && res.body.err_code === "E_BAD_REQ");
      }
    });

    test("a suspension with a key is carried out once: a repeat gets the same answer; the key with another order is refused", async () => {
      const key = newKey();
      const body = { premise: premiseOf(1), svc_code: "G", reason_txt: "gas leak", incident_ref: "INC-1" };
      const first = await suspend(body, key);
      assert.equal(first.status, 201);
      assert.ok(isServiceOrder(first.body));
      assert.deepEqual(first.body.acct_results, [{ acct_no: "G0000000002", svc_code: "G", acct_status: "SUS", chg_flag: "Y" }]);
      const again = await suspend(body, key);
      assert.deepEqual(again, first);
      const reused = await suspend({ ...body, svc_code: "W" }, key);
      assert.equal(reused.status, 422);
      assert.deepEqual((reused.body as { err_code: string }).err_code, "E_IDEM_REUSE");
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${S}.service_order WHERE idem_key = $1`, [key]);
      assert.equal(row!.n, 1);
      const gas = (await accountsAt(1)).find((a) => a.svc_code === "G")!;
      assert.equal(gas.acct_status, "SUS");
      assert.equal(gas.susp_reason, "gas leak");
    });

    test("the same key sent twenty times at once: one order, one answer", async () => {
      const key = newKey();
      const body = { premise: premiseOf(2), svc_code: "E", reason_txt: "cable fault" };
      const answers = await Promise.all(Array.from({ length: 20 }, () => suspend(body, key)));
      assert.ok(answers.every((a) => a.status === 201));
      assert.equal(new Set(answers.map((a) => (a.body as ServiceOrder).order_ref)).size, 1);
      const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${S}.service_order WHERE idem_key = $1`, [key]);
      assert.equal(row!.n, 1);
    });

    test("suspending the suspended and restoring the active succeed without a change", async () => {
      const body = { acct_no: "W0000000004", svc_code: "W", reason_txt: "burst main" };
      assert.equal(((await suspend(body)).body as ServiceOrder).acct_results[0]!.chg_flag, "Y");
      assert.equal(((await suspend(body)).body as ServiceOrder).acct_results[0]!.chg_flag, "N");
      const restore = (k = newKey()) => call("POST", "/utility/v1/restorations", body, { "idempotency-key": k });
      const restored = (await restore()).body as ServiceOrder;
      assert.deepEqual(restored.acct_results, [{ acct_no: "W0000000004", svc_code: "W", acct_status: "ACT", chg_flag: "Y" }]);
      assert.equal(((await restore()).body as ServiceOrder).acct_results[0]!.chg_flag, "N");
    });

    test("a transfer passes every account at a premise to the new holder", async () => {
      const res = await call(
        "POST",
        "/utility/v1/transfers",
        { premise: premiseOf(6), new_holder: { id_no: citizens[7]!.citizenNo, holder_nm: citizens[7]!.fullName } },
        { "idempotency-key": newKey() },
      );
      assert.equal(res.status, 201);
      assert.ok(isServiceOrder(res.body));
      assert.equal(res.body.acct_results.length, 3);
      assert.ok((await accountsAt(6)).every((a) => a.holder_id === citizens[7]!.citizenNo));
    });

    test("refusals in the utility's own format, and nothing stored under their keys", async () => {
      const key = newKey();
      for (const [body, status, code] of [
        [{ premise: { addr_line: "无名路1号, 历下区, 济南市, 山东省", post_code: "250014" }, svc_code: "G", reason_txt: "x" }, 404, "E_PREMISE_NF"],
        [{ acct_no: "G0099999999", svc_code: "G", reason_txt: "x" }, 404, "E_ACCT_NF"],
        [{ acct_no: "G0000000008", svc_code: "E", reason_txt: "x" }, 422, "E_SVC_MISMATCH"],
        [{ acct_no: "G0000000008", premise: premiseOf(7), svc_code: "G", reason_txt: "x" }, 400, "E_BAD_REQ"],
        [{ acct_no: "G0000000008", svc_code: "gas", reason_txt: "x" }, 400, "E_BAD_REQ"],
      ] as const) {
        const res = await suspend(body, key);
        assert.equal(res.status, status, JSON.stringify(body));
        assert.ok(isUtilityError(res.body) && res.body.err_code === code, JSON.stringify(res.body));
      }
      assert.equal((await suspend({ acct_no: "G0000000008", svc_code: "G", reason_txt: "x" }, null)).status, 400);
      assert.equal((await db.query(`SELECT 1 FROM ${S}.idempotency WHERE key = $1`, [key])).length, 0);
      assert.equal(
        (await suspend({ acct_no: "G0000000008", svc_code: "G", reason_txt: "x" }, key)).status,
        201,
        "the key is free for the order once it can be carried out",
      );
    });

    test("fault controls: set, read, refuse nonsense, and clear", async () => {
      const set = await call("PUT", "/_sandbox/faults", { errorRate: 0.2, lostResponseRate: 0.1 });
      assert.deepEqual(set.body, { ...NO_FAULTS, errorRate: 0.2, lostResponseRate: 0.1 });
      assert.deepEqual((await call("GET", "/_sandbox/faults")).body, set.body);
      for (const bad of [{ errorRate: 2 }, { latencyMs: -1 }, { outage: "yes" }, { surprise: 1 }])
        assert.equal((await call("PUT", "/_sandbox/faults", bad)).status, 400, JSON.stringify(bad));
      assert.deepEqual((await call("DELETE", "/_sandbox/faults")).body, NO_FAULTS);
    });

    test("faults: outage 503, 5xx, malformed (nothing done), lost answer (done)", async () => {
      try {
        await call("PUT", "/_sandbox/faults", { outage: true });
        assert.equal((await suspend({ acct_no: "G0000000010", svc_code: "G", reason_txt: "x" })).status, 503);
        await call("PUT", "/_sandbox/faults", { errorRate: 1 });
        assert.equal((await suspend({ acct_no: "G0000000010", svc_code: "G", reason_txt: "x" })).status, 500);
        await call("PUT", "/_sandbox/faults", { malformedRate: 1 });
        const malformed = await suspend({ acct_no: "G0000000010", svc_code: "G", reason_txt: "x" });
        assert.equal(malformed.status, 201);
        assert.ok(!isServiceOrder(malformed.body));
        await call("PUT", "/_sandbox/faults", { lostResponseRate: 1 });
        const key = newKey();
        await assert.rejects(suspend({ acct_no: "E0000000010", svc_code: "E", reason_txt: "x" }, key));
        await call("DELETE", "/_sandbox/faults");
        const accounts = await accountsAt(9);
        assert.equal(accounts.find((a) => a.svc_code === "G")!.acct_status, "ACT", "the malformed answer came with nothing done");
        assert.equal(accounts.find((a) => a.svc_code === "E")!.acct_status, "SUS", "the lost answer's change was committed");
        const replay = await suspend({ acct_no: "E0000000010", svc_code: "E", reason_txt: "x" }, key);
        assert.equal((replay.body as ServiceOrder).acct_results[0]!.chg_flag, "Y", "the retry learns what was done");
      } finally {
        await call("DELETE", "/_sandbox/faults");
      }
    });

    test("state survives a restart, and the seed is not repeated", async () => {
      await sandbox.close();
      sandbox = await startSandbox({ port: 0, db, seedCount: SEED_COUNT });
      assert.equal(sandbox.seeded, 0);
      assert.equal((await accountsAt(1)).find((a) => a.svc_code === "G")!.acct_status, "SUS");
      const health = await call("GET", "/healthz");
      assert.deepEqual(health, { status: 200, body: { status: "ok", sandbox: "utilities" } });
    });
  });
}
