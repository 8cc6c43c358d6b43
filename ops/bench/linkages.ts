/**
 * `npm run bench:linkages`: how fast a marriage linkage runs on the local stack, against a
 * no-op workflow of the same shape measured in the same run. Starts a stack of its own
 * (ports and state apart from `npm start` and `npm test`), seeds couples with the test-data
 * tool, and prints p50, p95 and throughput. Figures are reported, never asserted.
 */
import { seedCitizens } from "../seed-citizens";
import { noopWorkflows } from "./noop-workflows";
import { couples, marriages } from "./marriages";
import { burst, figures, printFigures, sequential, type Figures } from "./measure";
import { runBenchmark, say } from "./run";
import { BENCH_PORTS, type BenchStack } from "./stack";
import { measureSyncPath, type SyncPathFigures } from "./sync-path";
import { codecCost, type CodecCost } from "./codec-cost";

const HELP = `Usage: npm run bench:linkages [-- options]

Measures marriage linkages (both applicants without an e-ID) from the REST start to the
final status, and a no-op workflow of the same shape started on Temporal directly; then the
sync path (identity verifications one at a time) and what its audit record adds to it; then
the linkages again with the payload codec on and off (halves in the order on, off, off, on;
the hub node restarted with HUB_PAYLOAD_CODEC=off, a setting for benchmarks only, and back),
to price the encryption.
  --sequential N   linkages run one after another for p50/p95 (default 50)
  --burst N        linkages started at once for throughput (default 200)
  --pglite         the hub on the embedded PGlite \`npm start\` runs, not PostgreSQL (no sync path)
  --json           print the figures as JSON
Starts its own stack: ${BENCH_PORTS},
PostgreSQL database linkage_hub_bench (DATABASE_URL overrides), state in .data/bench.
Targets: linkage median under 600 ms, within 2x of the no-op median; with the codec, p50 and
throughput within 10 % of those without it.`;

interface Options {
  sequential: number;
  burst: number;
  json: boolean;
  pglite: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { sequential: 50, burst: 200, json: false, pglite: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--pglite") opts.pglite = true;
    else if (arg === "--sequential" || arg === "--burst") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1 || n > 5000) throw new Error(`${arg} takes a whole number from 1 to 5000`);
      opts[arg === "--burst" ? "burst" : "sequential"] = n;
    } else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

interface Pair {
  sequential: Figures;
  burst: Figures;
}

interface Result {
  database: string;
  linkage: Pair;
  noop: Pair;
  ratio: number;
  /** On PostgreSQL only. */
  syncPath?: SyncPathFigures;
  /** The same linkages with the payload codec on and off (interleaved: on, off, off, on). */
  codec: { off: Pair; on: Pair; p50Ratio: number; throughputRatio: number; cost: CodecCost };
}

/**
 * The linkages with the hub's codec on and off, in four halves ordered on, off, off, on (the
 * hub restarted between modes), each mode's latencies pooled: a drift over the run (Temporal's
 * growing database, the machine's other load) weighs on both modes alike.
 */
async function codecComparison(stack: BenchStack, opts: Options, marry: ReturnType<typeof marriages>): Promise<Result["codec"]> {
  const fresh = () => ({ ms: [] as number[], failed: 0, burstMs: [] as number[], burstFailed: 0, wall: 0 });
  const mode = { on: fresh(), off: fresh() };
  let running: "on" | "off" = "on";
  for (const codec of ["on", "off", "off", "on"] as const) {
    if (codec !== running) {
      say(`hub node restarted with HUB_PAYLOAD_CODEC=${codec}`);
      await stack.restartHub({ HUB_PAYLOAD_CODEC: codec });
      for (let i = 0; i < 3; i++) await marry(5)();
      running = codec;
    }
    const m = mode[codec];
    say(`codec ${codec}: ${CODEC_HALF(opts.sequential)} one after another, then ${CODEC_HALF(opts.burst)} at once`);
    for (let i = 0; i < CODEC_HALF(opts.sequential); i++) {
      const r = await marry(5)();
      if (r.ok) m.ms.push(r.ms);
      else m.failed++;
    }
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: CODEC_HALF(opts.burst) }, marry(50)));
    m.wall += performance.now() - t0;
    for (const r of results) if (r.ok) m.burstMs.push(r.ms);
    m.burstFailed += results.filter((r) => !r.ok).length;
  }
  const pair = (m: ReturnType<typeof fresh>): Pair => ({ sequential: figures(m.ms, m.failed), burst: figures(m.burstMs, m.burstFailed, m.wall) });
  const [on, off] = [pair(mode.on), pair(mode.off)];
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  // The run's first linkage (a warm-up, the codec on): its payloads, encrypted and decrypted again here.
  const cost = await codecCost(stack.env, `marriage-registration:BENCH-${stack.run}-1`);
  return {
    off,
    on,
    p50Ratio: ratio(on.sequential.p50Ms, off.sequential.p50Ms),
    throughputRatio: ratio(on.burst.perSecond ?? 0, off.burst.perSecond ?? 1),
    cost,
  };
}

/** Each of the codec comparison's four halves: half the main run's count. */
const CODEC_HALF = (n: number) => Math.ceil(n / 2);

async function measure(stack: BenchStack, opts: Options): Promise<Result> {
  // The main run, then the codec comparison's four halves and two warm-ups.
  const wanted = 3 + opts.sequential + opts.burst + 4 * (CODEC_HALF(opts.sequential) + CODEC_HALF(opts.burst)) + 6;
  say(`seeding ${wanted} couples with the test-data tool`);
  const citizens = await seedCitizens({ count: Math.ceil(wanted * 2.4), json: true, minAge: 30, maxAge: 60 }, stack.env);
  const pairs = couples(citizens);
  if (pairs.length < wanted) throw new Error(`the test-data tool gave ${pairs.length} couples, ${wanted} wanted`);
  const marry = marriages(stack, pairs);
  const noop = await noopWorkflows(stack, "noopMarriage");
  try {
    say("warming up (3 linkages, 3 no-op workflows)");
    for (let i = 0; i < 3; i++) await marry(5)();
    for (let i = 0; i < 3; i++) await noop.attempt();
    const linkage = {
      sequential: await sequential("marriage linkage", opts.sequential, marry(5), say),
      burst: await burst("marriage linkage", opts.burst, marry(50), say),
    };
    const noops = {
      sequential: await sequential("no-op workflow", opts.sequential, noop.attempt, say),
      burst: await burst("no-op workflow", opts.burst, noop.attempt, say),
    };
    // The sync path's audit appends are timed on the hub's PostgreSQL database; PGlite belongs to the hub's process.
    if (stack.db) say(`sync path: ${opts.sequential * 4} identity verifications one at a time, and as many audit appends`);
    const him = pairs.map(([m]) => m);
    const syncPath = stack.db ? await measureSyncPath(stack, him, opts.sequential * 4) : undefined;
    const ratio = Math.round((linkage.sequential.p50Ms / noops.sequential.p50Ms) * 100) / 100;
    const codec = await codecComparison(stack, opts, marry);
    return { database: stack.database, linkage, noop: noops, ratio, syncPath, codec };
  } finally {
    await noop.stop();
  }
}

function report(result: Result, opts: Options): void {
  printFigures([
    ["marriage linkage, one at a time", result.linkage.sequential],
    [`marriage linkage, ${opts.burst} at once`, result.linkage.burst],
    ["no-op workflow, one at a time", result.noop.sequential],
    [`no-op workflow, ${opts.burst} at once`, result.noop.burst],
    ["codec off, one at a time", result.codec.off.sequential],
    [`codec off, ${opts.burst} at once`, result.codec.off.burst],
    ["codec on, one at a time", result.codec.on.sequential],
    [`codec on, ${opts.burst} at once`, result.codec.on.burst],
  ]);
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");
  const { linkage, ratio, syncPath } = result;
  console.log(`\nmedian ${linkage.sequential.p50Ms} ms (target under 600 ms): ${verdict(linkage.sequential.p50Ms < 600)}`);
  console.log(`${ratio}x the no-op workflow's median (target within 2x): ${verdict(ratio <= 2)}`);
  console.log(`${opts.burst} started at once: ${linkage.burst.count} completed, ${linkage.burst.failed} did not`);
  if (syncPath) {
    console.log(`\nsync path (POST /v1/identity-verifications, ${syncPath.calls} calls): p50 ${syncPath.p50Ms} ms, p99 ${syncPath.p99Ms} ms`);
    console.log(`of which the audit record (one chained append before the answer): p50 ${syncPath.auditAppendP50Ms} ms, p99 ${syncPath.auditAppendP99Ms} ms`);
  } else console.log("\nsync path: measured on PostgreSQL only (run without --pglite)");
  const { p50Ratio, throughputRatio, cost } = result.codec;
  console.log(
    `\npayload codec on vs off (${result.database}): p50 ${p50Ratio}x, throughput ${throughputRatio}x (target within 10 %): ${verdict(p50Ratio <= 1.1 && throughputRatio >= 0.9)}`,
  );
  console.log(
    `the codec's own work for one marriage linkage (${cost.payloads} payloads, ${cost.bytes} bytes): ${cost.msPerLinkage} ms to encrypt and decrypt them all`,
  );
}

runBenchmark({
  help: HELP,
  parse: parseArgs,
  measure,
  report,
  succeeded: (r) => [r.linkage, r.codec.off, r.codec.on].every((p) => p.burst.failed + p.sequential.failed === 0),
});
