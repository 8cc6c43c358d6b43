/**
 * The catalogue's figures on the real stack: mediated calls to a provider of the test's own
 * (answered, 4xx, 5xx, no answer in time), a call of a built-in agency's operation and an
 * e-ID issuance linkage are counted in the node's memory and on /metrics, written to the
 * daily rollups only by a flush (here: the node's last, at stop), and read back by
 * figuresOf; a service never called has no completion rate; rows older than 400 days go.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { builtinServiceId } from "../../catalogue/builtin-ids";
import { figuresOf, windowStart } from "../../catalogue/figures";
import { linkageKey, utcDay } from "../../catalogue/service-days";
import { clusterEnv, seedCitizens, startNode, type TestNode } from "../support/hub";
import { suiteDb } from "../support/partner";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, registered, SUITE_CLIENT } from "../support/catalogue";

const env = { ...clusterEnv(), HUB_FIGURES_FLUSH_MS: "600000", HUB_SERVICE_PROBE_MS: "300" };
const VERIFY = "LOCAL/GOV/civil-registry/hub/identity.verify";
const EID = linkageKey("eid-issuance");
let hub: TestNode;
let provider: Provider;
let SERVICE: string;
let IDLE: string;
/** Keys of rows the test writes itself: one 401 days old, one 399. */
const OLD = `test-old/${randomBytes(4).toString("hex")}`;
let before_: Map<string, { last7Days: { completion: { completed: number; total: number } } }>;

const daysAgo = (n: number) => windowStart(utcDay(new Date()), n + 1);
const rowsOf = async (key: string) =>
  (await suiteDb()).query<{ day: string; calls: string; completed: string; probes: string; probes_ok: string }>(
    "SELECT to_char(day, 'YYYY-MM-DD') AS day, calls, completed, probes, probes_ok FROM hub.service_day WHERE key = $1 ORDER BY day",
    [key],
  );

before(async () => {
  assert.equal(builtinServiceId("LOCAL", "civil-registry.identity.verify"), VERIFY);
  const db = await suiteDb();
  await db.query("INSERT INTO hub.service_day (key, day, calls, completed) VALUES ($1, $2, 1, 1), ($1, $3, 2, 2)", [OLD, daysAgo(401), daysAgo(399)]);
  before_ = await figuresOf(db, [VERIFY, EID]);
  [provider, hub] = await Promise.all([startProvider(), startNode("all", env)]);
  SERVICE = await registered(hub.url, { code: freshCode("figures"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT, timeoutMs: 500 });
  IDLE = await registered(hub.url, { code: freshCode("idle"), baseUrl: provider.url, openapi: PERSONS_DOCUMENT });
  await granted(hub.url, SUITE_CLIENT, SERVICE, ["identity-verification", "all"]);
});

after(async () => {
  await hub?.stop();
  await provider?.close();
  await closeSuiteDb();
});

const call = (path: string) => fetch(`${hub.url}/r1/${SERVICE}${path}`, { headers: { "data-purpose": "identity-verification" } });

async function linkageEnded(id: string): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const { status } = (await (await fetch(`${hub.url}/v1/linkages/${id}`)).json()) as { status: string };
    if (!["PENDING", "RUNNING", "IN_PROGRESS"].includes(status)) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`linkage ${id} did not end`);
}

function metric(text: string, service: string, outcome: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`hub_service_calls_total{service="${service}",outcome="${outcome}"}`));
  return line ? Number(line.split(" ").at(-1)) : NaN;
}

test("calls and a linkage's end are counted in memory and on /metrics; nothing is written before a flush", async () => {
  const statuses = [];
  for (const path of ["/status", "/status", "/persons/110101199003070000", "/misbehave/fail", "/misbehave/hang"]) statuses.push((await call(path)).status);
  assert.deepEqual(statuses, [200, 200, 404, 503, 504]);
  const [citizen] = await seedCitizens(1);
  const verified = await fetch(`${hub.url}/v1/identity-verifications`, {
    method: "POST",
    headers: { "data-purpose": "identity-verification", "content-type": "application/json" },
    body: JSON.stringify({ idNumber: citizen!.citizenNo, name: citizen!.fullName }),
  });
  assert.equal(verified.status, 200);
  const started = await fetch(`${hub.url}/v1/linkages/eid-issuances`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ applicationNo: `FIG-${Date.now()}`, idNumber: citizen!.citizenNo, name: citizen!.fullName }),
  });
  const linkage = await started.text();
  assert.equal(started.status, 202, linkage);
  assert.equal(await linkageEnded((JSON.parse(linkage) as { id: string }).id), "COMPLETED");

  const metrics = await (await fetch(`${hub.url}/metrics`)).text();
  assert.equal(metric(metrics, SERVICE, "completed"), 3, "200, 200 and a 404 completed");
  assert.equal(metric(metrics, SERVICE, "failed"), 2, "a 503 and a timeout failed");
  assert.equal(metric(metrics, VERIFY, "completed"), 2, "the built-in operation, called over REST and by the linkage");
  assert.equal(metric(metrics, IDLE, "completed"), 0, "a registered service's series exist at zero");
  assert.deepEqual(await rowsOf(SERVICE), [], "no row before the flush: counts are batched");
  await new Promise((r) => setTimeout(r, 1000)); // a few probe rounds
});

test("the node's last flush writes the day's rollups, and figuresOf reads them for 7 and 30 days", async () => {
  await hub.stop();
  const db = await suiteDb();
  const [row] = await rowsOf(SERVICE);
  assert.equal(row?.day, utcDay(new Date()));
  assert.deepEqual([Number(row!.calls), Number(row!.completed)], [5, 3]);
  assert.ok(Number(row!.probes) >= 2 && row!.probes_ok === row!.probes, `probes ${row!.probes}, up ${row!.probes_ok}`);

  const never = `never/${randomBytes(4).toString("hex")}`;
  const figures = await figuresOf(db, [SERVICE, IDLE, VERIFY, EID, never]);
  for (const window of ["last7Days", "last30Days"] as const) {
    const s = figures.get(SERVICE)![window];
    assert.deepEqual(s.completion, { rate: 3 / 5, completed: 3, total: 5 });
    assert.equal(s.availability.rate, 1);
    // The 504 waited 500 ms, so the p95 of five calls lies in the buckets above it.
    assert.ok(s.latencyP95Ms! >= 250, String(s.latencyP95Ms));
  }
  const idle = figures.get(IDLE)!.last30Days;
  assert.deepEqual(idle.completion, { rate: null, completed: 0, total: 0 }, "no calls: no data, not 0 % or 100 %");
  assert.equal(idle.latencyP95Ms, null);
  assert.ok(idle.availability.probes > 0 && idle.availability.rate === 1, "yet it was probed, and answered");
  assert.deepEqual(figures.get(never)!.last7Days.availability, { rate: null, ok: 0, probes: 0 });

  const grew = (key: string) => {
    const was = before_.get(key)!.last7Days.completion;
    const now = figures.get(key)!.last7Days.completion;
    return [now.completed - was.completed, now.total - was.total];
  };
  assert.deepEqual(grew(VERIFY), [2, 2], "the REST call and the linkage's verify step: every caller counts");
  assert.deepEqual(grew(EID), [1, 1], "the linkage that ended COMPLETED");
  assert.ok(figures.get(VERIFY)!.last7Days.availability.probes > 0, "the agency's health probes count for its operations");

  // A figure asked for another day sees that day's windows.
  const later = await figuresOf(db, [SERVICE], new Date(Date.now() + 10 * 86400_000));
  assert.equal(later.get(SERVICE)!.last7Days.completion.total, 0);
  assert.equal(later.get(SERVICE)!.last30Days.completion.total, 5);
});

test("rows older than 400 days are deleted, younger ones kept", async () => {
  assert.deepEqual(
    (await rowsOf(OLD)).map((r) => r.day),
    [daysAgo(399)],
  );
});
