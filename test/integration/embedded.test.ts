/**
 * Smoke test of `npm start` itself, as a newcomer runs it: embedded PGlite (no
 * DATABASE_URL), its own NATS, Temporal and sandbox, the catalogue agencies registered, both
 * slice calls, then Ctrl-C, after which nothing it started is left running.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile, execFileSync, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { waitFor, tcpReachable } from "../../ops/stack/processes";
import { freePort, post, settle } from "../support/hub";
import { rawFetch } from "../support/partner";

const ROOT = path.resolve(__dirname, "../..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "embedded-start-"));
let start: ChildProcess;
let output = "";
const ports: Record<string, number> = {};
let api: string, registry: string;
let startEnv: NodeJS.ProcessEnv;
let partnerToken: string;

before(async () => {
  for (const name of ["hub", "nats", "temporal", "ui", "temporalMetrics", "workerMetrics", "registry"]) ports[name] = await freePort();
  api = `http://127.0.0.1:${ports.hub}`;
  registry = `http://127.0.0.1:${ports.registry}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HUB_PORT: String(ports.hub),
    NATS_URL: `nats://127.0.0.1:${ports.nats}`,
    TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporal}`,
    TEMPORAL_UI_PORT: String(ports.ui),
    TEMPORAL_METRICS_PORT: String(ports.temporalMetrics),
    HUB_WORKER_METRICS_PORT: String(ports.workerMetrics),
    CIVIL_REGISTRY_URL: registry,
    HUB_DATA_DIR: dataDir,
  };
  delete env.DATABASE_URL;
  // A newcomer's shell: no NATS credentials (this run's are for the test stack's NATS).
  delete env.NATS_CREDS;
  delete env.NATS_SYSTEM_CREDS;
  startEnv = env;
  start = spawn(process.execPath, ["--import", "tsx", "ops/start.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  start.stdout!.setEncoding("utf8").on("data", (d) => (output += d));
  start.stderr!.setEncoding("utf8").on("data", (d) => (output += d));
  const up = async () => output.includes("Press Ctrl-C") && (await fetch(`${api}/readyz`)).status === 200;
  await waitFor("npm start", up, 180_000, start).catch((err) => {
    throw new Error(`${err.message}\n${output}`);
  });
});
after(() => {
  if (start.exitCode === null) start.kill("SIGKILL");
});

test("npm start prints where everything is", () => {
  assert.match(output, new RegExp(`REST API\\s+${api}/v1`));
  assert.match(output, /embedded PGlite/);
  assert.ok(output.includes(`civil-registry sandbox: started at ${registry}`), output);
  assert.match(output, new RegExp(`Temporal UI\\s+http://127.0.0.1:${ports.ui}`));
  // The catalogue agencies, registered once the hub is ready: one line each.
  assert.match(
    output,
    /public-security: LOCAL\/GOV\/public-security\/police\/event-security registered \(http:\/\/[^)]+\), granted to the hub's linkages for event-safety/,
  );
  assert.match(
    output,
    /fire-safety: LOCAL\/GOV\/fire-safety\/inspections\/venue-inspections registered \(http:\/\/[^)]+\), granted to the hub's linkages for event-safety/,
  );
  assert.match(
    output,
    /aviation: LOCAL\/GOV\/aviation\/drones\/drone-registry registered \(http:\/\/[^)]+\), granted to the hub's linkages for aviation-safety/,
  );
});

test("npm start serves the metrics ops/prometheus scrapes: the hub's, the Temporal worker's and the Temporal server's", async () => {
  const hub = await (await fetch(`${api}/metrics`)).text();
  assert.match(hub, /^hub_ready 1$/m);
  assert.match(hub, /^hub_agency_up\{agency="civil-registry"\} 1$/m);
  assert.match(hub, /^hub_audit_chain_intact 1$/m);
  const worker = await (await fetch(`http://127.0.0.1:${ports.workerMetrics}/metrics`)).text();
  assert.match(worker, /^temporal_\w+_total[{ ]/m, "the worker's SDK counters, named with _total");
  assert.equal((await fetch(`http://127.0.0.1:${ports.temporalMetrics}/metrics`)).status, 200);
});

test("npm run ops:prometheus scrapes that stack: hub, worker and Temporal server up; Ctrl-C stops it", async () => {
  const port = await freePort();
  const prometheus = spawn(process.execPath, ["--import", "tsx", "ops/ops-prometheus.ts", "--port", String(port)], {
    cwd: ROOT,
    env: startEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let said = "";
  for (const stream of [prometheus.stdout!, prometheus.stderr!]) stream.setEncoding("utf8").on("data", (d) => (said += d));
  try {
    await waitFor("ops:prometheus", async () => said.includes("ready: open"), 60_000, prometheus);
    const targets = async () => {
      const body = (await (await rawFetch(`http://127.0.0.1:${port}/api/v1/targets`)).json()) as {
        data: { activeTargets: { labels: { job: string }; health: string }[] };
      };
      return Object.fromEntries(body.data.activeTargets.map((t) => [t.labels.job, t.health]));
    };
    await waitFor("every target scraped", async () => Object.values(await targets()).filter((h) => h === "up").length === 3, 30_000).catch(async (err) => {
      throw new Error(`${err.message}: ${JSON.stringify(await targets())}\n${said}`);
    });
  } finally {
    const exited = new Promise<number | null>((resolve) => prometheus.once("exit", resolve));
    prometheus.kill("SIGINT");
    assert.equal(await exited, 0, said);
  }
  assert.equal(await tcpReachable("127.0.0.1", port), false, "Prometheus stopped");
});

test("the partners CLI works against the running npm start (PGlite), and its test partner gets a token", async () => {
  const cli = (...args: string[]) =>
    JSON.parse(
      execFileSync(process.execPath, ["--import", "tsx", "ops/cli/main.ts", "partners", ...args, "--json"], { cwd: ROOT, env: startEnv, encoding: "utf8" }),
    );
  const made = cli("add", "--test") as { clientId: string; clientSecret: string };
  assert.equal(made.clientId, "test-partner");
  assert.deepEqual(
    (cli("list") as { id: string }[]).map((p) => p.id),
    ["test-partner"],
  );
  const res = await rawFetch(`${api}/v1/oauth/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(`${made.clientId}:${made.clientSecret}`).toString("base64")}`,
    },
    body: "grant_type=client_credentials",
  });
  assert.equal(res.status, 200);
  partnerToken = ((await res.json()) as { access_token: string }).access_token;
});

test("both slice calls work on the embedded default", async () => {
  const made = await post(`${registry}/_sandbox/citizens`, { count: 1 });
  const body = await made.text();
  assert.equal(made.status, 201, body);
  const [citizen] = JSON.parse(body) as { citizenNo: string; fullName: string }[];
  const auth = { authorization: `Bearer ${partnerToken}`, "data-purpose": "identity-verification" };
  const verified = await post(`${api}/v1/identity-verifications`, { idNumber: citizen!.citizenNo, name: citizen!.fullName }, auth);
  assert.deepEqual(await verified.json(), { match: true });

  const res = await post(
    `${api}/v1/linkages/eid-issuances`,
    { applicationNo: "EMBEDDED-1", idNumber: citizen!.citizenNo, name: citizen!.fullName },
    { ...auth, "data-purpose": "civil-registration" },
  );
  assert.equal(res.status, 202);
  const done = await settle(api + res.headers.get("location"), 30_000, { ...auth, "data-purpose": "civil-registration" });
  assert.equal(done.status, "COMPLETED", JSON.stringify(done));
});

test("the README's catalogue walk-through works as written on the embedded default", async () => {
  // Run without blocking this process: a connection the hub closed meanwhile (idle past its
  // keep-alive) must be seen closed before the next request, not reused.
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, ["--import", "tsx", "ops/cli/main.ts", ...args], { cwd: ROOT, env: startEnv });
  const service = "LOCAL/GOV/50000001/registry-system/persons";
  await cli("services", "add", service, "--openapi", "docs/examples/registry-persons.yaml", "--base-url", `${registry}/registry/v2`);
  await cli("access", "grant", "--client", "LOCAL/GOV/test-partner/default", "--service", service, "--purposes", "identity-verification");
  const auth = { authorization: `Bearer ${partnerToken}` };
  const allowed = (await (await rawFetch(`${api}/r1/LOCAL/GOV/50000001/registry-system/allowedMethods`, { headers: auth })).json()) as {
    member: { serviceCode: string; endpointList: { member: unknown[] } }[];
  };
  assert.deepEqual(
    allowed.member.map((m) => [m.serviceCode, m.endpointList.member.length]),
    [["persons", 2]],
  );
  const [citizen] = (await (await post(`${registry}/_sandbox/citizens`, { count: 1 })).json()) as { citizenNo: string; fullName: string }[];
  const res = await post(
    `${api}/r1/${service}/person-checks`,
    { citizenNo: citizen!.citizenNo, fullName: citizen!.fullName },
    { ...auth, "data-purpose": "identity-verification" },
  );
  assert.deepEqual(await res.json(), { checkResult: "CONSISTENT" });
});

test("the audit log of the embedded hub verifies from the CLI, through the running hub", () => {
  const out = execFileSync(process.execPath, ["--import", "tsx", "ops/cli/main.ts", "audit", "verify", "--json"], {
    cwd: ROOT,
    env: startEnv,
    encoding: "utf8",
  });
  const verdict = JSON.parse(out) as { ok: boolean; records: number };
  assert.equal(verdict.ok, true, out);
  assert.ok(verdict.records >= 2, "the slice's personal-data calls were recorded");
});

test("Ctrl-C stops everything npm start started", async () => {
  const exited = new Promise<number | null>((resolve) => start.once("exit", (code) => resolve(code)));
  start.kill("SIGINT");
  assert.equal(await exited, 0, output);
  for (const [name, port] of Object.entries(ports)) assert.equal(await tcpReachable("127.0.0.1", port), false, `${name} port ${port} still open`);
  const left = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.includes(dataDir));
  assert.deepEqual(left, [], "processes left running");
});
