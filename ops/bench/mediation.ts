/**
 * `npm run bench:mediation`: what the hub adds to a provider's REST service it mediates
 * (`/r1/{service id}/{path}`), in one run on the benchmark's own stack: the provider alone,
 * the same call through the hub, and the hub's own identity verification as the yardstick;
 * latency at 1 connection, throughput at 32 (wrk), and the hub's CPU per call. Figures are
 * reported, never asserted.
 */
import os from "node:os";
import path from "node:path";
import { seedCitizens } from "../seed-citizens";
import { BENCH_PERSON, PROVIDER_DOCUMENT, PROVIDER_PORT, registerService, startProvider } from "./provider";
import { runBenchmark, say } from "./run";
import { BENCH_PORTS, type BenchStack } from "./stack";
import { cpuMs, ensureWrk, runWrk, type Load, type LoadFigures } from "./wrk";

const HELP = `Usage: npm run bench:mediation [-- options]

Measures, with wrk, a GET of a person from a provider answering from memory (a process of
the bench's own on port ${PROVIDER_PORT}): called directly, and mediated by the hub
(GET /r1/{service id}/persons/{id}: token, right, purpose, quota, validation both ways,
audit); and the hub's identity verification (POST /v1/identity-verifications). For each:
p50 and p99 at 1 connection, requests per second at 32, and the hub's CPU per call.
  --seconds N   seconds per measurement (default 10; each has a warm-up of a fifth of it)
  --pglite      run the hub on embedded PGlite (as npm start does), state in .data/bench-pglite
  --json        print the figures as JSON
Starts its own stack: ${BENCH_PORTS},
PostgreSQL database linkage_hub_bench (DATABASE_URL overrides), state in .data/bench.
Target: a mediated call costs no more hub CPU than an identity verification.`;

interface Options {
  seconds: number;
  pglite: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { seconds: 10, pglite: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--pglite") opts.pglite = true;
    else if (arg === "--seconds") {
      opts.seconds = Number(argv[++i]);
      if (!Number.isInteger(opts.seconds) || opts.seconds < 1 || opts.seconds > 600) throw new Error("--seconds takes a whole number from 1 to 600");
    } else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

/** The provider's service registered from its document, the bench's partner granted; its id. */
const registerProvider = (stack: BenchStack) => registerService(stack, `persons-${stack.run}`, PROVIDER_DOCUMENT);

interface Target {
  name: string;
  load: Load;
  /** The process behind the hub, whose CPU is the call's floor. */
  backendPid?: number;
}

async function targets(stack: BenchStack, serviceId: string, providerPid?: number): Promise<Target[]> {
  const [citizen] = await seedCitizens({ count: 1, json: true, minAge: 18, maxAge: 80 }, stack.env);
  const headers = { ...stack.auth, "data-purpose": "identity-verification" };
  return [
    { name: "provider alone (direct)", backendPid: providerPid, load: { url: `http://127.0.0.1:${PROVIDER_PORT}/persons/${BENCH_PERSON.idNumber}` } },
    { name: "mediated by the hub (/r1)", backendPid: providerPid, load: { url: `${stack.api}/r1/${serviceId}/persons/${BENCH_PERSON.idNumber}`, headers } },
    {
      name: "identity verification",
      backendPid: stack.pid("sandbox-civil-registry"),
      load: {
        url: `${stack.api}/v1/identity-verifications`,
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ idNumber: citizen!.idNumber, name: citizen!.name }),
      },
    },
  ];
}

/** One call first, with a few retries while the registration reaches the gateway: it must answer 200. */
async function answers(target: Target): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const { url, method, headers, body } = target.load;
    const res = await fetch(url, { method, headers, body });
    const text = await res.text();
    if (res.status === 200) return;
    if (attempt === 5) throw new Error(`${target.name}: ${method ?? "GET"} ${url} answered ${res.status}: ${text}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface Measured {
  one: LoadFigures;
  many: LoadFigures;
  /** CPU time per call served at 32 connections: the hub node's, and the backend's behind it. */
  hubCpuMs: number;
  backendCpuMs?: number;
}

const perCall = (ms: number, calls: number) => Math.round((ms / Math.max(1, calls)) * 1000) / 1000;

async function measureTarget(stack: BenchStack, wrk: string, target: Target, seconds: number): Promise<Measured> {
  await answers(target);
  const scratch = path.join(stack.dataDir, "wrk");
  say(`${target.name}: warm-up, then ${seconds} s at 1 connection and ${seconds} s at 32`);
  await runWrk(wrk, target.load, 32, Math.max(1, Math.round(seconds / 5)), scratch);
  const one = await runWrk(wrk, target.load, 1, seconds, scratch);
  const hub = stack.pid("hub")!;
  const backend = target.backendPid;
  const before = { hub: cpuMs(hub), backend: backend ? cpuMs(backend) : 0 };
  const many = await runWrk(wrk, target.load, 32, seconds, scratch);
  const hubCpuMs = perCall(cpuMs(hub) - before.hub, many.requests);
  const backendCpuMs = backend ? perCall(cpuMs(backend) - before.backend, many.requests) : undefined;
  return { one, many, hubCpuMs, backendCpuMs };
}

interface Result {
  database: BenchStack["database"];
  seconds: number;
  /** The machine's cores and its 1-minute load average when the measurements began (others' work included). */
  machine: { cores: number; loadAverage: number };
  direct: Measured;
  mediated: Measured;
  identityVerification: Measured;
  /** Mediated p50 minus direct p50 at 1 connection, ms. */
  addedP50Ms: number;
  /** Requests per second at 32 connections, mediated / direct. */
  throughputRatio: number;
  /** Hub CPU per call, mediated / identity verification; the target is at most 1. */
  cpuRatio: number;
  cpuTargetMet: boolean;
}

async function measure(stack: BenchStack, opts: Options): Promise<Result> {
  const wrk = await ensureWrk(say);
  const machine = { cores: os.availableParallelism(), loadAverage: Math.round(os.loadavg()[0]! * 100) / 100 };
  const provider = await startProvider(stack.dataDir);
  try {
    const serviceId = await registerProvider(stack);
    say(`registered ${serviceId} and granted ${stack.subsystem}`);
    const measured: Measured[] = [];
    for (const target of await targets(stack, serviceId, provider.child?.pid)) measured.push(await measureTarget(stack, wrk, target, opts.seconds));
    return summary({ database: stack.database, seconds: opts.seconds, machine }, measured as [Measured, Measured, Measured]);
  } finally {
    await provider.stop();
  }
}

type Run = Pick<Result, "database" | "seconds" | "machine">;

function summary(run: Run, [direct, mediated, identityVerification]: [Measured, Measured, Measured]): Result {
  const round = (n: number) => Math.round(n * 1000) / 1000;
  const cpuRatio = round(mediated.hubCpuMs / identityVerification.hubCpuMs);
  return {
    ...{ ...run, direct, mediated, identityVerification },
    addedP50Ms: round(mediated.one.p50Ms - direct.one.p50Ms),
    throughputRatio: round(mediated.many.perSecond / direct.many.perSecond),
    cpuRatio,
    cpuTargetMet: mediated.hubCpuMs <= identityVerification.hubCpuMs,
  };
}

function report(r: Result): void {
  const cell = (v: number | string | undefined, width = 9) => (v === undefined ? "n/a" : String(v)).padStart(width);
  const row = (name: string, m: Measured) =>
    name.padEnd(28) +
    [m.one.p50Ms, m.one.p99Ms, m.many.perSecond, m.many.p50Ms, m.many.p99Ms, m.one.failed + m.many.failed, m.hubCpuMs, m.backendCpuMs]
      .map((v) => cell(v))
      .join("");
  console.log(`\nHub on ${r.database}; wrk, ${r.seconds} s per measurement; ${r.machine.cores} cores, load average ${r.machine.loadAverage} at the start`);
  console.log("CPU: ms per call at 32 connections (user + system, /proc) of the hub node and of the backend (the provider, the civil-registry sandbox)");
  console.log(`${"".padEnd(28)}${"1 connection".padStart(18)}${"32 connections".padStart(27)}`);
  console.log(`${"".padEnd(28)}${["p50 ms", "p99 ms", "req/s", "p50 ms", "p99 ms", "failed", "hub CPU", "backend"].map((h) => cell(h)).join("")}`);
  console.log(row("provider alone (direct)", r.direct));
  console.log(row("mediated (/r1, same call)", r.mediated));
  console.log(row("identity verification", r.identityVerification));
  console.log(`\nadded latency (mediated p50 - direct p50, 1 connection): ${r.addedP50Ms} ms`);
  console.log(`throughput at 32 connections, mediated / direct: ${r.throughputRatio} (${r.mediated.many.perSecond} vs ${r.direct.many.perSecond} req/s)`);
  console.log(`hub CPU per call: mediated ${r.mediated.hubCpuMs} ms, identity verification ${r.identityVerification.hubCpuMs} ms (ratio ${r.cpuRatio})`);
  console.log(`target, a mediated call costs no more hub CPU than an identity verification: ${r.cpuTargetMet ? "met" : "NOT met"}`);
}

runBenchmark({
  help: HELP,
  parse: parseArgs,
  measure,
  report: (result) => report(result),
  succeeded: (r) => [r.direct, r.mediated, r.identityVerification].every((m) => m.one.failed + m.many.failed === 0),
});
