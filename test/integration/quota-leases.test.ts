/**
 * Quota leases across two gateway processes on one PostgreSQL: one partner with a quota of 200
 * in a day's window (leases of 10) calls a catalogue service through both at once. Never more
 * than the quota is admitted in all, both gateways admit, at most (gateways − 1) × L = 10 fewer;
 * the RateLimit headers say what each gateway knows is left; a quota raised and announced
 * (`access.changed`) applies on both; the gateways give back what they did not spend when they
 * stop, so the stored count is what was admitted.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceBroker } from "moleculer";
import { leaseSize } from "../../partners/quota-leases";
import { ACCESS_CHANGED } from "../../platform/access-changes";
import { suiteDb } from "../support/partner";
import { callerBroker, clusterEnv, startNode, type TestNode } from "../support/hub";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, ownPartner, registered, type OwnPartner } from "../support/catalogue";

const env = clusterEnv();
const QUOTA = 200;
const DAY = 86_400;
let gateways: TestNode[] = [];
let provider: Provider;
let broker: ServiceBroker;
let partner: OwnPartner;
let service: string;
let stopped = false;

before(async () => {
  provider = await startProvider();
  gateways = await Promise.all([startNode("api", env), startNode("api", env)]);
  broker = await callerBroker(env.HUB_NAMESPACE!, ["catalogue"]);
  // Not within a minute of the window's end: the test counts one window.
  const toEnd = DAY - ((Date.now() / 1000) % DAY);
  if (toEnd < 60) await new Promise((resolve) => setTimeout(resolve, toEnd * 1000 + 1000));
  [service, partner] = await Promise.all([
    registered(gateways[0]!.url, { code: freshCode("quota"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT }),
    ownPartner("quota-lease", { quota: QUOTA, quotaWindowS: DAY }),
  ]);
  await granted(gateways[0]!.url, partner.subsystem, service, ["all"], ["GET /status"]);
});

after(async () => {
  await broker?.stop();
  if (!stopped) await Promise.all(gateways.map((g) => g.stop()));
  await provider?.close();
  await closeSuiteDb();
});

interface Answer {
  status: number;
  via: number;
  remaining: number;
}

/** One call through gateway `via`, its body read. */
async function call(via: number): Promise<Answer> {
  const res = await fetch(`${gateways[via]!.url}/r1/${service}/status`, { headers: { authorization: `Bearer ${partner.token}` } });
  await res.arrayBuffer();
  const remaining = /;r=(\d+);/.exec(res.headers.get("ratelimit") ?? "")?.[1];
  assert.ok(remaining !== undefined, `status ${res.status} without a RateLimit header`);
  if (res.status === 429) assert.ok(Number(res.headers.get("retry-after")) > 0);
  return { status: res.status, via, remaining: Number(remaining) };
}

/** `count` calls, `concurrency` at a time, every other one through each gateway. */
async function load(count: number, concurrency: number): Promise<Answer[]> {
  const answers: Answer[] = [];
  let next = 0;
  const worker = async () => {
    for (let n = next++; n < count; n = next++) answers.push(await call(n % 2));
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return answers;
}

function tally(answers: Answer[]) {
  const admitted = answers.filter((a) => a.status === 200);
  const refused = answers.filter((a) => a.status === 429);
  assert.equal(admitted.length + refused.length, answers.length, `only 200 and 429: ${answers.map((a) => a.status).join(",")}`);
  return { admitted, refused };
}

/** Until both gateways know each other and the test's broker: an announcement reaches only the nodes its sender knows. */
async function allKnown(): Promise<void> {
  const ids = gateways.map((g) => `api-${new URL(g.url).port}`);
  for (const started = Date.now(); Date.now() - started < 10_000; await new Promise((r) => setTimeout(r, 100))) {
    const known = await broker.call<{ id: string; available: boolean }[], object>("$node.list", {});
    if (ids.every((id) => known.some((n) => n.id === id && n.available))) return;
  }
  throw new Error(`the test's broker did not discover ${ids.join(", ")} within 10 s`);
}

test("two gateways, one partner's quota: at most the quota in all, both admit, at most (gateways − 1) × L fewer", async () => {
  const L = leaseSize(QUOTA);
  // Sequentially first: each gateway knows what nobody has leased plus its own unspent tokens.
  assert.deepEqual(
    [await call(0), await call(1), await call(0)].map((a) => [a.status, a.remaining]),
    [
      [200, QUOTA - L + (L - 1)], // a leased 10, spent 1
      [200, QUOTA - 2 * L + (L - 1)], // b leased 10, spent 1
      [200, QUOTA - L + (L - 2)], // a spent another from memory: it has not seen b's lease
    ],
  );
  const { admitted, refused } = tally(await load(3 * QUOTA, 32));
  const total = admitted.length + 3;
  assert.ok(total <= QUOTA, `${total} admitted, quota ${QUOTA}`);
  assert.ok(total >= QUOTA - (gateways.length - 1) * L, `${total} admitted: more than (gateways − 1) × L = ${L} fewer than ${QUOTA}`);
  assert.ok(admitted.some((a) => a.via === 0) && admitted.some((a) => a.via === 1), "both gateways admitted some");
  assert.ok(refused.length > 0 && refused.every((a) => a.remaining === 0));
  for (const a of admitted) assert.ok(a.remaining >= 0 && a.remaining < QUOTA);

  // The quota raised and announced: both gateways drop the partner and their leases, and admit up to the new one.
  const db = await suiteDb();
  const RAISED = 300;
  await db.query("UPDATE hub.partner SET quota = $2 WHERE id = $1", [partner.id, RAISED]);
  await allKnown();
  await broker.broadcast(ACCESS_CHANGED);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const more = tally(await load(2 * (RAISED - QUOTA), 32)).admitted;
  const raisedTotal = total + more.length;
  assert.ok(more.length > 0, "the raised quota admits again");
  assert.ok(raisedTotal <= RAISED, `${raisedTotal} admitted, quota ${RAISED}`);
  assert.ok(raisedTotal >= RAISED - leaseSize(RAISED), `${raisedTotal} admitted, quota ${RAISED}`);

  // Stopped, the gateways give back what they leased and did not spend: the stored count is what was admitted.
  stopped = true;
  await Promise.all(gateways.map((g) => g.stop()));
  const rows = await db.query<{ used: number }>("SELECT used FROM hub.quota_window WHERE partner_id = $1", [partner.id]);
  assert.deepEqual(
    rows.map((r) => r.used),
    [raisedTotal],
  );
});
