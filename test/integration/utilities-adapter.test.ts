/**
 * The utilities adapter over real NATS, HTTP and a sandbox of its own: the REST lookup by
 * address, suspension, restoration and transfer with every business refusal, idempotent
 * replays, the events they publish on JetStream, and what the utility's faults become
 * (502 malformed, 503 outage or 5xx, 504 silence; never a corrupt result or a 500).
 */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ServiceBroker } from "moleculer";
import { DeliverPolicy, type ConsumerMessages } from "nats";
import { openDb, type Db } from "../../platform/db";
import { connectBus, type EventBus } from "../../platform/events/bus";
import type { CloudEvent } from "../../platform/events/envelope";
import { startSandbox } from "../../adapters/utilities/sandbox/server";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { operations } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { clusterEnv, startNode, type TestNode, callerBroker } from "../support/hub";
import { assertDocumented, assertProblem } from "../support/contract";

type Schemas = components["schemas"];
const SEEDED = 40;
const lookupOp = operations().find((o) => o.operationId === "utilities.account.lookup")!;
const citizens = syntheticCitizens(SEED, SEEDED, { asOf: SEED_AS_OF });
const env = clusterEnv();
let db: Db;
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let node: TestNode;
let broker: ServiceBroker;
let bus: EventBus;
let messages: ConsumerMessages;
const events: CloudEvent[] = [];
let run = 0;

const faults = (body: object) =>
  fetch(`${sandbox.url}/_sandbox/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const key = (what: string) => `adapter-test:${process.pid}:${++run}:${what}`;
const call = <T>(action: string, params: object) => broker.call<T, object>(`utilities.${action}`, params);
const lookup = (postcode: string, street: string) => fetch(`${node.url}/v1/utility-accounts?${new URLSearchParams({ postcode, street })}`);

/** The events of one order on JetStream: waits for `expected` of them (then a little longer for strays), or `waitMs` when none is expected. */
async function eventsOf(orderNo: string, expected: number, waitMs = 10_000): Promise<CloudEvent[]> {
  const deadline = Date.now() + waitMs;
  const found = () => events.filter((e) => e.subject === orderNo);
  while (Date.now() < deadline && (expected === 0 || found().length < expected)) await new Promise((r) => setTimeout(r, 50));
  if (expected > 0) await new Promise((r) => setTimeout(r, 300));
  return found();
}

before(async () => {
  // A sandbox of this test's own, so its faults reach no other test.
  db = await openDb({ pgliteDir: path.join(fs.mkdtempSync(path.join(os.tmpdir(), "utilities-adapter-")), "pglite") });
  sandbox = await startSandbox({ port: 0, db, seedCount: SEEDED });
  node = await startNode("api,utilities", { ...env, UTILITIES_URL: sandbox.url, UTILITIES_TIMEOUT_MS: "500" });
  broker = await callerBroker(env.HUB_NAMESPACE!, ["utilities"], "utilities-test");
  bus = await connectBus(process.env.NATS_URL!, "utilities-adapter-test");
  const consumer = await bus.js.consumers.get("EVENTS", {
    filterSubjects: ["events.utilities.>"],
    deliver_policy: DeliverPolicy.StartTime,
    opt_start_time: new Date(Date.now() - 1000).toISOString(),
  });
  messages = await consumer.consume();
  void (async () => {
    for await (const m of messages) events.push(m.json<CloudEvent>());
  })();
});
beforeEach(async () => void (await fetch(`${sandbox.url}/_sandbox/faults`, { method: "DELETE" })));
after(async () => {
  await messages?.close();
  await bus?.close();
  await broker?.stop();
  await node?.stop();
  await sandbox?.close();
  await db?.close();
});

describe("lookup by address (REST)", () => {
  test("the accounts at a seeded citizen's address, in the contract's terms", async () => {
    const c = citizens[0]!;
    const res = await lookup(c.address.postcode, c.address.street);
    assert.equal(res.status, 200);
    const body = (await assertDocumented(lookupOp, res)) as Schemas["UtilityAccountList"];
    const mine = body.accounts.filter((a) => a.holderName === c.fullName);
    assert.deepEqual(
      mine.map((a) => [a.accountNo, a.service, a.status]),
      [
        ["G0000000001", "gas", "ACTIVE"],
        ["E0000000001", "power", "ACTIVE"],
        ["W0000000001", "water", "ACTIVE"],
      ],
    );
    for (const a of mine) assert.deepEqual(a.address, c.address, "the utility's address line mapped back to the registry's structure");
    assert.ok(!JSON.stringify(body).includes(c.citizenNo), "the holder's identity number is not disclosed");
  });

  test("an address the utility does not know: an empty list", async () => {
    const res = await lookup("999999", "无名路1号");
    assert.deepEqual(await assertDocumented(lookupOp, res), { accounts: [] });
  });

  test("query parameters are checked against the contract: 400 problem naming each", async () => {
    for (const [query, pointers] of [
      ["postcode=12&street=x", ["/postcode"]],
      ["street=x", ["/postcode"]],
      ["postcode=250014", ["/street"]],
      ["postcode=250014&street=a,b", ["/street"]],
      ["postcode=250014&street=x&extra=1", ["/extra"]],
    ] as const) {
      const res = await fetch(`${node.url}/v1/utility-accounts?${query}`);
      const problem = await assertDocumented(lookupOp, res);
      assertProblem(problem, 400);
      assert.deepEqual(
        (problem.errors as { pointer: string }[]).map((e) => e.pointer),
        pointers,
        query,
      );
    }
  });
});

describe("suspension and restoration", () => {
  const c = citizens[1]!;

  test("suspending gas at an address suspends it there, once, and says so on JetStream", async () => {
    const k = key("suspend");
    const params = { address: c.address, service: "gas", reason: "Gas leak reported by the fire service", idempotencyKey: k, incidentId: "FD-SH-2026-000042" };
    const result = await call<Schemas["UtilityServiceChange"]>("service.suspend", params);
    assert.match(result.orderNo, /^SO[0-9A-F]{16}$/);
    assert.equal(result.service, "gas");
    assert.deepEqual(result.address, c.address);
    assert.deepEqual(result.accounts, [{ accountNo: "G0000000002", service: "gas", status: "SUSPENDED", changed: true }]);

    const replay = await call<Schemas["UtilityServiceChange"]>("service.suspend", params);
    assert.deepEqual(replay, result, "the same key answers the same order");

    const [event, ...more] = await eventsOf(result.orderNo, 1);
    assert.equal(more.length, 0, "one event, even though the order was answered twice");
    assert.equal(event!.type, "utilities.service.suspended");
    assert.equal(event!.source, "/linkage-hub/utilities");
    assert.deepEqual(event!.data, {
      orderNo: result.orderNo,
      service: "gas",
      address: c.address,
      accountNos: ["G0000000002"],
      reason: params.reason,
      incidentId: params.incidentId,
      effectiveAt: result.effectiveAt,
    });

    const listed = (await (await lookup(c.address.postcode, c.address.street)).json()) as Schemas["UtilityAccountList"];
    const gas = listed.accounts.find((a) => a.accountNo === "G0000000002")!;
    assert.equal(gas.status, "SUSPENDED");
    assert.equal(gas.suspensionReason, params.reason);
    assert.equal(listed.accounts.find((a) => a.accountNo === "E0000000002")!.status, "ACTIVE", "power untouched");
  });

  test("suspending what is suspended already succeeds and changes nothing (no event)", async () => {
    const result = await call<Schemas["UtilityServiceChange"]>("service.suspend", {
      address: c.address,
      service: "gas",
      reason: "again",
      idempotencyKey: key("suspend-again"),
    });
    assert.deepEqual(result.accounts, [{ accountNo: "G0000000002", service: "gas", status: "SUSPENDED", changed: false }]);
    assert.deepEqual(await eventsOf(result.orderNo, 0, 1500), []);
  });

  test("restoring brings it back and says so; restoring an active service changes nothing", async () => {
    const restored = await call<Schemas["UtilityServiceChange"]>("service.restore", {
      address: c.address,
      service: "gas",
      reason: "All clear",
      idempotencyKey: key("restore"),
    });
    assert.deepEqual(restored.accounts, [{ accountNo: "G0000000002", service: "gas", status: "ACTIVE", changed: true }]);
    const [event] = await eventsOf(restored.orderNo, 1);
    assert.equal(event!.type, "utilities.service.restored");
    assert.deepEqual((event!.data as { accountNos: string[] }).accountNos, ["G0000000002"]);

    const again = await call<Schemas["UtilityServiceChange"]>("service.restore", {
      address: c.address,
      service: "gas",
      reason: "All clear",
      idempotencyKey: key("restore-again"),
    });
    assert.deepEqual(again.accounts, [{ accountNo: "G0000000002", service: "gas", status: "ACTIVE", changed: false }]);
    assert.deepEqual(await eventsOf(again.orderNo, 0, 1500), []);
  });

  test("one account by its number", async () => {
    const result = await call<Schemas["UtilityServiceChange"]>("service.suspend", {
      accountNo: "W0000000003",
      service: "water",
      reason: "Burst main",
      idempotencyKey: key("by-account"),
    });
    assert.deepEqual(result.address, citizens[2]!.address);
    assert.deepEqual(result.accounts, [{ accountNo: "W0000000003", service: "water", status: "SUSPENDED", changed: true }]);
  });

  test("every account of the service at an address shared by several holders", async () => {
    const shared = await fetch(`${sandbox.url}/_sandbox/accounts`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ holders: [{ idNumber: "350102200609041393", name: "高一军", address: citizens[3]!.address }] }),
    });
    assert.equal(shared.status, 201);
    const extra = ((await shared.json()) as { acct_no: string }[]).find((a) => a.acct_no.startsWith("E"))!.acct_no;
    const result = await call<Schemas["UtilityServiceChange"]>("service.suspend", {
      address: citizens[3]!.address,
      service: "power",
      reason: "Cable fault",
      idempotencyKey: key("shared"),
    });
    assert.deepEqual(
      result.accounts.map((a) => [a.accountNo, a.changed]).sort(),
      [
        ["E0000000004", true],
        [extra, true],
      ].sort(),
    );
    const [event] = await eventsOf(result.orderNo, 1);
    assert.deepEqual((event!.data as { accountNos: string[] }).accountNos.sort(), ["E0000000004", extra].sort());
  });
});

describe("transfer", () => {
  const newHolder = { idNumber: "310104199204300430", name: "周雨浩" };

  test("every account at an address passes to the new holder, once", async () => {
    const c = citizens[4]!;
    const params = { address: c.address, newHolder, idempotencyKey: key("transfer") };
    const result = await call<Schemas["UtilityAccountTransfer"]>("account.transfer", params);
    assert.deepEqual(result.newHolder, newHolder);
    assert.deepEqual(
      result.accounts.map((a) => [a.accountNo, a.service, a.changed]),
      [
        ["E0000000005", "power", true],
        ["G0000000005", "gas", true],
        ["W0000000005", "water", true],
      ],
    );
    assert.deepEqual(await call("account.transfer", params), result, "replayed, not repeated");
    const [event, ...more] = await eventsOf(result.orderNo, 1);
    assert.equal(more.length, 0);
    assert.equal(event!.type, "utilities.account.transferred");
    assert.deepEqual(
      event!.data,
      { orderNo: result.orderNo, accountNos: ["E0000000005", "G0000000005", "W0000000005"], effectiveAt: result.effectiveAt },
      "references only: no holder, no address",
    );
    // The new holder and the address, for a purpose: the transfer's own read.
    const read = await broker.call("utilities.transfer.get", { orderNo: result.orderNo }, { meta: { purpose: "utility-service" } });
    assert.deepEqual(read, result);
    const refused = await broker.call("utilities.transfer.get", { orderNo: result.orderNo }).catch((err: { code: number; type: string }) => err);
    assert.deepEqual([(refused as { code: number }).code, (refused as { type: string }).type], [403, "HUB_ERR_FORBIDDEN"]);
    const listed = (await (await lookup(c.address.postcode, c.address.street)).json()) as Schemas["UtilityAccountList"];
    assert.ok(listed.accounts.filter((a) => a.accountNo.endsWith("0000000005")).every((a) => a.holderName === newHolder.name));
  });

  test("one account; to its holder already changes nothing", async () => {
    const first = await call<Schemas["UtilityAccountTransfer"]>("account.transfer", {
      accountNo: "G0000000006",
      newHolder,
      idempotencyKey: key("transfer-one"),
    });
    const [{ previousHolder, ...account }] = first.accounts as [Schemas["UtilityAccountResult"]];
    assert.deepEqual(account, { accountNo: "G0000000006", service: "gas", status: "ACTIVE", changed: true });
    assert.ok(previousHolder && previousHolder.idNumber !== newHolder.idNumber, "names who held it before, so the transfer can be undone");
    const again = await call<Schemas["UtilityAccountTransfer"]>("account.transfer", {
      accountNo: "G0000000006",
      newHolder,
      idempotencyKey: key("transfer-one-again"),
    });
    assert.deepEqual([again.accounts[0]!.changed, again.accounts[0]!.previousHolder], [false, undefined]);
    assert.deepEqual(await eventsOf(again.orderNo, 0, 1500), []);
  });
});

describe("refusals and bad params", () => {
  const unknown = { province: "山东省", city: "济南市", district: "历下区", street: "无名路1号", postcode: "250014" };
  for (const [name, action, params, reason] of [
    ["an unknown address", "service.suspend", { address: unknown, service: "gas", reason: "x" }, "ADDRESS_NOT_FOUND"],
    ["an unknown account", "service.restore", { accountNo: "G0099999999", service: "gas", reason: "x" }, "ACCOUNT_NOT_FOUND"],
    ["an account of another service", "service.suspend", { accountNo: "G0000000007", service: "water", reason: "x" }, "SERVICE_MISMATCH"],
    [
      "a transfer at an unknown address",
      "account.transfer",
      { address: unknown, newHolder: { idNumber: "310104199204300430", name: "周雨浩" } },
      "ADDRESS_NOT_FOUND",
    ],
  ] as const)
    test(`${name} is refused (422, reason ${reason})`, async () => {
      await assert.rejects(
        call(action, { ...params, idempotencyKey: key("refused") }),
        (err: { code: number; type: string; data: { agency: string; reason: string } }) => {
          assert.equal(err.code, 422);
          assert.equal(err.type, "HUB_ERR_AGENCY_REFUSED");
          assert.deepEqual(err.data, { agency: "utilities", reason });
          return true;
        },
      );
    });

  test("an idempotency key reused for another order is refused", async () => {
    const k = key("reuse");
    await call("service.suspend", { accountNo: "E0000000008", service: "power", reason: "x", idempotencyKey: k });
    await assert.rejects(
      call("service.suspend", { accountNo: "E0000000009", service: "power", reason: "x", idempotencyKey: k }),
      (err: { code: number; data: { reason: string } }) => {
        assert.equal(err.code, 422);
        assert.equal(err.data.reason, "IDEMPOTENCY_KEY_REUSED");
        return true;
      },
    );
  });

  test("params outside the contract never reach the utility (400)", async () => {
    for (const bad of [
      { service: "gas", reason: "x", idempotencyKey: key("bad") },
      { address: citizens[0]!.address, accountNo: "G0000000001", service: "gas", reason: "x", idempotencyKey: key("bad") },
      { accountNo: "G0000000001", service: "steam", reason: "x", idempotencyKey: key("bad") },
      { accountNo: "G0000000001", service: "gas", reason: "x", idempotencyKey: "short" },
      { address: { ...citizens[0]!.address, street: "a, b" }, service: "gas", reason: "x", idempotencyKey: key("bad") },
    ])
      await assert.rejects(
        call("service.suspend", bad),
        (err: { code: number; type: string }) => err.code === 400 && err.type === "HUB_ERR_REQUEST_INVALID",
        JSON.stringify(bad),
      );
  });
});

describe("faults at the utility", () => {
  const c = citizens[10]!;
  const order = () =>
    call<Schemas["UtilityServiceChange"]>("service.suspend", { address: c.address, service: "water", reason: "Test", idempotencyKey: key("faults") });

  test("5xx now and then: the adapter's retries carry the order through", async () => {
    await faults({ errorRate: 0.3 });
    assert.equal((await order()).accounts[0]!.status, "SUSPENDED");
  });

  test("a malformed answer is a 502 naming the agency, and nothing was done", async () => {
    await faults({ malformedRate: 1 });
    const res = await lookup(c.address.postcode, c.address.street);
    const problem = await assertDocumented(lookupOp, res);
    assertProblem(problem, 502);
    assert.equal(problem.code, "HUB_ERR_AGENCY_BAD_ANSWER");
    assert.equal(problem.agency, "utilities");
    await assert.rejects(
      call("service.restore", { address: c.address, service: "water", reason: "x", idempotencyKey: key("malformed") }),
      (err: { code: number }) => err.code === 502,
    );
    await faults({});
    const listed = (await (await lookup(c.address.postcode, c.address.street)).json()) as Schemas["UtilityAccountList"];
    assert.equal(listed.accounts.find((a) => a.service === "water")!.status, "SUSPENDED", "the malformed restoration did nothing");
  });

  // In this order: the timeouts, the outage and the 5xx open the breaker (ten failures in a row, counting retries).
  for (const [name, fault, status, code] of [
    ["no answer in time", { timeoutRate: 1 }, 504, "HUB_ERR_AGENCY_TIMEOUT"],
    ["a full outage", { outage: true }, 503, "HUB_ERR_AGENCY_UNAVAILABLE"],
    ["a burst of 5xx", { errorRate: 1 }, 503, "HUB_ERR_AGENCY_UNAVAILABLE"],
  ] as const)
    test(`${name} is a ${status} problem naming the agency`, async () => {
      await faults(fault);
      const problem = await assertDocumented(lookupOp, await lookup(c.address.postcode, c.address.street));
      assertProblem(problem, status);
      assert.equal(problem.code, code);
      assert.equal(problem.agency, "utilities");
    });

  test("the breaker is open after those failures, and closes once the utility answers again", async () => {
    const circuit = async () => Number(/^hub_agency_circuit_state\{agency="utilities"\} (\d)/m.exec(await (await fetch(`${node.url}/metrics`)).text())?.[1]);
    assert.equal(await circuit(), 2, "open");
    await new Promise((r) => setTimeout(r, 5000)); // the breaker's open period
    assert.equal((await lookup(c.address.postcode, c.address.street)).status, 200);
    assert.equal(await circuit(), 0, "closed");
  });

  test("an unreachable utility is a 503 problem", async () => {
    const down = await startNode("api,utilities", { ...clusterEnv(), UTILITIES_URL: "http://127.0.0.1:9" });
    try {
      const problem = await assertDocumented(lookupOp, await fetch(`${down.url}/v1/utility-accounts?postcode=250014&street=x`));
      assertProblem(problem, 503);
      assert.equal(problem.agency, "utilities");
    } finally {
      await down.stop();
    }
  });
});
