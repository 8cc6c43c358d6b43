/**
 * Operations, proven by a real Prometheus (Debian's 2.42) scraping a hub split over three
 * processes, its Temporal worker and the Temporal server, with ops/prometheus's rules: after
 * traffic (successes, refusals, a linkage, an agency outage) every dashboard panel and every
 * rule has data, the agency-down alert fires during the outage and resolves after it, no
 * metric label grows with traffic, and one case's log lines share its ids across processes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { clusterEnv, freePort, json, post, seedCitizens, settle, startNode, type Citizen, type TestNode } from "../support/hub";
import { connect, headers as natsHeaders, type NatsConnection } from "nats";
import { rawFetch, suiteToken } from "../support/partner";
import { configFor, startPrometheus } from "../../ops/stack/prometheus";
import type { Managed } from "../../ops/stack/processes";
import { callerOptions } from "../../ops/stack/nats-auth";
import { loadConfig } from "../../platform/config";

const ROOT = path.resolve(__dirname, "../..");
const registry = process.env.CIVIL_REGISTRY_URL!;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ops-test-"));
let api: TestNode;
let adapters: TestNode;
let linkages: TestNode;
let prometheus: Managed;
let prom: string;
/** A plain NATS client: the NATS service's panels need its answers too. */
let nc: NatsConnection;

before(async () => {
  const workerMetricsPort = await freePort();
  const env = clusterEnv();
  adapters = await startNode("civil-registry,emergency,utilities", env);
  linkages = await startNode("linkages,worker", { ...env, HUB_WORKER_METRICS_PORT: String(workerMetricsPort) });
  api = await startNode("api", env);
  const host = (url: string) => new URL(url).host;
  const configFile = path.join(tmp, "prometheus.yml");
  fs.writeFileSync(
    configFile,
    configFor(
      {
        hub: [api, adapters, linkages].map((n) => host(n.url)),
        "temporal-worker": [`127.0.0.1:${workerMetricsPort}`],
        "temporal-server": [`127.0.0.1:${process.env.TEMPORAL_METRICS_PORT}`],
      },
      "1s",
    ),
  );
  const port = await freePort();
  prometheus = await startPrometheus({ configFile, port, dataDir: tmp, say: () => {} });
  prom = `http://127.0.0.1:${port}`;
  nc = await connect({ servers: process.env.NATS_URL, ...callerOptions(loadConfig().dataDir, "operations-test") });
});
after(async () => {
  await setOutage(false);
  await nc?.close();
  await prometheus?.stop();
  for (const n of [api, linkages, adapters]) await n?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const setOutage = (outage: boolean) =>
  rawFetch(`${registry}/_sandbox/faults`, {
    method: outage ? "PUT" : "DELETE",
    headers: { "content-type": "application/json" },
    body: outage ? JSON.stringify({ outage: true }) : undefined,
  });

async function query(expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
  const res = await rawFetch(`${prom}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
  assert.equal(body.status, "success", `${expr}: ${body.error}`);
  return body.data.result;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

const verify = (c: Citizen, headers: Record<string, string> = {}) =>
  post(`${api.url}/v1/identity-verifications`, { idNumber: c.citizenNo, name: c.fullName }, headers);

/** The same verification over the NATS service: the status REST would answer. */
async function verifyOverNats(c: Citizen): Promise<string> {
  const h = natsHeaders();
  h.set("Authorization", `Bearer ${await suiteToken()}`);
  h.set("Data-Purpose", "identity-verification");
  const body = Buffer.from(JSON.stringify({ idNumber: c.citizenNo, name: c.fullName }));
  const answer = await nc.request("hub.v1.civil-registry.identity.verify", body, { timeout: 10_000, headers: h });
  return answer.headers?.get("Nats-Service-Error-Code") || "200";
}

interface Person extends Citizen {
  sex: string;
}
async function marry(): Promise<{ linkageId: string; requestId: string; status: unknown }> {
  const people = (await json(await post(`${registry}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as Person[];
  const [him, her] = [people.find((p) => p.sex === "MALE")!, people.find((p) => p.sex === "FEMALE")!];
  const res = await post(`${api.url}/v1/linkages/marriages`, {
    applicationNo: `MR-OPS-${randomUUID()}`,
    applicants: [him, her].map((p) => ({ idNumber: p.citizenNo, name: p.fullName })),
  });
  assert.equal(res.status, 202);
  const linkage = await json(res);
  const done = await settle(api.url + res.headers.get("location"));
  return { linkageId: String(linkage.id), requestId: res.headers.get("x-request-id")!, status: done.status };
}

/** Traffic of every kind a partner makes: answers, refusals, a linkage. */
async function traffic(): Promise<void> {
  for (const c of await seedCitizens(5)) assert.equal((await verify(c)).status, 200);
  for (const c of await seedCitizens(2)) assert.equal(await verifyOverNats(c), "200");
  const [c] = await seedCitizens(1);
  assert.equal((await verify(c!, { "data-purpose": "not-a-purpose" })).status, 403);
  assert.equal((await rawFetch(`${api.url}/v1/identity-verifications`, { method: "POST" })).status, 401);
  assert.equal((await marry()).status, "COMPLETED");
}

/** Every metric label's values on every hub node, as Prometheus holds them. */
async function labelValues(): Promise<Map<string, Set<string>>> {
  const series = await query('{job="hub"}');
  const values = new Map<string, Set<string>>();
  for (const { metric } of series)
    for (const [label, value] of Object.entries(metric)) {
      if (["__name__", "job", "instance", "nodeID", "namespace"].includes(label)) continue;
      const key = `${metric.__name__}{${label}}`;
      if (!values.has(key)) values.set(key, new Set());
      values.get(key)!.add(value);
    }
  return values;
}

/** The PromQL of every panel of every dashboard, with Grafana's variables put in. */
function panelQueries(): { where: string; expr: string }[] {
  const dir = path.join(ROOT, "ops/grafana/dashboards");
  const out: { where: string; expr: string }[] = [];
  const walk = (file: string, panels: { title?: string; targets?: { expr?: string }[]; panels?: unknown[] }[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
      walk(file, (p.panels ?? []) as never);
    }
  };
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".json"))) walk(file, JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")).panels);
  return out.map(({ where, expr }) => ({
    where,
    expr: expr
      .replace(/\$__rate_interval|\$\{__rate_interval\}/g, "1m")
      .replace(/\$__interval|\$\{__interval\}/g, "15s")
      .replace(/\$__range|\$\{__range\}/g, "5m")
      .replace(/\$\{?\w+(:\w+)?\}?/g, ".*"),
  }));
}

interface Rule {
  name: string;
  query: string;
  type: "recording" | "alerting";
  health: string;
  lastError?: string;
  state?: string;
}
async function rules(): Promise<Rule[]> {
  const body = (await (await rawFetch(`${prom}/api/v1/rules`)).json()) as { data: { groups: { rules: Rule[] }[] } };
  return body.data.groups.flatMap((g) => g.rules);
}

async function alertState(name: string, labels: Record<string, string>): Promise<string | undefined> {
  const body = (await (await rawFetch(`${prom}/api/v1/alerts`)).json()) as { data: { alerts: { labels: Record<string, string>; state: string }[] } };
  return body.data.alerts.find((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v))?.state;
}

describe("operations against a real Prometheus", () => {
  test("every target is up; after traffic, no label of a hub metric grows with it and none holds an id", async () => {
    await until("every target up", async () => ((await query("up == 1")).length === 5 ? true : undefined), 30_000);
    // Moleculer creates an action's series at its first call, and its `_rate` gauges a few
    // seconds later: two rounds first, so the comparison sees only what more traffic adds.
    const settled = () => new Promise((r) => setTimeout(r, 7000));
    await traffic();
    await traffic();
    await settled();
    const before = await labelValues();
    await traffic();
    await settled();
    const grown = [...(await labelValues())].filter(([key, values]) => values.size > (before.get(key)?.size ?? 0)).map(([key]) => key);
    assert.deepEqual(grown, [], "labels that took new values from the same traffic again");
    const ids = /^[0-9a-f]{8}-[0-9a-f]{4}-|^\d{17}[\dX]$|^MR-/i;
    const leaking = [...before].flatMap(([key, values]) => [...values].filter((v) => ids.test(v)).map((v) => `${key}=${v}`));
    assert.deepEqual(leaking, []);
  });

  test("the agency-down alert fires during an outage and resolves after it; every panel and rule has data meanwhile", async () => {
    const [c] = await seedCitizens(1);
    await setOutage(true);
    try {
      await duringOutage(c!);
    } finally {
      await setOutage(false);
    }
    await until("AgencyDown resolved", async () => ((await alertState("AgencyDown", { agency: "civil-registry" })) === undefined ? true : undefined), 60_000);
    assert.equal((await query('hub_agency_up{agency="civil-registry"}'))[0]?.value[1], "1");
  });
});

/** While the agency is down: the alert goes pending, then (its `for` waited out) firing; meanwhile every panel and rule is queried. */
async function duringOutage(c: Citizen): Promise<void> {
  assert.ok((await verify(c)).status >= 500, "a call during the outage fails");
  await until("AgencyDown pending", async () => (await alertState("AgencyDown", { agency: "civil-registry" })) ?? undefined, 30_000);

  // While the alert waits out its `for`: every panel and every rule returns data.
  const empty: string[] = [];
  for (const { where, expr } of panelQueries()) if (!(await query(expr)).length) empty.push(`${where}: ${expr}`);
  assert.deepEqual(empty, [], "panels without data");
  const all = await rules();
  assert.ok(all.length > 0);
  assert.deepEqual(
    all.filter((r) => r.health !== "ok").map((r) => `${r.name}: ${r.lastError}`),
    [],
    "rules that fail to evaluate",
  );
  for (const r of all.filter((r) => r.type === "recording")) assert.ok((await query(r.name)).length, `recording rule ${r.name} has no data: ${r.query}`);
  // An alert's expression is empty while it is quiet; what it reads must exist.
  const names = new Set(
    all.filter((r) => r.type === "alerting").flatMap((r) => r.query.match(/\b(?:hub_|moleculer_|temporal_|process_|nodejs_|slo:)[\w:]+|\bup\b/g) ?? []),
  );
  const missing: string[] = [];
  for (const name of names) if (!(await query(`count({__name__="${name}"})`)).length) missing.push(name);
  assert.deepEqual(missing, [], "metrics alerts read that nothing exposes");

  await until("AgencyDown firing", async () => ((await alertState("AgencyDown", { agency: "civil-registry" })) === "firing" ? true : undefined), 120_000);
}

describe("logs", () => {
  const linesOf = (node: TestNode) =>
    fs
      .readFileSync(node.service.logFile!, "utf8")
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  test("one linkage's lines across gateway, linkages, worker and adapter share its linkage id; a request's share its request id", async () => {
    const { linkageId, requestId } = await marry();
    await new Promise((r) => setTimeout(r, 500)); // log writes reach the files
    const withLinkage = [api, linkages, adapters].map((n) => linesOf(n).filter((l) => l.linkageId === linkageId));
    const [gateway, workerNode, adapter] = withLinkage.map((lines) => lines.map((l) => String(l.message)));
    assert.ok(gateway!.includes("request answered"), "the gateway's access line names the linkage");
    assert.ok(
      workerNode!.includes("action handled") && workerNode!.includes("activity called") && workerNode!.includes("linkage ended"),
      workerNode!.join(", "),
    );
    assert.ok(
      adapter!.some((m) => m === "action handled"),
      "the adapter's lines name the linkage",
    );
    // The request that started it: its id on the gateway's line and the linkages service's.
    const started = [api, linkages].map((n) =>
      linesOf(n)
        .filter((l) => l.requestId === requestId)
        .map((l) => String(l.message)),
    );
    assert.ok(started[0]!.includes("request answered") && started[1]!.includes("action handled"), JSON.stringify(started));

    // A lookup's request id runs from the gateway to the adapter.
    const [c] = await seedCitizens(1);
    const res = await verify(c!);
    const id = res.headers.get("x-request-id")!;
    await new Promise((r) => setTimeout(r, 500));
    assert.ok(linesOf(api).some((l) => l.requestId === id && l.message === "request answered"));
    assert.ok(linesOf(adapters).some((l) => l.requestId === id && l.action === "civil-registry.identity.verify"));
  });
});
