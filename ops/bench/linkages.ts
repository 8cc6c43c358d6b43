/**
 * `npm run bench:linkages`: how fast a marriage linkage runs on the local stack, against a
 * no-op workflow of the same shape measured in the same run. Starts a stack of its own
 * (ports and state apart from `npm start` and `npm test`), seeds couples with the test-data
 * tool, and prints p50, p95 and throughput. Figures are reported, never asserted.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import { stopAll, tcpReachable, type Managed } from "../stack/processes";
import { MissingPieceError } from "../stack/provision";
import { SANDBOXES, startHubNode, startNats, startSandbox, startTemporal, testDatabaseUrl, urlEnv } from "../stack/services";
import { seedCitizens, type SeededCitizen } from "../seed-citizens";
import { LINKAGE_STATUS, LINKAGE_TYPE } from "../../workflows/linkages/visibility";
import { noopActivities } from "./noop-marriage";
import { openDb } from "../../platform/db";
import { appendRecord } from "../../audit/chain";
import { addPartner } from "../../partners/registry";
import { PURPOSES, SCOPES } from "../../partners/vocabulary";

const HELP = `Usage: npm run bench:linkages [-- options]

Measures marriage linkages (both applicants without an e-ID) from the REST start to the
final status, and a no-op workflow of the same shape started on Temporal directly; then the
sync path (identity verifications one at a time) and what its audit record adds to it.
  --sequential N   linkages run one after another for p50/p95 (default 50)
  --burst N        linkages started at once for throughput (default 200)
  --json           print the figures as JSON
Starts its own stack: NATS on 24222, Temporal on 27233, sandboxes on 24101-24103, the hub
on 23000, PostgreSQL database linkage_hub_bench (DATABASE_URL overrides), state in .data/bench.
Targets: linkage median under 600 ms, and within 2x of the no-op median.`;

const ROOT = path.resolve(__dirname, "../..");
const say = (line: string) => console.error(`[bench] ${line}`);

interface Options {
  sequential: number;
  burst: number;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { sequential: 50, burst: 200, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--sequential" || arg === "--burst") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 5000) throw new Error(`${arg} takes a whole number from 1 to 5000`);
      opts[arg === "--burst" ? "burst" : "sequential"] = n;
    } else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

interface Figures {
  count: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  perSecond?: number;
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
function figures(latencies: number[], failed: number, wallMs?: number): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  const out: Figures = { count: latencies.length, failed, p50Ms: Math.round(quantile(sorted, 0.5)), p95Ms: Math.round(quantile(sorted, 0.95)) };
  if (wallMs) out.perSecond = Math.round((latencies.length / wallMs) * 10_000) / 10;
  return out;
}

/** Couples of a man and a woman, fresh from the test-data tool (unmarried, no e-ID). */
function couples(citizens: SeededCitizen[]): [SeededCitizen, SeededCitizen][] {
  const men = citizens.filter((c) => c.sex === "MALE");
  const women = citizens.filter((c) => c.sex === "FEMALE");
  return men.slice(0, women.length).map((m, i) => [m, women[i]!]);
}

async function main(): Promise<number> {
  let opts: Options | "help";
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (opts === "help") {
    console.log(HELP);
    return 0;
  }
  const dataDir = path.join(ROOT, ".data/bench");
  const env: NodeJS.ProcessEnv = {
    NATS_URL: "nats://127.0.0.1:24222",
    TEMPORAL_ADDRESS: "127.0.0.1:27233",
    TEMPORAL_UI_PORT: "28233",
    TEMPORAL_METRICS_PORT: "29233",
    HUB_WORKER_METRICS_PORT: "off",
    ...Object.fromEntries(SANDBOXES.map((s, i) => [urlEnv(s), `http://127.0.0.1:${24101 + i}`])),
    HUB_DATA_DIR: dataDir,
    HUB_PORT: "23000",
    HUB_SERVICES: "all",
    HUB_TOKEN_TTL_S: "3600",
    LOG_LEVEL: "warn",
  };
  const api = "http://127.0.0.1:23000";
  const started: Managed[] = [];
  const cleanup = () => stopAll(started.reverse());
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void cleanup().then(() => process.exit(130)));
  try {
    for (const port of [24222, 27233, 23000])
      if (await tcpReachable("127.0.0.1", port))
        throw new MissingPieceError(`port ${port} is in use: is another benchmark running? The benchmark starts a stack of its own.`);
    fs.rmSync(dataDir, { recursive: true, force: true });
    env.DATABASE_URL = await testDatabaseUrl(say, true, "linkage_hub_bench");
    started.push(await startNats(env.NATS_URL!, dataDir, say));
    started.push(await startTemporal(env.TEMPORAL_ADDRESS!, { ui: Number(env.TEMPORAL_UI_PORT), metrics: Number(env.TEMPORAL_METRICS_PORT) }, dataDir, say));
    for (const sandbox of SANDBOXES) started.push(await startSandbox(sandbox.agency, env[urlEnv(sandbox)]!, dataDir, { DATABASE_URL: env.DATABASE_URL }, say));
    started.push(await startHubNode("hub", { ...process.env, ...env }, `${api}/readyz`, path.join(dataDir, "logs")));
    say(`hub ready at ${api}`);

    const wanted = 3 + opts.sequential + opts.burst;
    say(`seeding ${wanted} couples with the test-data tool`);
    const citizens = await seedCitizens({ count: Math.ceil(wanted * 2.4), json: true, minAge: 30, maxAge: 60 }, env);
    const pairs = couples(citizens);
    if (pairs.length < wanted) throw new Error(`the test-data tool gave ${pairs.length} couples, ${wanted} wanted`);
    const run = randomBytes(3).toString("hex");
    let n = 0;

    // The benchmark calls as a partner, as partners do: client credentials, then the token.
    const db = await openDb({ url: env.DATABASE_URL, pgliteDir: "" });
    const partner = await addPartner(db, { id: `bench-${run}`, scopes: [...SCOPES], purposes: [...PURPOSES], quota: 1_000_000 });
    const tokenRes = await fetch(`${api}/v1/oauth/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${partner.partner.id}:${partner.clientSecret}`).toString("base64")}`,
      },
      body: "grant_type=client_credentials",
    });
    const auth = { authorization: `Bearer ${((await tokenRes.json()) as { access_token: string }).access_token}`, "data-purpose": "civil-registration" };

    /** One marriage linkage over REST: start, then poll its status until it ends. */
    const marry = async (pollMs: number): Promise<{ ms: number; ok: boolean }> => {
      const [him, her] = pairs[n++]!;
      const t0 = performance.now();
      const res = await fetch(`${api}/v1/linkages/marriages`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ applicationNo: `BENCH-${run}-${n}`, applicants: [him, her].map((p) => ({ idNumber: p.idNumber, name: p.name })) }),
      });
      if (res.status !== 202) return { ms: performance.now() - t0, ok: false };
      const url = api + res.headers.get("location");
      for (;;) {
        const body = (await (await fetch(url, { headers: auth })).json()) as { status: string };
        if (body.status !== "RUNNING") return { ms: performance.now() - t0, ok: body.status === "COMPLETED" };
        await new Promise((r) => setTimeout(r, pollMs));
      }
    };

    const connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS! });
    const client = new Client({ connection });
    const taskQueue = `bench-noop-${run}`;
    Runtime.install({ logger: new DefaultLogger("WARN") });
    const native = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS! });
    const worker = await Worker.create({ connection: native, taskQueue, workflowsPath: require.resolve("./noop-marriage"), activities: noopActivities });
    const running = worker.run();
    /** The yardstick: the same shape on Temporal, started by its client, activities doing nothing. */
    const noop = async (): Promise<{ ms: number; ok: boolean }> => {
      const t0 = performance.now();
      const handle = await client.workflow.start("noopMarriage", {
        taskQueue,
        workflowId: `bench-noop:${run}:${n++}`,
        typedSearchAttributes: [
          { key: LINKAGE_TYPE, value: "bench-noop" },
          { key: LINKAGE_STATUS, value: "RUNNING" },
        ],
      });
      const result = (await handle.result()) as { status: string };
      return { ms: performance.now() - t0, ok: result.status === "COMPLETED" };
    };

    const sequential = async (label: string, one: () => Promise<{ ms: number; ok: boolean }>): Promise<Figures> => {
      const ms: number[] = [];
      let failed = 0;
      for (let i = 0; i < opts.sequential; i++) {
        const r = await one();
        if (r.ok) ms.push(r.ms);
        else failed++;
        if ((i + 1) % 10 === 0) say(`${label}: ${i + 1}/${opts.sequential} one after another`);
      }
      return figures(ms, failed);
    };
    const burst = async (label: string, one: () => Promise<{ ms: number; ok: boolean }>): Promise<Figures> => {
      say(`${label}: ${opts.burst} at once`);
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: opts.burst }, one));
      const wall = performance.now() - t0;
      return figures(
        results.filter((r) => r.ok).map((r) => r.ms),
        results.filter((r) => !r.ok).length,
        wall,
      );
    };

    say("warming up (3 linkages, 3 no-op workflows)");
    for (let i = 0; i < 3; i++) await marry(5);
    for (let i = 0; i < 3; i++) await noop();
    const result = {
      linkage: { sequential: await sequential("marriage linkage", () => marry(5)), burst: await burst("marriage linkage", () => marry(50)) },
      noop: { sequential: await sequential("no-op workflow", noop), burst: await burst("no-op workflow", noop) },
    };
    // The sync path and its audit record: identity verifications one at a time (each appends
    // one record to the chain before it answers), and the append alone, on the same database.
    say(`sync path: ${opts.sequential * 4} identity verifications one at a time, and as many audit appends`);
    const syncMs: number[] = [];
    for (let i = 0; i < opts.sequential * 4; i++) {
      const [person] = pairs[i % pairs.length]!;
      const t0 = performance.now();
      const res = await fetch(`${api}/v1/identity-verifications`, {
        method: "POST",
        headers: { ...auth, "data-purpose": "identity-verification", "content-type": "application/json" },
        body: JSON.stringify({ idNumber: person.idNumber, name: person.name }),
      });
      await res.arrayBuffer();
      if (res.status === 200) syncMs.push(performance.now() - t0);
    }
    const appendMs: number[] = [];
    for (let i = 0; i < opts.sequential * 4; i++) {
      const t0 = performance.now();
      await appendRecord(db, { at: new Date().toISOString(), operation: "bench.append", outcome: "OK", subjects: [] });
      appendMs.push(performance.now() - t0);
    }
    const p = (list: number[], q: number) =>
      Math.round(
        quantile(
          [...list].sort((a, b) => a - b),
          q,
        ) * 10,
      ) / 10;
    const syncPath = {
      calls: syncMs.length,
      p50Ms: p(syncMs, 0.5),
      p99Ms: p(syncMs, 0.99),
      auditAppendP50Ms: p(appendMs, 0.5),
      auditAppendP99Ms: p(appendMs, 0.99),
    };
    await db.close();

    worker.shutdown();
    await running;
    await native.close();
    await connection.close();

    const ratio = Math.round((result.linkage.sequential.p50Ms / result.noop.sequential.p50Ms) * 100) / 100;
    if (opts.json) console.log(JSON.stringify({ ...result, ratio, syncPath }, null, 2));
    else {
      const row = (name: string, f: Figures) =>
        `${name.padEnd(34)}${String(f.count).padStart(6)}${String(f.failed).padStart(8)}${String(f.p50Ms).padStart(8)}${String(f.p95Ms).padStart(8)}${f.perSecond === undefined ? "" : String(f.perSecond).padStart(8)}`;
      console.log(`\n${"".padEnd(34)}${"done".padStart(6)}${"failed".padStart(8)}${"p50 ms".padStart(8)}${"p95 ms".padStart(8)}${"per s".padStart(8)}`);
      console.log(row("marriage linkage, one at a time", result.linkage.sequential));
      console.log(row(`marriage linkage, ${opts.burst} at once`, result.linkage.burst));
      console.log(row("no-op workflow, one at a time", result.noop.sequential));
      console.log(row(`no-op workflow, ${opts.burst} at once`, result.noop.burst));
      const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
      console.log(`\nmedian ${result.linkage.sequential.p50Ms} ms (target under 600 ms): ${verdict(result.linkage.sequential.p50Ms < 600)}`);
      console.log(`${ratio}x the no-op workflow's median (target within 2x): ${verdict(ratio <= 2)}`);
      console.log(`${opts.burst} started at once: ${result.linkage.burst.count} completed, ${result.linkage.burst.failed} did not`);
      console.log(`\nsync path (POST /v1/identity-verifications, ${syncPath.calls} calls): p50 ${syncPath.p50Ms} ms, p99 ${syncPath.p99Ms} ms`);
      console.log(`of which the audit record (one chained append before the answer): p50 ${syncPath.auditAppendP50Ms} ms, p99 ${syncPath.auditAppendP99Ms} ms`);
    }
    return result.linkage.burst.failed + result.linkage.sequential.failed === 0 ? 0 : 1;
  } catch (err) {
    console.error(err instanceof MissingPieceError ? `\n${err.message}\n` : err);
    return 1;
  } finally {
    await cleanup();
  }
}

main().then((code) => process.exit(code));
