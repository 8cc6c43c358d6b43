/**
 * Exactly once under failure: with the utility failing 30% of calls, half of them after
 * committing the change (the answer lost on the way back), 1,000 gas suspensions at 1,000
 * addresses, retried by their callers, give exactly 1,000 suspension orders, one per
 * address, each the one its caller was told, and one event each.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { ServiceBroker } from "moleculer";
import { DeliverPolicy } from "nats";
import { connectBus } from "../../platform/events/bus";
import type { CloudEvent } from "../../platform/events/envelope";
import { openDb, type Db } from "../../platform/db";
import { startSandbox } from "../../adapters/utilities/sandbox/server";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { formatAddrLine } from "../../adapters/utilities/agency-format";
import type { components } from "../../contracts/generated/types";
import { clusterEnv, startNode, type TestNode, callerBroker } from "../support/hub";
import { createScratchDatabase } from "../support/scratch-db";

type Address = components["schemas"]["Address"];
const N = 1000;
const SEED_COUNT = 3000;
const env = clusterEnv();
let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
let db: Db;
let sandbox: Awaited<ReturnType<typeof startSandbox>>;
let node: TestNode;
let broker: ServiceBroker;

before(async () => {
  scratch = await createScratchDatabase();
  db = await openDb({ url: scratch.url, pgliteDir: "" });
  sandbox = await startSandbox({ port: 0, db, seedCount: SEED_COUNT });
  node = await startNode("utilities", { ...env, UTILITIES_URL: sandbox.url, UTILITIES_TIMEOUT_MS: "2000" });
  broker = await callerBroker(env.HUB_NAMESPACE!, ["utilities"], "utilities-faults-test");
});
after(async () => {
  await broker?.stop();
  await node?.stop();
  await sandbox?.close();
  await db?.close();
  await scratch?.drop();
});

/** The caller's side: retry with backoff until the suspension is confirmed (as a workflow activity would). */
async function suspendUntilConfirmed(address: Address, idempotencyKey: string): Promise<{ orderNo: string; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await broker.call<{ orderNo: string }, object>("utilities.service.suspend", {
        address,
        service: "gas",
        reason: "Gas leak",
        idempotencyKey,
      });
      return { orderNo: result.orderNo, attempts: attempt };
    } catch (err) {
      const code = (err as { code?: number }).code ?? 500;
      if (code < 500 || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
    }
  }
}

test(`${N} gas suspensions under 30% failures (half after commit) give exactly ${N} suspensions`, async () => {
  // N distinct addresses of the seed (a few citizens share one).
  const byLine = new Map<string, Address>();
  for (const c of syntheticCitizens(SEED, SEED_COUNT, { asOf: SEED_AS_OF })) byLine.set(`${c.address.postcode}|${formatAddrLine(c.address)}`, c.address);
  const addresses = [...byLine.values()].slice(0, N);
  assert.equal(addresses.length, N);
  const keyOf = (i: number) => `faults-test:${process.pid}:${i}`;
  await fetch(`${sandbox.url}/_sandbox/faults`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ errorRate: 0.15, lostResponseRate: 0.15 }),
  });

  const t0 = Date.now();
  const since = new Date(t0 - 1000).toISOString();
  const results: { orderNo: string; attempts: number }[] = [];
  for (let i = 0; i < N; i += 50) results.push(...(await Promise.all(addresses.slice(i, i + 50).map((a, j) => suspendUntilConfirmed(a, keyOf(i + j))))));
  const seconds = (Date.now() - t0) / 1000;
  await fetch(`${sandbox.url}/_sandbox/faults`, { method: "DELETE" });

  const orders = await db.query<{ order_ref: string; idem_key: string; premise_id: string; changed: number }>(
    `SELECT order_ref, idem_key, premise_id, (SELECT count(*)::int FROM jsonb_array_elements(acct_results) r WHERE r->>'chg_flag' = 'Y') AS changed
     FROM sandbox_utilities.service_order WHERE order_type = 'SUSPEND' AND idem_key LIKE $1`,
    [`faults-test:${process.pid}:%`],
  );
  assert.equal(orders.length, N, "exactly one suspension per request");
  assert.equal(new Set(orders.map((o) => o.premise_id)).size, N, "no address suspended twice");
  assert.ok(
    orders.every((o) => o.changed >= 1),
    "each order suspended the gas there (none found it already done)",
  );
  const byKey = new Map(orders.map((o) => [o.idem_key, o.order_ref]));
  results.forEach((r, i) => assert.equal(r.orderNo, byKey.get(keyOf(i)), "the caller was told the order the utility holds"));
  const [active] = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM sandbox_utilities.account a WHERE a.svc_code = 'G' AND a.acct_status = 'ACT' AND a.premise_id = ANY($1::bigint[])`,
    [orders.map((o) => o.premise_id)],
  );
  assert.equal(active!.n, 0, "gas is off at every one of those addresses");

  // One event per suspension on JetStream: replayed answers re-send the same event id, which JetStream drops.
  const bus = await connectBus(process.env.NATS_URL!, "utilities-faults-test");
  const mine = new Set(orders.map((o) => o.order_ref));
  const seen: string[] = [];
  try {
    const consumer = await bus.js.consumers.get("EVENTS", {
      filterSubjects: ["events.utilities.service.suspended"],
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: since,
    });
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && seen.length < N) {
      for await (const m of await consumer.fetch({ max_messages: 500, expires: 1000 })) {
        const event = m.json<CloudEvent>();
        if (mine.has(event.subject!)) seen.push(event.subject!);
      }
    }
  } finally {
    await bus.close();
  }
  assert.equal(seen.length, N, "one utilities.service.suspended event per suspension");
  assert.equal(new Set(seen).size, N, "no event twice");

  const retried = results.filter((r) => r.attempts > 1).length;
  const metrics = await (await fetch(`${node.url}/metrics`)).text();
  const adapterRetries = /^hub_agency_retries_total\{agency="utilities"\} (\d+)/m.exec(metrics)?.[1];
  // A retry after a lost answer reaches the utility a second time: it replays, and the hub counts it.
  const replays = Number(/^hub_agency_idempotent_replays_total\{agency="utilities",action="utilities.service.suspend"\} (\d+)/m.exec(metrics)?.[1]);
  assert.ok(replays > 0, `replays counted: ${replays}`);
  console.log(
    `# ${N} suspensions in ${seconds.toFixed(1)} s (${(N / seconds || 0).toFixed(0)}/s); adapter retries ${adapterRetries}, replays ${replays}; ${retried} needed the caller to retry as well`,
  );
});
