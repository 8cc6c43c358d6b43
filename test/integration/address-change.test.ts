/**
 * The address-change notification on the real stack: three providers of the test's own
 * (test/support/address-book.ts) register services with an `x-linkage: address-change`
 * operation and grant the hub's linkages subsystem; a household address change at the civil
 * registry (over NATS, as resident-relocation.test.ts makes one) starts the linkage through
 * the `civil-registry.household.address-changed` event, and every service is told through
 * the generic catalogue activity, mediated and audited on the api node. Also: a service
 * disabled mid-linkage, which calls the generic activity lets Temporal repeat, and whose
 * grant a linkage with a partner calls under.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { DefaultLogger, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import { WorkflowFailedError } from "@temporalio/client";
import { callerBroker, clusterEnv, seedCitizens, startNode, type TestNode } from "../support/hub";
import { closeSuiteDb, freshCode, granted, ownPartner, registered } from "../support/catalogue";
import { suiteDb } from "../support/partner";
import { ADDRESS_BOOK_DOCUMENT, startAddressBook, type AddressBook } from "../support/address-book";
import { nameBasedUuid } from "../../platform/ids";
import { closeTemporal, temporal } from "../../platform/temporal";
import { loadConfig } from "../../platform/config";
import { hubDataConverter } from "../../platform/payload-codec";
import { hubLinkageSubsystem } from "../../catalogue/linkage-client";
import { catalogueActivities } from "../../workflows/activities/catalogue";
import type { components } from "../../contracts/generated/types";

type Linkage = components["schemas"]["Linkage"];
type Address = components["schemas"]["Address"];

const HUB_CLIENT = hubLinkageSubsystem("LOCAL");
const env: NodeJS.ProcessEnv = { ...clusterEnv(), LINKAGE_NOTIFY_RETRY_MS: "2500,2500" };
const nodes: TestNode[] = [];
const books: AddressBook[] = [];
let broker: ServiceBroker;
let api: string;

/** Services left over by an earlier run that stopped halfway would be told too: none may take part but this run's. */
const forgetAddressBooks = async () => (await suiteDb()).query(`DELETE FROM hub.catalogue_service WHERE methods @> '[{"linkage": "address-change"}]'`);

before(async () => {
  // The in-process worker of the last test fails activities on purpose: the SDK's errors only.
  Runtime.install({ logger: new DefaultLogger("ERROR"), telemetryOptions: { logging: { filter: { core: "ERROR", other: "ERROR" } } } });
  await forgetAddressBooks();
  nodes.push(await startNode("civil-registry,utilities", env), await startNode("linkages,worker", env), await startNode("api", env));
  api = nodes[2]!.url;
  broker = await callerBroker(env.HUB_NAMESPACE!, ["civil-registry", "linkages", "catalogue"]);
});
after(async () => {
  await forgetAddressBooks();
  await broker?.stop();
  for (const n of nodes.reverse()) await n.stop();
  for (const b of books) await b.close();
  await closeTemporal();
  await closeSuiteDb();
});

/** A provider registered in the catalogue with its address-change operation, the hub's linkages granted it. */
async function addressBook(title: string, opts: Parameters<typeof startAddressBook>[0] = {}): Promise<{ id: string; book: AddressBook }> {
  const book = await startAddressBook(opts);
  books.push(book);
  const id = await registered(api, { code: freshCode("addr"), baseUrl: book.url, openapi: ADDRESS_BOOK_DOCUMENT(title) });
  await granted(api, HUB_CLIENT, id, ["civil-registration"]);
  return { id, book };
}

const remove = (id: string) => fetch(`${api}/v1/catalogue/services/${id}`, { method: "DELETE" });

async function move(): Promise<{ changeNo: string; idNumbers: string[]; address: Address }> {
  const [mover] = (await seedCitizens(1)) as unknown as { citizenNo: string; address: Address }[];
  const address = { ...mover!.address, street: `通知路${Date.now().toString(36)}号` };
  const change = await broker.call<{ changeNo: string }, object>("civil-registry.household.change-address", {
    idNumbers: [mover!.citizenNo],
    address,
    idempotencyKey: randomUUID(),
  });
  return { changeNo: change.changeNo, idNumbers: [mover!.citizenNo], address };
}

const linkageIdOf = (changeNo: string) => nameBasedUuid(`address-change-notification:${changeNo}`);

/** The linkage's status, polled until `done` holds. */
async function statusUntil(id: string, done: (l: Linkage) => boolean, timeoutMs = 60_000): Promise<Linkage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const linkage = await broker.call<Linkage, object>("linkages.status.get", { id }).catch(() => undefined);
    if (linkage && done(linkage)) return linkage;
    if (Date.now() > deadline) throw new Error(`linkage ${id} never got there: ${JSON.stringify(linkage)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("an address change is told to the three services that take part; one fails at first, is retried on the schedule and told → COMPLETED", async () => {
  const [a, b, c] = [await addressBook("Library patrons"), await addressBook("School pupils", { failFirst: 3 }), await addressBook("Tax payers")];
  const { changeNo, idNumbers, address } = await move();
  const id = linkageIdOf(changeNo);

  const waiting = await statusUntil(id, (l) => l.serviceCalls?.some((s) => s.status === "WAITING_RETRY") ?? false);
  assert.equal(waiting.status, "RUNNING");
  assert.deepEqual(
    waiting.serviceCalls!.filter((s) => s.status === "WAITING_RETRY").map((s) => [s.service, s.attempts]),
    [[b.id, 1]],
  );
  assert.match(String(waiting.serviceCalls!.find((s) => s.service === b.id)!.reason), /answered 503/);

  const done = await statusUntil(id, (l) => l.status !== "RUNNING");
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
  assert.equal(done.type, "address-change-notification");
  assert.deepEqual(done.stepsDone, ["read-change", "find-services", "notify-services"]);
  const byService = Object.fromEntries(done.serviceCalls!.map((s) => [s.service, [s.status, s.attempts]]));
  assert.deepEqual(byService, { [a.id]: ["SUCCEEDED", 1], [b.id]: ["SUCCEEDED", 2], [c.id]: ["SUCCEEDED", 1] });

  // Each provider got the change as the body, the key for the change and itself, and the hub's linkages as the caller.
  for (const { id: service, book } of [a, b, c]) {
    const last = book.received.at(-1)!;
    const body = last.body as { changeNo: string; idNumbers: string[]; address: Address };
    assert.deepEqual([body.changeNo, body.idNumbers, body.address], [changeNo, idNumbers, address]);
    assert.equal(last.headers["idempotency-key"], `address-change:${changeNo}:${service}`);
    assert.equal(last.headers["x-govstack-client"], HUB_CLIENT);
  }
  assert.equal(b.book.received.length, 4, "three quick tries at the first attempt, one at the second");

  // The mediated calls' audit records name the linkage: three refusals of the failing service's first attempt, then one OK each.
  const records = await (
    await suiteDb()
  ).query<{ record: { operation: string; outcome: string; linkageId: string; partnerId: string; purpose: string } }>(
    "SELECT record FROM hub.audit_record WHERE record->>'linkageId' = $1 AND record->>'operation' LIKE 'catalogue:%' ORDER BY seq",
    [id],
  );
  const outcomes = (service: string) => records.filter((r) => r.record.operation.startsWith(`catalogue:${service}`)).map((r) => r.record.outcome);
  assert.deepEqual(outcomes(a.id), ["OK"]);
  assert.deepEqual(outcomes(b.id), ["HUB_ERR_AGENCY_UNAVAILABLE", "HUB_ERR_AGENCY_UNAVAILABLE", "HUB_ERR_AGENCY_UNAVAILABLE", "OK"]);
  assert.deepEqual(outcomes(c.id), ["OK"]);
  assert.ok(records.every((r) => r.record.partnerId === "hub:linkages" && r.record.purpose === "civil-registration"));

  // Listed, and counted, like every other linkage.
  for (let i = 0; ; i++) {
    const page = await broker.call<{ items: { id: string }[] }, object>("linkages.list", {
      type: "address-change-notification",
      status: "COMPLETED",
      limit: 100,
    });
    if (page.items.some((item) => item.id === id)) break;
    assert.ok(i < 50, "the linkage is listed");
    await new Promise((r) => setTimeout(r, 200));
  }
  const metrics = await (await fetch(`${nodes[1]!.url}/metrics`)).text();
  assert.match(metrics, /hub_linkages_ended_total\{linkage_type="address-change-notification",outcome="COMPLETED"\} [1-9]/);

  for (const { id: service } of [a, b, c]) await remove(service);
});

test("a service disabled mid-linkage: its next attempt is refused, with the reason, and the linkage fails naming it", async () => {
  const told = await addressBook("Library patrons");
  const down = await addressBook("Parking permits", { failing: true });
  const { changeNo } = await move();
  const id = linkageIdOf(changeNo);
  await statusUntil(id, (l) => l.serviceCalls?.some((s) => s.service === down.id && s.status === "WAITING_RETRY") ?? false);
  const res = await fetch(`${api}/v1/catalogue/services/${down.id}/disable`, { method: "POST" });
  assert.equal(res.status, 200, await res.text());

  const done = await statusUntil(id, (l) => l.status !== "RUNNING");
  assert.equal(done.status, "FAILED", JSON.stringify(done));
  const refused = done.serviceCalls!.find((s) => s.service === down.id)!;
  assert.equal(refused.status, "REFUSED");
  assert.match(String(refused.reason), /is disabled by its provider's operators/);
  assert.deepEqual(
    done.serviceCalls!.find((s) => s.service === told.id),
    { service: told.id, status: "SUCCEEDED", attempts: 1 },
  );
  assert.match(String(done.reason), new RegExp(`told 1 of 2 services .*not told: ${down.id} \\(refused: .*disabled`));
  assert.deepEqual(done.stepsDone, ["read-change", "find-services", "notify-services"]);

  await remove(told.id);
  await remove(down.id);
});

/** A worker of the test's own running the generic activity (fixtures/catalogue-call-workflow.ts) on the cluster's broker. */
async function withCallWorker(body: (callOnce: (linkage: { partnerId?: string }, call: object) => Promise<unknown>) => Promise<void>): Promise<void> {
  const db = await suiteDb();
  const config = loadConfig({ ...process.env, ...env });
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const taskQueue = `catalogue-call-${randomUUID()}`;
  const worker = await Worker.create({
    connection,
    taskQueue,
    dataConverter: hubDataConverter(config),
    workflowsPath: require.resolve("../fixtures/catalogue-call-workflow"),
    activities: catalogueActivities(broker),
  });
  const { client } = temporal(config);
  /** Runs the activity once for a linkage the hub knows, of `partnerId` (none: the hub's linkages subsystem); its status or its failure. */
  const callOnce = async (linkage: { partnerId?: string }, call: object) => {
    const workflowId = `address-change-notification:CALL-${randomUUID()}`;
    await db.query("INSERT INTO hub.linkage (id, type, business_key, workflow_id, partner_id) VALUES ($1, $2, $3, $4, $5)", [
      nameBasedUuid(workflowId),
      "address-change-notification",
      workflowId.slice(workflowId.indexOf(":") + 1),
      workflowId,
      linkage.partnerId ?? null,
    ]);
    return client.workflow.execute("callOnce", { taskQueue, workflowId, args: [call] }).catch((err: unknown) => err);
  };
  try {
    await worker.runUntil(body(callOnce));
  } finally {
    await connection.close();
  }
}

const causeOf = (failure: unknown) => {
  assert.ok(failure instanceof WorkflowFailedError, String(failure));
  return (failure.cause as { cause?: Error } | undefined)?.cause;
};

test("the generic activity: a POST without Idempotency-Key is tried once; with one, or a GET, Temporal repeats it", async () => {
  const { id: service, book } = await addressBook("Failing office", { failing: true });
  const body = {
    changeNo: "AC0000000000000001",
    idNumbers: ["110101199003074514"],
    address: { street: "x", postcode: "1" },
    effectiveAt: new Date().toISOString(),
  };
  await withCallWorker(async (callOnce) => {
    /** How many requests one run of the activity made reach the provider, and why it failed. */
    const attempt = async (call: { method: "GET" | "POST"; path: string; headers?: Record<string, string> }) => {
      const before = book.received.length;
      const failure = await callOnce(
        {},
        { service, ...call, headers: { "data-purpose": "civil-registration", ...call.headers }, ...(call.method === "POST" ? { body } : {}) },
      );
      return { requests: book.received.length - before, message: String(causeOf(failure)?.message) };
    };
    const unkeyed = await attempt({ method: "POST", path: "/address-changes" });
    assert.equal(unkeyed.requests, 1, "an unsafe call without a key is not repeated");
    assert.match(unkeyed.message, /answered 503/);
    assert.equal((await attempt({ method: "POST", path: "/address-changes", headers: { "idempotency-key": randomUUID() } })).requests, 4);
    assert.equal((await attempt({ method: "GET", path: "/patrons" })).requests, 4);
  });
  await remove(service);
});

test("a linkage with a partner calls with its partner's grant and subsystem, and the audit record names both; a disabled partner's is refused", async () => {
  const partner = await ownPartner("acn");
  const book = await startAddressBook();
  books.push(book);
  const service = await registered(api, { code: freshCode("addr"), baseUrl: book.url, openapi: ADDRESS_BOOK_DOCUMENT("Partner's office") });
  await granted(api, partner.subsystem, service, ["civil-registration"]);
  await withCallWorker(async (callOnce) => {
    assert.equal(await callOnce({ partnerId: partner.id }, { service, method: "GET", path: "/patrons" }), 200);
    assert.equal(book.received.at(-1)!.headers["x-govstack-client"], partner.subsystem);
    const [audited] = await (
      await suiteDb()
    ).query<{ record: { linkageId: string; partnerId: string; outcome: string } }>(
      "SELECT record FROM hub.audit_record WHERE record->>'operation' = $1 ORDER BY seq DESC LIMIT 1",
      [`catalogue:${service}:GET /patrons`],
    );
    assert.equal(audited?.record.partnerId, partner.id);
    assert.equal(audited?.record.outcome, "OK");
    assert.match(String(audited?.record.linkageId), /^[0-9a-f-]{36}$/);
    // The hub's own linkages subsystem has no right here: a linkage without partner is refused, not retried.
    const before = book.received.length;
    assert.match(String(causeOf(await callOnce({}, { service, method: "GET", path: "/patrons" }))?.message), /LOCAL\/GOV\/linkages\/hub has no right/);
    await (await suiteDb()).query("UPDATE hub.partner SET disabled_at = now() WHERE id = $1", [partner.id]);
    assert.match(String(causeOf(await callOnce({ partnerId: partner.id }, { service, method: "GET", path: "/patrons" }))?.message), /is disabled/);
    assert.equal(book.received.length, before, "neither refused call reached the provider");
  });
  await remove(service);
});
