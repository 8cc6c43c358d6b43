/**
 * The chaos workload and after-checks (ops/chaos) on the test stack, no fault injected: the
 * mix runs at its rate, every check passes; then outcomes invented with no effect behind them
 * fail the checks that must catch them, naming them.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { headers as natsHeaders } from "nats";
import { clusterEnv, json, post, startNode, seedCitizens, type TestNode } from "../support/hub";
import { suiteDb } from "../support/partner";
import { addPartner } from "../../partners/registry";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";
import { startWorkload } from "../../ops/chaos/workload";
import { checkOutcomes, type Check, type CheckOptions } from "../../ops/chaos/checks";
import type { Outcome } from "../../ops/chaos/client";
import { describeFigures } from "../../ops/chaos/figures";
import { connectBus } from "../../platform/events/bus";
import { DEAD_LETTER_STREAM } from "../../platform/events/streams";

const nodes: TestNode[] = [];
let api: string;
const env = { ...clusterEnv(), HUB_AUDIT_CHECKPOINT_MS: "500" };

/** A partner of the run's own with every scope, as `partners add` makes one, its quota above the workload's rate (the test partner's 600 a minute is exactly 10/s). */
const partner = { clientId: `chaos-${randomUUID().slice(0, 8)}`, clientSecret: randomUUID() };

before(async () => {
  await addPartner(
    await suiteDb(),
    { id: partner.clientId, scopes: [...SCOPES], purposes: [...PURPOSES], quota: 100_000, quotaWindowS: 60 },
    partner.clientSecret,
  );
  nodes.push(await startNode("civil-registry,emergency,utilities", env), await startNode("linkages,worker", env), await startNode("api", env));
  api = nodes[2]!.url;
});
after(async () => {
  for (const n of nodes.reverse()) await n.stop();
});

const checkOptions = (outcomes: Outcome[], settleMs: number): CheckOptions => ({
  ...partner,
  baseUrl: api,
  outcomes,
  databaseUrl: process.env.DATABASE_URL!,
  env: { ...process.env, ...env },
  settleMs,
});
const byName = (checks: Check[], start: string) => checks.find((c) => c.name.startsWith(start))!;

test("the workload's mix at 10/s for 15 s on the test stack: answered 2xx, and every after-check passes", { timeout: 75_000 }, async (t) => {
  const workload = await startWorkload({
    ...partner,
    baseUrl: api,
    civilRegistryUrl: process.env.CIVIL_REGISTRY_URL!,
    utilitiesUrl: process.env.UTILITIES_URL!,
  });
  await new Promise((r) => setTimeout(r, 15_000));
  const outcomes = await workload.stop();
  t.diagnostic(describeFigures(outcomes));
  const failed = outcomes.filter((o) => o.status < 200 || o.status >= 300);
  assert.deepEqual(failed, [], "no fault, no failure");
  for (const kind of ["verification", "eid-issuance", "incident"]) assert.ok(outcomes.filter((o) => o.kind === kind).length >= 20, `${kind}: sent at its rate`);
  assert.ok(outcomes.length >= 130, `${outcomes.length} requests in 15 s`);
  assert.ok(
    outcomes.every((o) => o.requestId),
    "each answer's request id",
  );

  const checks = await checkOutcomes(checkOptions(outcomes, 30_000));
  for (const c of checks) t.diagnostic(`${c.ok ? "ok" : "FAILED"} ${c.name}: ${c.detail}`);
  assert.deepEqual(
    checks.filter((c) => !c.ok),
    [],
  );
  assert.equal(checks.length, 8);
});

/** A citizen holding two e-IDs: issued at the registry behind the hub's back, the first revoked. */
async function twiceIssued(): Promise<string> {
  const [citizen] = await seedCitizens(1);
  const registry = process.env.CIVIL_REGISTRY_URL!;
  const issue = () => post(`${registry}/registry/v2/eids`, { citizenNo: citizen!.citizenNo }, { "idempotency-key": randomUUID() });
  const first = await issue();
  assert.equal(first.status, 201, await first.clone().text());
  const revoked = await post(`${registry}/registry/v2/eids/${String((await json(first)).eidNo)}/revocation`, {}, { "idempotency-key": randomUUID() });
  assert.equal(revoked.status, 200, await revoked.clone().text());
  assert.equal((await issue()).status, 201);
  return citizen!.citizenNo;
}

test("outcomes answered 2xx with no effect behind them fail the checks, which name them; a dead letter without a reason is caught", async (t) => {
  const [citizen] = await seedCitizens(1);
  const at = Date.now();
  const invented = (o: Pick<Outcome, "kind" | "key" | "status"> & Partial<Outcome>): Outcome => ({ start: at, end: at, requestId: randomUUID(), ...o });
  const outcomes = [
    invented({ kind: "verification", key: "INVENTED-VERIFICATION", status: 200 }),
    invented({ kind: "eid-issuance", key: "EID-INVENTED-1", subject: citizen!.citizenNo, ref: randomUUID(), status: 202 }),
    invented({ kind: "incident", key: "dispatch@fire.shanghai.example,FD-INVENTED-1", ref: randomUUID(), status: 201 }),
    invented({ kind: "eid-issuance", key: "EID-TWICE-1", subject: await twiceIssued(), ref: randomUUID(), status: 202 }),
    // Answers the client never had count for nothing.
    invented({ kind: "eid-issuance", key: "EID-REFUSED-1", subject: citizen!.citizenNo, status: 503 }),
  ];
  const bus = await connectBus(process.env.NATS_URL!, "chaos-checks-test");
  const dead = await bus.js.publish(`dead.chaos-checks-test.events.invented`, "{}", { headers: natsHeaders() });
  t.after(async () => {
    await bus.jsm.streams.deleteMessage(DEAD_LETTER_STREAM, dead.seq);
    await bus.close();
  });

  const checks = await checkOutcomes(checkOptions(outcomes, 1500));
  for (const c of checks) t.diagnostic(`${c.ok ? "ok" : "FAILED"} ${c.name}: ${c.detail}`);
  const failing = (start: string, names: RegExp) => {
    const c = byName(checks, start);
    assert.equal(c.ok, false, c.name);
    assert.match(c.detail, names);
  };
  failing("every verification", /^1 of 1: INVENTED-VERIFICATION \(request /);
  failing("every accepted e-ID linkage", /^2 of 2: EID-INVENTED-1 \(HTTP 404\); EID-TWICE-1 \(HTTP 404\)$/);
  failing("one e-ID issued", /^2 of 2: EID-INVENTED-1 \(0 e-IDs\); EID-TWICE-1 \(2 e-IDs\)$/);
  failing("every accepted incident started", /FD-INVENTED-1 \(0 linkages\)/);
  failing("one suspension", /FD-INVENTED-1 \(no suspension\)/);
  failing("every accepted incident's event", /FD-INVENTED-1 \(not handled by linkages\)/);
  failing("every dead letter", new RegExp(`seq ${dead.seq} \\(no group`));
  assert.equal(byName(checks, "audit verify").ok, true, byName(checks, "audit verify").detail);
});
