/**
 * `npm run bench:catalogue`: the catalogue at scale, in one run on the benchmark's own stack:
 * registering hundreds of services with generated documents, how soon a registration reaches
 * every gateway, what a gateway's memory grows by per 1,000 operations it serves, how long a
 * route lookup takes, and the mediated call's p50 with few services loaded and with all of
 * them, beside the provider alone. Figures are reported, never asserted.
 */
import path from "node:path";
import { RouteIndex, safeSegments } from "../../catalogue/routes";
import { readServiceDocument } from "../../catalogue/document";
import { startHubNode } from "../stack/services";
import type { Managed } from "../stack/processes";
import { generatedDocument } from "./generated-services";
import { BENCH_PERSON, PROVIDER_PORT, registerService, startProvider } from "./provider";
import { runBenchmark, say, wholeOption } from "./run";
import { BENCH_PORTS, type BenchStack } from "./stack";
import { ensureWrk, runWrk, type LoadFigures } from "./wrk";

const SECOND_GATEWAY_PORT = 23001;
const HELP = `Usage: npm run bench:catalogue [-- options]

Registers generated services (each a document of its own, all answered by one provider of the
bench's own on port ${PROVIDER_PORT}) over REST and reports: the time to register them all; the
time until one more registration answers on every gateway (two on PostgreSQL: a second
gateway node joins on port ${SECOND_GATEWAY_PORT}; one on PGlite, which has one process); the
gateway's heap and RSS per 1,000 operations it has compiled; the route lookup's median (in
this process, over every document); the mediated GET's p50 at 1 connection with the first
few services loaded and with all of them, beside the provider called directly.
  --services N     services to register (default 500)
  --operations N   operations per service (default 10)
  --seconds N      seconds per latency measurement (default 10)
  --pglite         run the hub on embedded PGlite (as npm start does), state in .data/bench-pglite
  --json           print the figures as JSON
Starts its own stack: ${BENCH_PORTS}, PostgreSQL database linkage_hub_bench (DATABASE_URL
overrides), state in .data/bench.`;

interface Options {
  services: number;
  operations: number;
  seconds: number;
  pglite: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { services: 500, operations: 10, seconds: 10, pglite: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--pglite") opts.pglite = true;
    else if (arg === "--services") opts.services = wholeOption("services", argv[++i], 6, 5000);
    else if (arg === "--operations") opts.operations = wholeOption("operations", argv[++i], 2, 200);
    else if (arg === "--seconds") opts.seconds = wholeOption("seconds", argv[++i], 1, 600);
    else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

const FEW = 5;
const round = (n: number, places = 1) => Math.round(n * 10 ** places) / 10 ** places;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** Registers services `from`..`to - 1`, four at a time; each registration's milliseconds. */
async function registerRange(stack: BenchStack, opts: Options, ids: string[], from: number, to: number): Promise<number[]> {
  const took: number[] = [];
  let next = from;
  const lane = async () => {
    for (let n = next++; n < to; n = next++) {
      const started = performance.now();
      ids[n] = await registerService(stack, `scale-${stack.run}-${n}`, generatedDocument(n, opts.operations));
      took.push(performance.now() - started);
      if ((n + 1) % 100 === 0) say(`registered ${n + 1} of ${opts.services}`);
    }
  };
  await Promise.all([lane(), lane(), lane(), lane()]);
  return took;
}

const personPath = (gateway: string, id: string) => `${gateway}/r1/${id}/persons/${BENCH_PERSON.idNumber}`;
const callHeaders = (stack: BenchStack) => ({ ...stack.auth, "data-purpose": "identity-verification" });

/** One mediated GET of each service on the gateway, so it has compiled them all. */
async function touchAll(stack: BenchStack, gateway: string, ids: string[]): Promise<void> {
  for (const id of ids) {
    const res = await fetch(personPath(gateway, id), { headers: callHeaders(stack) });
    if (res.status !== 200) throw new Error(`${gateway}: ${id} answered ${res.status}: ${await res.text()}`);
  }
}

/** The gateway's heap in use and resident memory, in MiB, from its /metrics (the least of three readings a second apart). */
async function memoryOf(gateway: string): Promise<{ heapMiB: number; rssMiB: number }> {
  const readings: { heapMiB: number; rssMiB: number }[] = [];
  for (let i = 0; i < 3; i++) {
    const text = await (await fetch(`${gateway}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, "m").exec(text)?.[1]) / 2 ** 20;
    readings.push({ heapMiB: value("nodejs_heap_size_used_bytes"), rssMiB: value("process_resident_memory_bytes") });
    await new Promise((r) => setTimeout(r, 1000));
  }
  return { heapMiB: Math.min(...readings.map((r) => r.heapMiB)), rssMiB: Math.min(...readings.map((r) => r.rssMiB)) };
}

/** From one more registration's answer until a mediated call of it answers 200 on each gateway, in ms. */
async function visibility(stack: BenchStack, opts: Options, gateways: string[]): Promise<{ registerMs: number; visibleMs: number[] }> {
  const started = performance.now();
  const id = await registerService(stack, `scale-${stack.run}-late`, generatedDocument(opts.services, opts.operations));
  const registered = performance.now();
  const visibleMs = await Promise.all(
    gateways.map(async (gateway) => {
      for (;;) {
        const res = await fetch(personPath(gateway, id), { headers: callHeaders(stack) });
        await res.arrayBuffer();
        if (res.status === 200) return round(performance.now() - registered);
        if (performance.now() - registered > 120_000) throw new Error(`${id} not visible on ${gateway} after 120 s (last answer ${res.status})`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }),
  );
  return { registerMs: round(registered - started), visibleMs };
}

/** The route lookup, in this process: every document read and indexed, then lookups of random operations; median ns. */
function routeLookup(opts: Options): { indexMsPerService: number; lookupMedianNs: number } {
  const started = performance.now();
  const services = new Map<string, RouteIndex>();
  for (let n = 0; n < opts.services; n++) services.set(`service-${n}`, new RouteIndex(readServiceDocument(generatedDocument(n, opts.operations)).operations));
  const indexMsPerService = round((performance.now() - started) / opts.services, 3);
  const samples: number[] = [];
  for (let i = 0; i < 100_000; i++) {
    const n = i % opts.services;
    const k = (i * 7) % Math.max(1, Math.floor((opts.operations - 2) / 2));
    const segments = safeSegments(`/registers-${n}/records-${k}/R-${i}`);
    const t = process.hrtime.bigint();
    services.get(`service-${n}`)!.match("GET", segments);
    samples.push(Number(process.hrtime.bigint() - t));
  }
  return { indexMsPerService, lookupMedianNs: median(samples) };
}

interface Result {
  database: BenchStack["database"];
  services: number;
  operations: number;
  gateways: number;
  register: { totalS: number; p50Ms: number; p95Ms: number };
  visibility: { registerMs: number; visibleMs: number[] };
  memory: { before: { heapMiB: number; rssMiB: number }; after: { heapMiB: number; rssMiB: number }; heapMiBPer1000Ops: number; rssMiBPer1000Ops: number };
  route: { indexMsPerService: number; lookupMedianNs: number };
  p50Ms: { providerAlone: LoadFigures; mediatedFew: LoadFigures; mediatedAll: LoadFigures };
}

async function secondGateway(stack: BenchStack): Promise<Managed | undefined> {
  if (stack.database === "PGlite") return undefined;
  const env = { ...process.env, ...stack.env, HUB_SERVICES: "api", HUB_PORT: String(SECOND_GATEWAY_PORT) };
  return startHubNode("gateway-2", env, `http://127.0.0.1:${SECOND_GATEWAY_PORT}/readyz`, path.join(stack.dataDir, "logs"));
}

async function measure(stack: BenchStack, opts: Options): Promise<Result> {
  const wrk = await ensureWrk(say);
  const provider = await startProvider(stack.dataDir);
  const second = await secondGateway(stack).catch(async (err) => (await provider.stop(), Promise.reject(err)));
  const gateways = [stack.api, ...(second ? [`http://127.0.0.1:${SECOND_GATEWAY_PORT}`] : [])];
  const measured = gateways.at(-1)!;
  const latency = (url: string, headers?: Record<string, string>) => runWrk(wrk, { url, headers }, 1, opts.seconds, path.join(stack.dataDir, "wrk"));
  try {
    const ids: string[] = [];
    const took = await registerRange(stack, opts, ids, 0, FEW);
    for (const gateway of gateways) await touchAll(stack, gateway, ids);
    say(`${FEW} services: the provider alone, then the mediated GET (${opts.seconds} s each)`);
    const providerAlone = await latency(`http://127.0.0.1:${PROVIDER_PORT}/persons/${BENCH_PERSON.idNumber}`);
    const mediatedFew = await latency(personPath(measured, ids[0]!), callHeaders(stack));
    const before = await memoryOf(measured);
    const started = performance.now();
    took.push(...(await registerRange(stack, opts, ids, FEW, opts.services)));
    const totalS = round((performance.now() - started) / 1000 + took.slice(0, FEW).reduce((a, b) => a + b, 0) / 1000);
    say(`all ${opts.services} registered in ${totalS} s; each gateway calls each service once`);
    for (const gateway of gateways) await touchAll(stack, gateway, ids);
    const after = await memoryOf(measured);
    const mediatedAll = await latency(personPath(measured, ids[0]!), callHeaders(stack));
    const thousands = ((opts.services - FEW) * opts.operations) / 1000;
    const sorted = [...took].sort((a, b) => a - b);
    return {
      ...{ database: stack.database, services: opts.services, operations: opts.services * opts.operations, gateways: gateways.length },
      register: { totalS, p50Ms: round(median(took)), p95Ms: round(sorted[Math.floor(sorted.length * 0.95)]!) },
      visibility: await visibility(stack, opts, gateways),
      memory: {
        before,
        after,
        heapMiBPer1000Ops: round((after.heapMiB - before.heapMiB) / thousands, 2),
        rssMiBPer1000Ops: round((after.rssMiB - before.rssMiB) / thousands, 2),
      },
      route: routeLookup(opts),
      p50Ms: { providerAlone, mediatedFew, mediatedAll },
    };
  } finally {
    await second?.stop();
    await provider.stop();
  }
}

function report(r: Result): void {
  console.log(`\nHub on ${r.database}; ${r.services} services with ${r.operations} operations in all; ${r.gateways} gateway(s)`);
  console.log(
    `registering them all (4 at a time, each with its access grant): ${r.register.totalS} s; each: p50 ${r.register.p50Ms} ms, p95 ${r.register.p95Ms} ms`,
  );
  console.log(
    `one more registration (${r.visibility.registerMs} ms with its grant) answers on every gateway after: ${r.visibility.visibleMs.join(" ms, ")} ms`,
  );
  const m = r.memory;
  console.log(
    `gateway memory, ${FEW} services compiled -> all: heap ${round(m.before.heapMiB)} -> ${round(m.after.heapMiB)} MiB, RSS ${round(m.before.rssMiB)} -> ${round(m.after.rssMiB)} MiB`,
  );
  console.log(`  per 1,000 operations: heap ${m.heapMiBPer1000Ops} MiB, RSS ${m.rssMiBPer1000Ops} MiB`);
  console.log(
    `route lookup (in process, ${r.services} indexes): median ${r.route.lookupMedianNs} ns; reading and indexing a document: ${r.route.indexMsPerService} ms`,
  );
  const p = r.p50Ms;
  console.log(
    `GET p50 at 1 connection: provider alone ${p.providerAlone.p50Ms} ms; mediated with ${FEW} services ${p.mediatedFew.p50Ms} ms, with ${r.services} ${p.mediatedAll.p50Ms} ms`,
  );
}

runBenchmark({
  help: HELP,
  parse: parseArgs,
  measure,
  report,
  succeeded: (r) => Object.values(r.p50Ms).every((f) => f.failed === 0),
});
