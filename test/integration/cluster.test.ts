/**
 * `npm run cluster` as an ops engineer runs it: the production shape from dist/ on its own
 * PostgreSQL instance, the README's partner quick start through the load balancer, Prometheus
 * scraping every node, then Ctrl-C, after which nothing it started is left running.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "../../ops/build";
import { shiftedPorts } from "../../ops/stack/cluster";
import { tcpReachable, waitFor } from "../../ops/stack/processes";
import { post, settle } from "../support/hub";
import { rawFetch } from "../support/partner";

const ROOT = path.resolve(__dirname, "../..");
const OFFSET = 18_000;
const ports = shiftedPorts(OFFSET);
const lb = `http://127.0.0.1:${ports.lb}`;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-"));
// mkdtemp's 0700 would shut out PostgreSQL's own user (the cluster says so and stops).
fs.chmodSync(dataDir, 0o755);
let cluster: ChildProcess;
let output = "";
let cliEnv: NodeJS.ProcessEnv;

before(async () => {
  // The chaos test before this file builds dist/; alone, this file builds it.
  if (!fs.existsSync(path.join(ROOT, "dist/hub/node.js"))) await build();
  const env: NodeJS.ProcessEnv = { ...process.env, HUB_DATA_DIR: dataDir };
  // An ops engineer's shell: no database (the cluster makes its own), no credentials of the suite's NATS.
  for (const name of ["DATABASE_URL", "NATS_URL", "NATS_CREDS", "NATS_SYSTEM_CREDS", "TEMPORAL_ADDRESS"]) delete env[name];
  cluster = spawn(process.execPath, ["--import", "tsx", "ops/cluster.ts", "--no-build", "--port-offset", String(OFFSET)], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  for (const stream of [cluster.stdout!, cluster.stderr!]) stream.setEncoding("utf8").on("data", (d) => (output += d));
  await waitFor("npm run cluster", async () => output.includes("Press Ctrl-C"), 240_000, cluster).catch((err) => {
    throw new Error(`${err.message}\n${output}`);
  });
  const exported = /^ {2}export (.+)$/m.exec(output)![1]!;
  cliEnv = { ...env, ...Object.fromEntries(exported.split(" ").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)])) };
});
after(() => {
  if (cluster.exitCode === null) cluster.kill("SIGKILL");
});

test("npm run cluster prints the load balancer's URL first, then every node", () => {
  const lines = output.split("\n").filter((l) => l.trim());
  assert.equal(lines[0], `[cluster] load balancer: ${lb} (starting)`);
  assert.match(output, new RegExp(`Linkage Hub cluster is running: ${lb}`));
  for (const node of ["gateway-1", "gateway-2", "adapter-1", "adapter-2", "worker-1", "worker-2"]) assert.match(output, new RegExp(`^ {2}${node} +http`, "m"));
});

test("the README's partner quick start works through the load balancer", async () => {
  const made = JSON.parse(
    execFileSync(process.execPath, ["bin/linkage-hub.js", "partners", "add", "--test", "--json"], { cwd: ROOT, env: cliEnv, encoding: "utf8" }),
  );
  const basic = Buffer.from(`${made.clientId}:${made.clientSecret}`).toString("base64");
  const tokenRes = await rawFetch(`${lb}/v1/oauth/token`, {
    method: "POST",
    headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=client_credentials",
  });
  assert.equal(tokenRes.status, 200);
  const token = ((await tokenRes.json()) as { access_token: string }).access_token;
  const [citizen] = (await (await post(`http://127.0.0.1:${ports.sandboxes}/_sandbox/citizens`, { count: 1 })).json()) as {
    citizenNo: string;
    fullName: string;
  }[];
  const auth = { authorization: `Bearer ${token}` };
  const verified = await rawFetch(`${lb}/v1/identity-verifications`, {
    method: "POST",
    headers: { ...auth, "data-purpose": "identity-verification", "content-type": "application/json" },
    body: JSON.stringify({ idNumber: citizen!.citizenNo, name: citizen!.fullName }),
  });
  assert.deepEqual([verified.status, await verified.json()], [200, { match: true }]);
  const started = await rawFetch(`${lb}/v1/linkages/eid-issuances`, {
    method: "POST",
    headers: { ...auth, "data-purpose": "civil-registration", "content-type": "application/json" },
    body: JSON.stringify({ applicationNo: "EID-2026-000001", idNumber: citizen!.citizenNo, name: citizen!.fullName }),
  });
  assert.equal(started.status, 202, await started.clone().text());
  const linkage = await settle(new URL(started.headers.get("location")!, lb).href, 60_000, { ...auth, "data-purpose": "civil-registration" });
  assert.equal(linkage.status, "COMPLETED", JSON.stringify(linkage));
});

test("Prometheus scrapes every hub node, the workers' SDK metrics, the Temporal server and HAProxy", async () => {
  const targets = async () => {
    const body = (await (await rawFetch(`http://127.0.0.1:${ports.prometheus}/api/v1/targets`)).json()) as {
      data: { activeTargets: { labels: { job: string; instance: string }; health: string }[] };
    };
    return body.data.activeTargets;
  };
  const allUp = async () => {
    const list = await targets();
    return list.length === 10 && list.every((t) => t.health === "up");
  };
  await waitFor("every target up", allUp, 30_000).catch(async (err) => {
    throw new Error(`${err.message}: ${JSON.stringify(await targets())}`);
  });
  const jobs: Record<string, number> = {};
  for (const t of await targets()) jobs[t.labels.job] = (jobs[t.labels.job] ?? 0) + 1;
  assert.deepEqual(jobs, { hub: 6, "temporal-worker": 2, "temporal-server": 1, haproxy: 1 });
});

test("Ctrl-C stops every piece of the cluster", async () => {
  const exited = new Promise<number | null>((resolve) => cluster.once("exit", resolve));
  cluster.kill("SIGINT");
  assert.equal(await exited, 0, output);
  const open = [];
  for (const [name, port] of Object.entries(ports)) if (await tcpReachable("127.0.0.1", port)) open.push(`${name} ${port}`);
  assert.deepEqual(open, [], "nothing listens where the cluster ran");
  const left = execFileSync("ps", ["-eo", "args"], { encoding: "utf8" })
    .split("\n")
    .filter((p) => p.includes(dataDir));
  assert.deepEqual(left, [], "no process of the cluster is left");
});
