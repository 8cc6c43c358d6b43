/**
 * The service catalogue on the real stack: a provider the test runs registers its REST service
 * from its OpenAPI document, the suite's partner is granted access and calls it through the
 * hub (REST `/r1/...` and NATS `catalogue.call`), and the directory answers as GovStack says.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, json, startNode, type TestNode } from "../support/hub";
import { suiteDb, suiteToken, SUITE_PARTNER } from "../support/partner";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";

const env = clusterEnv();
const code = `persons-${randomBytes(3).toString("hex")}`;
const SERVICE = `LOCAL/GOV/50000001/population-registry/${code}`;
const CLIENT = `LOCAL/GOV/${SUITE_PARTNER}/default`;
const ZHANG = "110101199003074514";
let hub: TestNode;
let provider: Provider;
let broker: ServiceBroker;

const send = (path: string, init: RequestInit = {}) => fetch(hub.url + path, { ...init, headers: { "content-type": "application/json", ...init.headers } });
const post = (path: string, body: unknown) => send(path, { method: "POST", body: JSON.stringify(body) });

before(async () => {
  provider = await startProvider();
  hub = await startNode("api", env);
  broker = await callerBroker(env.HUB_NAMESPACE!, ["catalogue"]);
  const [instance, memberClass, memberCode, subsystemCode] = SERVICE.split("/");
  const added = await post("/v1/catalogue/services", {
    instance,
    memberClass,
    memberCode,
    subsystemCode,
    serviceCode: code,
    baseUrl: provider.url,
    openapi: PERSONS_DOCUMENT,
  });
  assert.equal(added.status, 201, JSON.stringify(await added.clone().json()));
  const granted = await post("/v1/catalogue/access-grants", { client: CLIENT, service: SERVICE, purposes: ["identity-verification"] });
  assert.equal(granted.status, 200, JSON.stringify(await granted.clone().json()));
});

after(async () => {
  await broker?.stop();
  await hub?.stop();
  await provider?.close();
});

describe("a call through the hub", () => {
  test("passes the checks, reaches the provider without the partner's token, and comes back with the request id", async () => {
    const res = await send(`/r1/${SERVICE}/persons/${ZHANG}?fields=name`, {
      headers: { "data-purpose": "identity-verification", "x-govstack-client": CLIENT },
    });
    const body = await json(res);
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(body, { idNumber: ZHANG, name: "Zhang Wei" });
    assert.ok(res.headers.get("x-request-id"));
    assert.ok(res.headers.get("request-hash"));
    const seen = provider.received.at(-1)!;
    assert.equal(seen.url, `/persons/${ZHANG}?fields=name`);
    assert.equal(seen.headers.authorization, undefined, "the partner's token stays at the hub");
    assert.equal(seen.headers["x-request-id"], res.headers.get("x-request-id"));
    assert.equal(seen.headers["x-govstack-client"], CLIENT);
    assert.match(String(seen.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  test("is audited with the person it concerns", async () => {
    const db = await suiteDb();
    const rows = await db.query<{ record: { operation: string; outcome: string; purpose: string; subjects: string[] } }>(
      "SELECT record FROM hub.audit_record WHERE record->>'operation' LIKE $1 ORDER BY seq DESC LIMIT 1",
      [`catalogue:${SERVICE}:GET%`],
    );
    assert.equal(rows[0]?.record.outcome, "OK");
    assert.equal(rows[0]?.record.purpose, "identity-verification");
    assert.equal(rows[0]?.record.subjects.length, 1);
  });

  test("works over NATS as catalogue.call, with the same checks", async () => {
    const headers = { authorization: `Bearer ${await suiteToken()}`, "data-purpose": "identity-verification" };
    const answer = await broker.call<{ status: number; body: unknown }, object>("catalogue.call", {
      service: SERVICE,
      method: "GET",
      path: `/persons/${ZHANG}`,
      headers,
    });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body, { idNumber: ZHANG, name: "Zhang Wei" });
    await assert.rejects(
      broker.call("catalogue.call", { service: SERVICE, method: "GET", path: `/persons/${ZHANG}`, headers: { ...headers, "data-purpose": "supervision" } }),
      {
        type: "HUB_ERR_FORBIDDEN",
      },
    );
  });
});

describe("the directory", () => {
  test("listMethods, allowedMethods and getOpenAPI name the service", async () => {
    const provider = SERVICE.split("/").slice(0, 4).join("/");
    const listed = await json(await send(`/r1/${provider}/listMethods`));
    const service = (listed.member as { serviceCode: string; endpointList: { member: unknown[] } }[]).find((m) => m.serviceCode === code);
    assert.ok(service, JSON.stringify(listed));
    assert.equal(service.endpointList.member.length, 4);
    const allowed = await json(await send(`/r1/${provider}/allowedMethods?serviceId=${code}`, { headers: { "x-govstack-client": CLIENT } }));
    assert.equal((allowed.member as unknown[]).length, 1);
    const doc = await json(await send(`/r1/${provider}/getOpenAPI?serviceCode=${code}`));
    assert.equal(doc.openapi, "3.0.3");
    const clients = await json(await send("/listClients"));
    assert.ok((clients.member as { id: { applicationCode: string } }[]).some((m) => m.id.applicationCode === "population-registry"));
  });
});
