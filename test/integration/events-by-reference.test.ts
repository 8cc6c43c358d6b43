/**
 * Events by reference, on the real stack: the civil registry's and the utility's events carry
 * numbers (e-ID, change, order) and the envelope's linkage id, never an id number, a name, an
 * address or a credential, as the bytes JetStream stores show; a consumer that needs the person
 * asks through an audited action with a purpose (`hub.v1.civil-registry.person.get`, as an
 * internal service with a plain NATS client would; the linkages read an address change by its
 * number), the audit log records it with that purpose, and a call without an allowed purpose
 * is refused.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { connect, headers as natsHeaders, type NatsConnection } from "nats";
import type { JsMsg } from "nats";
import { callerBroker, clusterEnv, post, seedCitizens, startNode, type Citizen, type TestNode } from "../support/hub";
import { rawFetch, suiteDb } from "../support/partner";
import { closeSuiteDb, ownPartner, type OwnPartner } from "../support/catalogue";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { readStream } from "../../platform/events/admin";
import type { CloudEvent } from "../../platform/events/envelope";
import { subjectHash } from "../../audit/chain";
import { auditKeysOf } from "../../audit/log";
import { loadConfig } from "../../platform/config";
import { callerOptions } from "../../ops/stack/nats-auth";
import { nameBasedUuid } from "../../platform/ids";
import type { components } from "../../contracts/generated/types";

type Schemas = components["schemas"];
type AuditRecord = { operation: string; outcome: string; purpose?: string; subjects: string[]; partnerId?: string; linkageId?: string };

const env = clusterEnv();
const since = new Date();
const run = Date.now().toString(36).toUpperCase();
const nodes: TestNode[] = [];
let broker: ServiceBroker;
let nc: NatsConnection;
let bus: EventBus;
let consumer: OwnPartner;
/** Everyone this file's changes concern: none of them may show in an event. */
const concerned: Citizen[] = [];

before(async () => {
  nodes.push(await startNode("api,civil-registry,utilities", env), await startNode("linkages,worker", env));
  broker = await callerBroker(env.HUB_NAMESPACE!, ["civil-registry", "linkages", "utilities"], "events-by-reference");
  nc = await connect({ servers: process.env.NATS_URL, ...callerOptions(loadConfig().dataDir, "events-by-reference-test") });
  bus = await connectBus(process.env.NATS_URL!, `events-by-reference-${run}`);
  // An internal service's partner: it may state identity-verification and supervision.
  consumer = await ownPartner("evref", { purposes: ["identity-verification", "supervision"] });
});
after(async () => {
  await nc?.close();
  await bus?.close();
  await broker?.stop();
  for (const n of nodes.reverse()) await n.stop();
  await closeSuiteDb();
});

/** The messages on `filter` since this file started whose event `pick` takes, once `count` of them are there. */
async function messages(filter: string, pick: (e: CloudEvent) => boolean, count: number): Promise<{ msg: JsMsg; event: CloudEvent }[]> {
  for (let i = 0; ; i++) {
    const found = (await readStream(bus, "EVENTS", filter, { startTime: since }))
      .map((msg) => ({ msg, event: JSON.parse(Buffer.from(msg.data).toString("utf8")) as CloudEvent }))
      .filter((m) => pick(m.event));
    if (found.length >= count || i > 100) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The stored bytes (data and headers) hold none of these people's id numbers or names, nor a credential. */
function assertNoPersonalData(msg: JsMsg, people: Citizen[], also: string[] = []): void {
  const bytes = Buffer.concat([Buffer.from(msg.data), Buffer.from(String(msg.headers ?? ""))]);
  for (const p of people) {
    assert.ok(!bytes.includes(Buffer.from(p.citizenNo)), `${msg.subject} holds an id number`);
    assert.ok(!bytes.includes(Buffer.from(p.fullName)), `${msg.subject} holds a name`);
  }
  for (const text of also) assert.ok(!bytes.includes(Buffer.from(text)), `${msg.subject} holds ${text.slice(0, 12)}…`);
  assert.ok(!bytes.includes(Buffer.from("eyJ")), `${msg.subject} holds something like a JWS`);
}

/** A request to the NATS service, as a plain client sends it. */
async function ask(subject: string, body: unknown, given: Record<string, string>): Promise<{ json: Record<string, unknown>; status?: string }> {
  const h = natsHeaders();
  for (const [name, value] of Object.entries(given)) h.set(name, value);
  const msg = await nc.request(subject, Buffer.from(JSON.stringify(body)), { timeout: 15_000, headers: h });
  return { json: msg.json(), status: msg.headers?.get("Nats-Service-Error-Code") || undefined };
}

const recordsWhere = async (field: string, values: string[]) =>
  (
    await (await suiteDb()).query<{ record: AuditRecord }>(`SELECT record FROM hub.audit_record WHERE record->>'${field}' = ANY($1) ORDER BY seq`, [values])
  ).map((r) => r.record);
const keys = auditKeysOf(loadConfig({ ...process.env, ...env }));

describe("e-ID events", () => {
  test("carry the e-ID number only; a consumer gets the holder through civil-registry.person.get, with its purpose, audited", async () => {
    const [holder] = await seedCitizens(1);
    concerned.push(holder!);
    const eid = await broker.call<Schemas["Eid"], object>("civil-registry.eid.issue", { idNumber: holder!.citizenNo, idempotencyKey: `evref-${randomUUID()}` });
    await broker.call("civil-registry.eid.revoke", { eidNo: eid.eidNo, reason: "lost", idempotencyKey: `evref-${randomUUID()}` });

    const found = await messages("events.civil-registry.eid.>", (e) => e.subject === eid.eidNo, 2);
    assert.deepEqual(
      found.map((m) => m.event.type),
      ["civil-registry.eid.issued", "civil-registry.eid.revoked"],
    );
    for (const { msg, event } of found) {
      assertNoPersonalData(msg, [holder!], [eid.credential]);
      assert.deepEqual(Object.keys(event.data).sort(), event.type.endsWith("issued") ? ["eidNo", "expiresAt", "issuedAt"] : ["eidNo", "revokedAt"]);
    }

    // The consumer's question, over the NATS service with its token and purpose.
    const requestId = `evref-${randomUUID()}`;
    const asked = await ask(
      "hub.v1.civil-registry.person.get",
      { eidNo: found[0]!.event.data.eidNo },
      {
        Authorization: `Bearer ${consumer.token}`,
        "Data-Purpose": "identity-verification",
        "X-Request-Id": requestId,
      },
    );
    assert.equal(asked.status, undefined, JSON.stringify(asked.json));
    assert.deepEqual(asked.json, { idNumber: holder!.citizenNo, name: holder!.fullName });
    const [record, ...more] = await recordsWhere("requestId", [requestId]);
    assert.equal(more.length, 0, "one record");
    assert.deepEqual(
      [record!.operation, record!.outcome, record!.purpose, record!.partnerId, record!.subjects],
      ["civil-registry.person.get", "OK", "identity-verification", consumer.id, [subjectHash(keys, holder!.citizenNo)]],
    );
    assert.ok(!JSON.stringify(record).includes(holder!.citizenNo));
  });

  test("without an allowed purpose the person is refused, and a refusal for a granted purpose is audited with it", async () => {
    const [someone] = await seedCitizens(1);
    const as = (purpose?: string, requestId = `evref-${randomUUID()}`) =>
      ask(
        "hub.v1.civil-registry.person.get",
        { idNumber: someone!.citizenNo },
        {
          Authorization: `Bearer ${consumer.token}`,
          "X-Request-Id": requestId,
          ...(purpose ? { "Data-Purpose": purpose } : {}),
        },
      );
    for (const purpose of [undefined, "event-safety"]) {
      const refused = await as(purpose);
      assert.deepEqual([refused.status, refused.json.code], ["403", "HUB_ERR_FORBIDDEN"], JSON.stringify(refused.json));
    }
    // supervision is granted to the partner, but the registry does not hand out a person for it.
    const requestId = `evref-${randomUUID()}`;
    const supervision = await as("supervision", requestId);
    assert.deepEqual([supervision.status, supervision.json.code], ["403", "HUB_ERR_FORBIDDEN"], JSON.stringify(supervision.json));
    assert.match(String(supervision.json.detail), /does not answer for the purpose supervision/);
    const [record] = await recordsWhere("requestId", [requestId]);
    assert.deepEqual([record?.operation, record?.outcome, record?.purpose], ["civil-registry.person.get", "HUB_ERR_FORBIDDEN", "supervision"]);

    const unknown = await ask(
      "hub.v1.civil-registry.person.get",
      { eidNo: "EID0000000000000000" },
      {
        Authorization: `Bearer ${consumer.token}`,
        "Data-Purpose": "identity-verification",
      },
    );
    assert.deepEqual([unknown.status, unknown.json.code], ["404", "HUB_ERR_RECORD_NOT_FOUND"], JSON.stringify(unknown.json));

    // An internal Moleculer caller is held to the same: no purpose, no person.
    const inside = await broker.call("civil-registry.person.get", { idNumber: someone!.citizenNo }).catch((err: { code: number; type: string }) => err);
    assert.deepEqual([(inside as { code: number }).code, (inside as { type: string }).type], [403, "HUB_ERR_FORBIDDEN"]);

    // The same operation over REST.
    const res = await rawFetch(`${nodes[0]!.url}/v1/person-lookups`, {
      method: "POST",
      headers: { authorization: `Bearer ${consumer.token}`, "data-purpose": "identity-verification", "content-type": "application/json" },
      body: JSON.stringify({ idNumber: someone!.citizenNo }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { idNumber: someone!.citizenNo, name: someone!.fullName });
  });
});

describe("a household's move", () => {
  test("the events carry the change and order numbers; each linkage reads the change for its own purpose, audited", async () => {
    const [previous, mover] = await seedCitizens(2);
    concerned.push(previous!, mover!);
    const street = `引用路${run}号`;
    const address = { ...(mover as unknown as { address: Schemas["Address"] }).address, street };
    const made = await post(`${process.env.UTILITIES_URL}/_sandbox/accounts`, {
      holders: [{ idNumber: previous!.citizenNo, name: previous!.fullName, address }],
    });
    assert.equal(made.status, 201, await made.clone().text());
    const change = await broker.call<Schemas["AddressChange"], object>("civil-registry.household.change-address", {
      idNumbers: [mover!.citizenNo],
      address,
      idempotencyKey: `evref-${randomUUID()}`,
    });

    const relocationId = nameBasedUuid(`resident-relocation:${change.changeNo}`);
    const notificationId = nameBasedUuid(`address-change-notification:${change.changeNo}`);
    let relocation: Schemas["Linkage"] | undefined;
    for (let i = 0; i < 300 && relocation?.status !== "COMPLETED"; i++) {
      relocation = await broker.call<Schemas["Linkage"], object>("linkages.status.get", { id: relocationId }).catch(() => undefined);
      if (relocation?.status === "RUNNING" || !relocation) await new Promise((r) => setTimeout(r, 100));
      else break;
    }
    assert.equal(relocation?.status, "COMPLETED", JSON.stringify(relocation));
    assert.deepEqual(relocation.stepsDone, ["read-change", "find-accounts", "transfer-gas", "transfer-power", "transfer-water"]);

    const [moved] = await messages("events.civil-registry.household.address-changed", (e) => e.subject === change.changeNo, 1);
    assert.deepEqual(moved!.event.data, { changeNo: change.changeNo, effectiveAt: change.effectiveAt });
    assertNoPersonalData(moved!.msg, [mover!], [street]);
    const transfers = await messages("events.utilities.account.transferred", (e) => e.linkageid === relocationId, 3);
    assert.equal(transfers.length, 3, "gas, power and water");
    for (const { msg } of transfers) assertNoPersonalData(msg, [mover!, previous!], [street]);

    // Each linkage read the change by its number: audited, for its own purpose, under its linkage id.
    let reads: AuditRecord[] = [];
    for (let i = 0; i < 100 && reads.length < 2; i++) {
      reads = (await recordsWhere("linkageId", [relocationId, notificationId])).filter((r) => r.operation === "civil-registry.address-change.get");
      if (reads.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    const byLinkage = Object.fromEntries(reads.map((r) => [r.linkageId, [r.outcome, r.purpose, r.subjects]]));
    assert.deepEqual(byLinkage, {
      [relocationId]: ["OK", "utility-service", [subjectHash(keys, mover!.citizenNo)]],
      [notificationId]: ["OK", "civil-registration", [subjectHash(keys, mover!.citizenNo)]],
    });

    // A consumer of the transfer event reads the order by its number, for a purpose.
    const orderNo = String(transfers[0]!.event.data.orderNo);
    const order = await broker.call<Schemas["UtilityAccountTransfer"], object>("utilities.transfer.get", { orderNo }, { meta: { purpose: "utility-service" } });
    assert.deepEqual([order.newHolder, order.address.street], [{ idNumber: mover!.citizenNo, name: mover!.fullName }, street]);
  });
});

test("no event this file caused holds an id number or a name of the people it concerns", async () => {
  const all = await readStream(bus, "EVENTS", "events.>", { startTime: since });
  assert.ok(all.length > 0);
  for (const msg of all) assertNoPersonalData(msg, concerned);
});
