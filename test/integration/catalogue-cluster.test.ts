/**
 * Two gateway processes of one cluster: a change made through one (a grant revoked, a service
 * disabled, a partner disabled over NATS) is refused by the other within a second, though it
 * had the old state cached. And the provider's address is checked on what its name resolves
 * to when the connection is made: a service registered through one gateway at
 * `http://localhost:<the other's port>` is refused by the other, which will not call itself.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceBroker } from "moleculer";
import { callerBroker, clusterEnv, startNode, type TestNode } from "../support/hub";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, ownPartner, problemOf, registered, type OwnPartner } from "../support/catalogue";

const env = clusterEnv();
let a: TestNode;
let b: TestNode;
let provider: Provider;
let broker: ServiceBroker;

/** A service of its own with a partner of its own granted GET /status, warm in `b`'s caches. */
async function warmService(prefix: string): Promise<{ service: string; partner: OwnPartner }> {
  const [service, partner] = await Promise.all([
    registered(a.url, { code: freshCode(prefix), baseUrl: provider.url, openapi: PERSONS_DOCUMENT }),
    ownPartner(`cl-${prefix}`),
  ]);
  await granted(a.url, partner.subsystem, service, ["all"], ["GET /status"]);
  assert.equal((await statusThrough(b, service, partner)).status, 200);
  return { service, partner };
}

const statusThrough = (node: TestNode, service: string, partner: OwnPartner) =>
  fetch(`${node.url}/r1/${service}/status`, { headers: { authorization: `Bearer ${partner.token}` } });

/** Milliseconds from `changedAt` until `b` refuses with `status`: calls through `b` in a loop, for 3 s at most. */
async function refusedAfter(changedAt: number, service: string, partner: OwnPartner, status: number): Promise<number> {
  for (;;) {
    const res = await statusThrough(b, service, partner);
    if (res.status !== 200) {
      await problemOf(res, status);
      return performance.now() - changedAt;
    }
    await res.arrayBuffer();
    if (performance.now() - changedAt > 3000) return Infinity;
  }
}

before(async () => {
  [provider, a, b] = await Promise.all([startProvider(), startNode("api", env), startNode("api", env)]);
  broker = await callerBroker(env.HUB_NAMESPACE!, ["partners", "catalogue"]);
});

after(async () => {
  await broker?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
  await provider?.close();
  await closeSuiteDb();
});

describe("a change through one gateway, refused by the other within 1 s", () => {
  test("a grant revoked (REST, access-revocations)", async () => {
    const { service, partner } = await warmService("revoke");
    const res = await fetch(`${a.url}/v1/catalogue/access-revocations`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client: partner.subsystem, service }),
    });
    const revokedAt = performance.now();
    assert.deepEqual(await res.json(), { grants: [] });
    const took = await refusedAfter(revokedAt, service, partner, 403);
    assert.ok(took < 1000, `refused ${Math.round(took)} ms after the revocation's answer`);
  });

  test("a service disabled (REST)", async () => {
    const { service, partner } = await warmService("disable");
    const res = await fetch(`${a.url}/v1/catalogue/services/${service}/disable`, { method: "POST" });
    const disabledAt = performance.now();
    assert.equal(res.status, 200);
    const took = await refusedAfter(disabledAt, service, partner, 403);
    assert.ok(took < 1000, `refused ${Math.round(took)} ms after the service was disabled`);
  });

  test("a partner disabled (partners.disable over NATS)", async () => {
    const { service, partner } = await warmService("partner");
    await broker.call("partners.disable", { id: partner.id });
    const disabledAt = performance.now();
    const took = await refusedAfter(disabledAt, service, partner, 401);
    assert.ok(took < 1000, `refused ${Math.round(took)} ms after the partner was disabled`);
  });
});

describe("the provider's address, checked on what its name resolves to", () => {
  test("a base URL naming localhost at the other gateway's port: taken by one, refused at call time by the other", async () => {
    const port = new URL(b.url).port;
    const service = await registered(a.url, { code: freshCode("itself"), baseUrl: `http://localhost:${port}`, openapi: PERSONS_DOCUMENT });
    const partner = await ownPartner("cl-itself");
    await granted(a.url, partner.subsystem, service, ["all"], ["GET /status"]);
    const problem = await problemOf(await statusThrough(b, service, partner), 502);
    assert.equal(problem.code, "HUB_ERR_PROVIDER_ADDRESS");
    assert.match(problem.detail, new RegExp(`localhost resolves to .*:${port} is the hub itself`));
  });
});
