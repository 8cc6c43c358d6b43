/**
 * The GovStack directory (Information Mediator Directory Services API 1.0): its answers
 * checked against GovStack's own schemas, from GovStackWorkingGroup/bb-information-mediator
 * (test/fixtures/openapi/govstack-im-directory-3.0.yaml), with every property made required
 * here since GovStack's schemas require none; allowedMethods answering only what the caller
 * was granted; the client headers checked.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import Ajv from "ajv";
import YAML from "yaml";
import { clusterEnv, json, startNode, type TestNode } from "../support/hub";
import { rawFetch } from "../support/partner";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, ownPartner, problemOf, registered, SUITE_CLIENT, type OwnPartner } from "../support/catalogue";

const env = clusterEnv();
/** A provider subsystem of this run's own, so its listings hold this run's services only. */
const PROVIDER = `LOCAL/GOV/${randomBytes(4).toString("hex")}/directory-registry`;
const [persons, status] = [freshCode("persons"), freshCode("status")];
let hub: TestNode;
let provider: Provider;
let narrow: OwnPartner;

type Endpoint = { method: string; path: string };
type ServiceDetails = { serviceCode: string; endpointList: { member: Endpoint[] } };

/** GovStack's schema, every property required, its `#/components/schemas/` references kept. */
function govstackValidator(name: string) {
  const text = fs.readFileSync(path.join(__dirname, "../fixtures/openapi/govstack-im-directory-3.0.yaml"), "utf8");
  const schemas = (YAML.parse(text) as { components: { schemas: Record<string, unknown> } }).components.schemas;
  const everyPropertyRequired = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(everyPropertyRequired);
    if (typeof node !== "object" || node === null) return node;
    const out = Object.fromEntries(
      Object.entries(node).map(([k, v]) => [k, k === "$ref" ? String(v).replace("#/components/schemas/", "#/$defs/") : everyPropertyRequired(v)]),
    );
    if ("properties" in out) out.required = Object.keys(out.properties as object);
    return out;
  };
  const validate = new Ajv({ allErrors: true }).compile({ $defs: everyPropertyRequired(schemas), $ref: `#/$defs/${name}` });
  return (answer: unknown) => {
    assert.ok(validate(answer), `${name}: ${JSON.stringify(validate.errors)}`);
  };
}
const clientList = govstackValidator("restClientDetailsListType");
const serviceList = govstackValidator("restServiceDetailsListType");

/** Each directory method with the query it takes. */
const QUERY: Record<string, string> = { listMethods: "", allowedMethods: "", getOpenAPI: `?serviceCode=${persons}` };
const directory = (method: string, headers: Record<string, string> = {}, query = "") => fetch(`${hub.url}/r1/${PROVIDER}/${method}${query}`, { headers });
const endpointsOf = (answer: Record<string, unknown>) =>
  Object.fromEntries((answer.member as ServiceDetails[]).map((s) => [s.serviceCode, s.endpointList.member.map((e) => `${e.method} ${e.path}`).sort()]));

before(async () => {
  [provider, hub, narrow] = await Promise.all([startProvider(), startNode("api", env), ownPartner("dir-narrow")]);
  for (const code of [persons, status]) {
    const id = await registered(hub.url, { code, subsystem: PROVIDER, baseUrl: provider.url, openapi: PERSONS_DOCUMENT });
    await granted(hub.url, SUITE_CLIENT, id, ["all"]);
  }
  await granted(hub.url, narrow.subsystem, `${PROVIDER}/${status}`, ["all"], ["GET /status"]);
});

after(async () => {
  await hub?.stop();
  await provider?.close();
  await closeSuiteDb();
});

describe("the directory's answers, against GovStack's schemas with every field present", () => {
  test("listClients: the providers and the partners, as restClientDetailsListType", async () => {
    const answer = await json(await fetch(`${hub.url}/listClients`));
    clientList(answer);
    const ids = (answer.member as { id: { memberCode: string; applicationCode: string } }[]).map((m) => `${m.id.memberCode}/${m.id.applicationCode}`);
    assert.ok(ids.includes(PROVIDER.split("/").slice(2).join("/")), "the provider");
    assert.ok(ids.includes(`${narrow.id}/default`), "a partner");
  });

  test("listMethods: every enabled service of the provider with every endpoint, as restServiceDetailsListType", async () => {
    const answer = await json(await directory("listMethods"));
    serviceList(answer);
    const all = ["GET /misbehave/{how}", "GET /persons/{idNumber}", "GET /status", "POST /persons/{idNumber}/notes"];
    assert.deepEqual(endpointsOf(answer), { [persons]: all, [status]: all });
    const one = await json(await directory("listMethods", {}, `?serviceId=${status}`));
    serviceList(one);
    assert.deepEqual(Object.keys(endpointsOf(one)), [status]);
  });

  test("allowedMethods: only what the caller was granted; another partner sees less", async () => {
    const mine = await json(await directory("allowedMethods", { "x-govstack-client": SUITE_CLIENT }));
    serviceList(mine);
    assert.deepEqual(Object.keys(endpointsOf(mine)).sort(), [persons, status].sort());
    const theirs = await json(await directory("allowedMethods", { authorization: `Bearer ${narrow.token}`, "x-govstack-client": narrow.subsystem }));
    serviceList(theirs);
    assert.deepEqual(endpointsOf(theirs), { [status]: ["GET /status"] });
  });

  test("getOpenAPI: the service's document", async () => {
    const doc = await json(await directory("getOpenAPI", {}, `?serviceCode=${persons}`));
    assert.equal(doc.openapi, "3.0.3");
    assert.deepEqual(Object.keys(doc.paths as object).sort(), ["/misbehave/{how}", "/persons/{idNumber}", "/persons/{idNumber}/notes", "/status"]);
  });
});

describe("the directory's refusals", () => {
  test("X-GovStack-Client naming another partner's subsystem: 403", async () => {
    for (const method of ["listMethods", "allowedMethods", "getOpenAPI"]) {
      const problem = await problemOf(await directory(method, { "x-govstack-client": narrow.subsystem }, QUERY[method]), 403);
      assert.equal(problem.code, "HUB_ERR_FORBIDDEN", method);
    }
  });

  test("X-GovStack-Client and X-Road-Client (or Information-Mediator-Client) disagreeing: 400", async () => {
    for (const other of ["x-road-client", "information-mediator-client"]) {
      const res = await directory("allowedMethods", { "x-govstack-client": SUITE_CLIENT, [other]: narrow.subsystem });
      assert.equal((await problemOf(res, 400)).code, "HUB_ERR_REQUEST_INVALID", other);
    }
    assert.equal((await directory("allowedMethods", { "x-govstack-client": SUITE_CLIENT, "x-road-client": SUITE_CLIENT })).status, 200);
  });

  test("an unknown provider: 404", async () => {
    for (const method of ["listMethods", "allowedMethods", "getOpenAPI"]) {
      const res = await fetch(`${hub.url}/r1/LOCAL/GOV/${randomBytes(4).toString("hex")}/nobody/${method}${QUERY[method]}`);
      assert.equal((await problemOf(res, 404)).code, "HUB_ERR_SERVICE_NOT_FOUND", method);
    }
  });

  test("no token: 401", async () => {
    assert.equal((await problemOf(await rawFetch(`${hub.url}/r1/${PROVIDER}/listMethods`), 401)).code, "HUB_ERR_UNAUTHENTICATED");
  });
});
