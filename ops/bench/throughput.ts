/**
 * `npm run bench:throughput`: the hub's sync path beside its floor, on PostgreSQL and then on
 * PGlite, in one run (issue 17). Each database gets a stack of its own with the floor beside
 * the hub; the hub logs at `npm start`'s level (info) to a file, as `npm start` does.
 */
import fs from "node:fs";
import path from "node:path";
import { summariseProfile, type CpuProfile, type ProfileSummary } from "./cpu-profile";
import { measureDatabase, newestProfile, type DatabaseFigures } from "./throughput-measure";
import { printTable } from "./throughput-report";
import { say, wholeOption } from "./run";
import { BENCH_PORTS, startBenchStack, type BenchStack } from "./stack";
import { ensureWrk } from "./wrk";
import { FLOOR_PORT, stopFloors } from "./floor";

const ROOT = path.resolve(__dirname, "../..");

const HELP = `Usage: npm run bench:throughput [-- options]

The hub's sync path beside the least a gateway → NATS → action → sandbox pipeline can do
(the floor, ops/bench/floor.ts), measured with wrk in the same run, on PostgreSQL and then on
the embedded PGlite \`npm start\` runs, each in a stack of its own with the hub at LOG_LEVEL=info:
  - the hub's POST /v1/identity-verifications at 1 and 32 connections, and the same
    verification over the NATS service (hub.v1.civil-registry.identity.verify, a plain nats
    client) at 1 and 32 requests in flight
  - the floor at 1 and 32, the floor answering from memory, the civil-registry sandbox alone
  - the hub's GET /v1/linkages/{id} (one linkage) at 32 connections
  - the hub at the fewest connections (1, 2, 4...) giving half its 32-connection req/s: its p99
  - the marriage linkage's median (as bench:linkages times it) without and with one partner
    polling one linkage's status every 20 ms
req/s, p50, p99, and CPU ms per request of the hub node only (the floor: its two processes),
read from /proc; then the ratios (hub/floor, PGlite/PostgreSQL) against the issue's targets.
  --quick          3 s per load, 1 round and 10 linkages each way (about 1.5 minutes per database)
  --rounds N       rounds of the hub and then the floor at 32 connections (default 3): the
                   ratios at 32 are the median of the rounds' ratios, the table's rows the
                   rounds with the median req/s
  --seconds N      seconds per load (default 15)
  --linkages N     linkages timed without and with the polling partner, each (default 30)
  --only DB        postgres or pglite: one database only
  --profile DIR    run the hub node under V8's CPU profiler (figures then carry its overhead);
                   prints the top 15 functions by self time over the 32-connection load;
                   the .cpuprofile files stay in DIR/postgres and DIR/pglite
  --json           print the figures as JSON
Starts its own stacks: ${BENCH_PORTS}, the floor on ${FLOOR_PORT};
PostgreSQL database linkage_hub_bench (DATABASE_URL overrides), state in .data/bench and
.data/bench-pglite (hub log: logs/hub.log there). The machine should be otherwise idle.`;

export interface Options {
  seconds: number;
  linkages: number;
  rounds: number;
  only?: "postgres" | "pglite";
  profile?: string;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { seconds: 15, linkages: 30, rounds: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    else if (arg === "--json") opts.json = true;
    else if (arg === "--quick") Object.assign(opts, { seconds: 3, linkages: 10, rounds: 1 });
    else if (arg === "--seconds") opts.seconds = wholeOption("seconds", argv[++i], 1, 600);
    else if (arg === "--linkages") opts.linkages = wholeOption("linkages", argv[++i], 1, 1000);
    else if (arg === "--rounds") opts.rounds = wholeOption("rounds", argv[++i], 1, 9);
    else if (arg === "--profile") opts.profile = path.resolve(argv[++i] ?? "");
    else if (arg === "--only") {
      const db = argv[++i];
      if (db !== "postgres" && db !== "pglite") throw new Error("--only takes postgres or pglite");
      opts.only = db;
    } else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

export interface Result {
  databases: (DatabaseFigures & { profile?: ProfileSummary })[];
}

/** The stack of the database being measured, or its start in progress (for a Ctrl-C to stop). */
let current: Promise<BenchStack> | undefined;

/** On SIGINT/SIGTERM: the stack once it has started (its start is not cut short), then the floor, then exit. */
async function interrupted(): Promise<never> {
  await stopFloors();
  const stack = await current?.catch(() => undefined);
  await stack?.stop();
  await stopFloors();
  process.exit(130);
}

/** One database: its stack (under the profiler if asked), the measures, the stack stopped, the profile read. */
async function onDatabase(db: "postgres" | "pglite", wrk: string, opts: Options): Promise<Result["databases"][number]> {
  const profileDir = opts.profile && path.join(opts.profile, db);
  const hubNodeArgs = profileDir ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : undefined;
  // A profile left by an earlier run must not pass for this one's.
  if (profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
  current = startBenchStack(say, { pglite: db === "pglite", logLevel: "info", hubNodeArgs });
  const stack = await current;
  let figures: DatabaseFigures;
  try {
    figures = await measureDatabase(stack, wrk, { seconds: opts.seconds, linkages: opts.linkages, rounds: opts.rounds, say });
  } finally {
    await stack.stop();
    current = undefined;
  }
  const file = profileDir && newestProfile(profileDir);
  if (profileDir && !file) throw new Error(`the hub node wrote no CPU profile in ${profileDir}`);
  if (!file) return figures;
  say(`${figures.database}: CPU profile ${file}`);
  const profile = summariseProfile(JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile, { top: 15, root: ROOT, window: figures.profileWindow });
  return { ...figures, profile };
}

const loadsOf = (d: DatabaseFigures) => [
  d.hub.one,
  ...d.rounds.flatMap((r) => [r.hub, r.floor]),
  d.floor.one,
  d.memory.one,
  d.memory.many,
  d.sandbox.one,
  d.sandbox.many,
  d.statusReads,
  d.halfMax,
];

/** Every call answered: no failed request in any load, no failed linkage or poll, and some requests in each load. */
export const succeeded = (r: Result) =>
  r.databases.length > 0 &&
  r.databases.every((d) => loadsOf(d).every((l) => l.failed === 0 && l.requests > 0) && d.polling.failed + d.polling.pollsFailed === 0);

async function main(): Promise<number> {
  let opts: Options | "help";
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    return (console.error(`${(err as Error).message}\n\n${HELP}`), 2);
  }
  if (opts === "help") return (console.log(HELP), 0);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => void interrupted());
  try {
    const wrk = await ensureWrk(say);
    const result: Result = { databases: [] };
    for (const db of ["postgres", "pglite"] as const) if (!opts.only || opts.only === db) result.databases.push(await onDatabase(db, wrk, opts));
    if (opts.json) console.log(JSON.stringify(result, null, 2));
    else printTable(result, opts);
    return succeeded(result) ? 0 : 1;
  } catch (err) {
    console.error(err);
    return 1;
  }
}

void main().then((code) => process.exit(code));
