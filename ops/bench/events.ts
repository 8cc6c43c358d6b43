/**
 * `npm run bench:events`: the hub's event pipeline beside raw JetStream with the same side
 * effect, in one run, on a NATS and a database of the bench's own (never the bench stack's
 * ports, so it can run beside the other benchmarks). Figures are reported, never asserted.
 */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { openDb, type Db } from "../../platform/db";
import { migrateHub } from "../../hub/schema";
import { startNats, localDatabaseUrl } from "../stack/services";
import { stackCredsFile } from "../../platform/nats-auth";
import { MissingPieceError } from "../stack/provision";
import { tcpReachable, type Managed } from "../stack/processes";
import { quantileMs } from "./measure";
import { wholeOption } from "./run";
import { hubPath, prepareEffects, rawPath, type EventPath } from "./event-paths";
import { startPublisher } from "./event-publisher";

const ROOT = path.resolve(__dirname, "../..");
const DATA_DIR = path.join(ROOT, ".data/bench-events");
const NATS_URL = "nats://127.0.0.1:25222";
const DATABASE = "linkage_hub_bench_events";
const say = (line: string) => console.error(`[bench:events] ${line}`);

const HELP = `Usage: npm run bench:events [-- options]

Measures, in one run, the hub's event pipeline (EventBus.publish with many in flight → a
consumer group of platform/events/consumer.ts → one row inserted per event in the handler's
transaction with its handled-event record) beside raw JetStream (js.publish with as many in
flight → a pull consumer → the same insert, one transaction per message → ack). Reports each
path's events/s end to end (first publish to last commit), the hub/raw ratio, p50/p99 from an
event's creation to its effect's commit at full speed, and p50/p99 when both publish at a
fixed rate of half the hub's measured maximum.
  --events N       events per full-speed measurement (default 20000)
  --in-flight N    publishes in flight (default 64)
  --seconds N      seconds of the fixed-rate measurement (default 5)
  --database D     postgres, pglite or both (default both)
  --nats-url URL   a NATS with JetStream to use (default: the bench's own at ${NATS_URL},
                   started for the run, state in .data/bench-events); no hub may consume from it
  --quick          a short run (2000 events, 2 seconds at the fixed rate)
  --json           print the figures as JSON
PostgreSQL: the database ${DATABASE} on the local cluster, recreated for each run (DATABASE_URL
is not used). PGlite: embedded, as npm start runs it, in .data/bench-events/pglite.`;

interface Options {
  events: number;
  inFlight: number;
  seconds: number;
  databases: ("postgres" | "pglite")[];
  natsUrl?: string;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { events: 20_000, inFlight: 64, seconds: 5, databases: ["postgres", "pglite"], json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--quick") Object.assign(opts, { events: 2000, seconds: 2 });
    else if (arg === "--events") opts.events = wholeOption("events", argv[++i], 100, 1_000_000);
    else if (arg === "--in-flight") opts.inFlight = wholeOption("in-flight", argv[++i], 1, 10_000);
    else if (arg === "--seconds") opts.seconds = wholeOption("seconds", argv[++i], 1, 600);
    else if (arg === "--nats-url") opts.natsUrl = argv[++i] ?? "";
    else if (arg === "--database") {
      const d = argv[++i];
      if (d !== "postgres" && d !== "pglite" && d !== "both") throw new Error("--database takes postgres, pglite or both");
      opts.databases = d === "both" ? ["postgres", "pglite"] : [d];
    } else throw new Error(`unknown option ${arg}`);
  }
  if (opts.natsUrl === "") throw new Error("--nats-url takes a URL");
  return opts;
}

interface FullSpeed {
  perSecond: number;
  publishPerSecond: number;
  p50Ms: number;
  p99Ms: number;
}
interface AtRate {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

const round = (n: number) => Math.round(n * 10) / 10;

type PublisherThread = Awaited<ReturnType<typeof startPublisher>>;

/** `count` publishes, `inFlight` at a time, then every effect committed. */
async function fullSpeed(p: EventPath, publisher: PublisherThread, count: number, inFlight: number): Promise<FullSpeed> {
  p.effects.reset();
  const { startedAt, publishedAt } = await publisher.send({ kind: "full", count, inFlight });
  await p.effects.until(count, 120_000 + count * 10);
  const { latencies, lastAt } = p.effects;
  return {
    perSecond: round(count / ((lastAt - startedAt) / 1000)),
    publishPerSecond: round(count / ((publishedAt - startedAt) / 1000)),
    p50Ms: quantileMs(latencies, 0.5),
    p99Ms: quantileMs(latencies, 0.99),
  };
}

/** Publishes at `rate` a second for `seconds` (not waiting for acknowledgements), then every effect committed. */
async function atRate(p: EventPath, publisher: PublisherThread, rate: number, seconds: number): Promise<AtRate> {
  p.effects.reset();
  const { count } = await publisher.send({ kind: "rate", rate, seconds });
  await p.effects.until(count, 120_000);
  const { latencies } = p.effects;
  return { perSecond: round(count / seconds), p50Ms: quantileMs(latencies, 0.5), p99Ms: quantileMs(latencies, 0.99) };
}

interface DatabaseFigures {
  database: "PostgreSQL" | "PGlite";
  events: number;
  inFlight: number;
  hub: FullSpeed;
  raw: FullSpeed;
  /** Hub events/s ÷ raw events/s, end to end. */
  ratio: number;
  halfRate: { rate: number; hub: AtRate; raw: AtRate };
  /** Each path's rows equal the events it published: no effect lost or doubled. */
  exactlyOnce: boolean;
}

async function openBenchDb(database: "postgres" | "pglite"): Promise<Db> {
  if (database === "pglite") {
    const dir = path.join(DATA_DIR, "pglite");
    fs.rmSync(dir, { recursive: true, force: true });
    return openDb({ pgliteDir: dir });
  }
  return openDb({ url: await localDatabaseUrl(say, true, DATABASE), pgliteDir: "" });
}

type Pair<T> = Record<"hub" | "raw", T>;

/** Full speed through each, then half the hub's maximum through each; the figures, and whether every event was acted on exactly once. */
async function measurePaths(label: string, paths: Pair<EventPath>, publishers: Pair<PublisherThread>, opts: Options): Promise<DatabaseFigures> {
  const { hub, raw } = paths;
  const warm = Math.min(1000, opts.events);
  for (const p of [hub, raw]) await fullSpeed(p, publishers[p.name], warm, opts.inFlight);
  say(`${label}: ${opts.events} events through the hub, ${opts.inFlight} in flight`);
  const hubFull = await fullSpeed(hub, publishers.hub, opts.events, opts.inFlight);
  say(`${label}: ${opts.events} events through raw JetStream, ${opts.inFlight} in flight`);
  const rawFull = await fullSpeed(raw, publishers.raw, opts.events, opts.inFlight);
  const rate = Math.max(1, Math.round(hubFull.perSecond / 2));
  say(`${label}: ${rate} events/s for ${opts.seconds} s through each`);
  const halfRate = { rate, hub: await atRate(hub, publishers.hub, rate, opts.seconds), raw: await atRate(raw, publishers.raw, rate, opts.seconds) };
  const expected = warm + opts.events + Math.max(1, Math.round(rate * opts.seconds));
  const exactlyOnce = (await hub.stored()) === expected && (await raw.stored()) === expected;
  const ratio = Math.round((hubFull.perSecond / rawFull.perSecond) * 100) / 100;
  return {
    database: label as DatabaseFigures["database"],
    events: opts.events,
    inFlight: opts.inFlight,
    hub: hubFull,
    raw: rawFull,
    ratio,
    halfRate,
    exactlyOnce,
  };
}

async function measureOn(database: "postgres" | "pglite", natsUrl: string, opts: Options): Promise<DatabaseFigures> {
  const db = await openBenchDb(database);
  const paths: EventPath[] = [];
  const publishers: PublisherThread[] = [];
  try {
    await migrateHub(db);
    await prepareEffects(db);
    const run = randomBytes(3).toString("hex");
    paths.push(await hubPath(natsUrl, db, run), await rawPath(natsUrl, db, run));
    publishers.push(await startPublisher("hub", natsUrl, run), await startPublisher("raw", natsUrl, run));
    const label = database === "pglite" ? "PGlite" : "PostgreSQL";
    return await measurePaths(label, { hub: paths[0]!, raw: paths[1]! }, { hub: publishers[0]!, raw: publishers[1]! }, opts);
  } finally {
    for (const p of publishers) await p.close();
    for (const p of paths) await p.stop().catch((err) => say(`stopping the ${p.name} path: ${(err as Error).message}`));
    await db.close();
  }
}

function report(all: DatabaseFigures[]): void {
  const row = (cells: (string | number)[]) => console.log(`| ${cells.join(" | ")} |`);
  console.log(`\nEvents: publish → consume → one row per event (full speed: events/s first publish to last commit; latency: creation → commit)\n`);
  row(["database", "path", "events/s", "publishes/s", "p50 ms", "p99 ms", "at half the hub's max", "p50 ms", "p99 ms"]);
  row(["---", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]);
  for (const f of all)
    for (const name of ["hub", "raw"] as const) {
      const [full, rate] = [f[name], f.halfRate[name]];
      row([f.database, name, full.perSecond, full.publishPerSecond, full.p50Ms, full.p99Ms, `${f.halfRate.rate}/s`, rate.p50Ms, rate.p99Ms]);
    }
  console.log("");
  for (const f of all)
    console.log(`${f.database}: hub ÷ raw = ${f.ratio}×; ${f.exactlyOnce ? "every event acted on exactly once" : "EFFECTS LOST OR DOUBLED"}`);
}

async function main(): Promise<number> {
  let opts: Options | "help";
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (opts === "help") return (console.log(HELP), 0);
  let nats: Managed | undefined;
  try {
    // A fresh store, unless a NATS already listens there (then it is used as it is).
    if (!opts.natsUrl && !(await tcpReachable("127.0.0.1", 25222))) fs.rmSync(path.join(DATA_DIR, "nats"), { recursive: true, force: true });
    nats = opts.natsUrl ? undefined : await startNats(NATS_URL, DATA_DIR, say);
    // Its own NATS: the connections (here and in the publisher threads) use the stack's user.
    if (!opts.natsUrl) process.env.NATS_CREDS = stackCredsFile(DATA_DIR);
    const all: DatabaseFigures[] = [];
    for (const database of opts.databases) all.push(await measureOn(database, opts.natsUrl ?? NATS_URL, opts));
    if (opts.json) console.log(JSON.stringify(all, null, 2));
    else report(all);
    return all.every((f) => f.exactlyOnce) ? 0 : 1;
  } catch (err) {
    console.error(err instanceof MissingPieceError ? `\n${err.message}\n` : err);
    return 1;
  } finally {
    await nats?.stop();
  }
}

void main().then((code) => process.exit(code));
