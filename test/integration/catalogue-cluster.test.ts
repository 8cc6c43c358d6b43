/**
 * Two gateway processes of one cluster: a change made through one (a grant revoked, a service
 * disabled, a partner disabled over NATS) is refused by the other within a second, though it
 * had the old state cached. And the provider's address is checked on what its name resolves
 * to when the connection is made: a service registered through one gateway at
 * `http://localhost:<the other's port>` is refused by the other, which will not call itself.
 * The partner cache is also checked against a lookup in flight when the change is announced.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceBroker } from "moleculer";
import { partnerAccess } from "../../partners/access";
import { disablePartner } from "../../partners/registry";
import { loadConfig } from "../../platform/config";
import type { Db } from "../../platform/db";
import { suiteDb } from "../support/partner";
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
  await knowEachOther([a, b]);
});

/**
 * Until each node has discovered the others (Moleculer's discovery can take a second or more
 * after /readyz): an announcement reaches only the nodes its sender knows of.
 */
async function knowEachOther(nodes: TestNode[]): Promise<void> {
  const ids = nodes.map((n) => `api-${new URL(n.url).port}`);
  for (const started = Date.now(); Date.now() - started < 10_000; await new Promise((r) => setTimeout(r, 100))) {
    const views = await Promise.all(ids.map((id) => broker.call<{ id: string; available: boolean }[], object>("$node.list", {}, { nodeID: id })));
    if (views.every((known) => ids.every((id) => known.some((n) => n.id === id && n.available)))) return;
  }
  throw new Error(`the nodes ${ids.join(", ")} did not discover each other within 10 s`);
}

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

describe("the partner cache, with a lookup in flight when a change is announced", () => {
  test("the lookup's answer, read before the change, is not kept after it: the next call reads the change", async () => {
    const db = await suiteDb();
    const partner = await ownPartner("cl-race");
    // The partner's row is read at once; its answer is handed back only when `release` is called.
    let release = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const slow: Db = {
      ...db,
      query: async <R>(sql: string, params?: unknown[]) => {
        const rows = await db.query<R>(sql, params);
        if (/FROM hub\.partner WHERE id = \$1$/.test(sql.trim())) await held;
        return rows;
      },
    };
    const access = partnerAccess(slow, loadConfig({ ...process.env, ...env }));
    const inFlight = access.identify(`Bearer ${partner.token}`);
    await new Promise((r) => setTimeout(r, 200));
    await disablePartner(db, partner.id);
    access.forget(); // what access.changed does on every node
    release();
    await inFlight; // read before the change: it may pass
    await assert.rejects(access.identify(`Bearer ${partner.token}`), { type: "HUB_ERR_UNAUTHENTICATED" });
  });
});
