/**
 * `npm run bench:crowd`: key places' crowd counts at the rate of thousands of devices, through the
 * hub's crowd watch to its level events and dispatch linkages, beside the floor (a bare
 * JetStream consumer of the same counts) measured in the same run. Reported, never asserted.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { connect, credsAuthenticator } from "nats";
import { loadConfig } from "../../platform/config";
import { natsAuth, natsAuthDir, natsServers } from "../../platform/nats-auth";
import { randomUUID } from "node:crypto";
import { rectangle } from "../../sandbox-kit/venues";
import { CAPACITY, benchPlaces, deviceId, floorConsumer, publishCounts, watchLevels, type LagFigures, type Published, type Wave } from "./crowd-load";
import { runBenchmark, say, wholeOption } from "./run";
import { BENCH_PORTS, type BenchStack } from "./stack";
import { cpuMs } from "./wrk";

const ROOT = path.resolve(__dirname, "../..");

const HELP = `Usage: npm run bench:crowd [-- options]

Registers N key places of capacity ${CAPACITY} with one counting device each (npx linkage-hub
devices import), then publishes each device's count once a second for S seconds as a device
user of NATS would, on counts.<place>.<device>. Each place's count rises into warning and falls
back on a wave of its own (two level changes per period), and the first K places turn critical
one a second from second 10, which starts their dispatch linkages. Reports the counts the hub
handled per second, the lag from a count's \`at\` to its crowd.level.changed event (p50, p99,
and per 10 s, to see whether it grows), the time from a critical count to its dispatch linkage
started, the hub's CPU; and the floor: a bare JetStream consumer's lag from \`at\` to delivery of
the same counts, in the same run.
  --places N     key places, one device each (default 10000)
  --seconds S    seconds of counts (default 60)
  --period P     seconds of each place's wave (default 30: 2N/P level changes a second)
  --critical K   places that turn critical (default 10)
  --pglite       the hub on embedded PGlite, as npm start runs it (default PostgreSQL)
  --quick        1000 places for 15 seconds
  --json         print the figures as JSON
Starts its own stack: ${BENCH_PORTS},
PostgreSQL database linkage_hub_bench (DATABASE_URL overrides), state in .data/bench.`;

interface Options extends Wave {
  seconds: number;
  pglite: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { places: 10_000, seconds: 60, period: 30, critical: 10, pglite: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--pglite") opts.pglite = true;
    else if (arg === "--quick") Object.assign(opts, { places: 1000, seconds: 15 });
    else if (arg === "--places") opts.places = wholeOption("places", argv[++i], 10, 100_000);
    else if (arg === "--seconds") opts.seconds = wholeOption("seconds", argv[++i], 12, 3600);
    else if (arg === "--period") opts.period = wholeOption("period", argv[++i], 2, 3600);
    else if (arg === "--critical") opts.critical = wholeOption("critical", argv[++i], 0, 1000);
    else throw new Error(`unknown option ${arg}`);
  }
  if (opts.critical > opts.places) throw new Error("--critical takes at most --places");
  return opts;
}

interface Result {
  database: string;
  places: number;
  /** The places that turned critical within the load (one a second from second 10). */
  critical: number;
  registerSeconds: number;
  published: Published & { perSecond: number };
  hub: { handledPerSecond: number; dropped: number; cpuCores: number; levels: LagFigures; dispatches: LagFigures };
  floor: LagFigures;
}

const cli = promisify(execFile);
const linkageHub = (stack: BenchStack, ...args: string[]) =>
  cli(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), ...args], { env: { ...process.env, ...stack.env }, maxBuffer: 1 << 24 });

/** Key places at public security for the places that turn critical (a dispatch asks for units at one), open for the run, as an event permit opens them. */
async function openKeyPlaces(stack: BenchStack, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${stack.env.PUBLIC_SECURITY_URL}/key-places`, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": randomUUID() },
      body: JSON.stringify({
        reference: `bench-${stack.run}-${i}`,
        kind: "event",
        name: `Bench crowd ${i}`,
        venueId: "VEN-0001",
        capacity: CAPACITY,
        area: rectangle(121.4355, 31.181, 121.44, 31.1845),
        opensAt: new Date().toISOString(),
        closesAt: new Date(Date.now() + 3_600_000).toISOString(),
      }),
    });
    if (res.status !== 201) throw new Error(`public security refused key place ${i}: ${res.status} ${await res.text()}`);
    ids.push(((await res.json()) as { placeId: string }).placeId);
  }
  return ids;
}

/** The places and their devices registered as an agency would, in one file; the seconds it took. */
async function register(stack: BenchStack, places: string[]): Promise<number> {
  const file = path.join(stack.dataDir, "crowd-devices.csv");
  const lines = places.map((place, i) => `${deviceId(stack.run, i)},${place},counter,${CAPACITY}`);
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const t0 = performance.now();
  await linkageHub(stack, "devices", "import", file, "--no-creds");
  return (performance.now() - t0) / 1000;
}

/** A counter of the hub's /metrics, summed over its labels. */
async function counter(stack: BenchStack, name: string): Promise<number> {
  const text = await (await fetch(`${stack.api}/metrics`)).text();
  return text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

async function measure(stack: BenchStack, opts: Options): Promise<Result> {
  const places = benchPlaces(stack.run, opts, await openKeyPlaces(stack, opts.critical));
  say(`registering ${opts.places} places and devices`);
  const registerSeconds = await register(stack, places);
  say(`registered in ${registerSeconds.toFixed(1)} s`);
  // One device user for the whole load: a device user may publish only on counts subjects.
  await linkageHub(stack, "nats", "add-user", "crowd-load", "--role", "device", "--subjects", "counts.>");
  const creds = fs.readFileSync(path.join(natsAuthDir(stack.dataDir), "crowd-load.creds"));
  const publisher = await connect({ servers: natsServers(stack.env.NATS_URL!), name: "bench-crowd-devices", authenticator: credsAuthenticator(creds) });
  const observer = await connect({ servers: natsServers(stack.env.NATS_URL!), name: "bench-crowd-observer", ...natsAuth(loadConfig(stack.env)) });
  try {
    const startMs = Date.now();
    const watch = watchLevels(observer, places, startMs);
    const floor = await floorConsumer(observer, startMs);
    const [handled0, dropped0] = [await counter(stack, "hub_crowd_counts_total"), await counter(stack, "hub_crowd_counts_dropped_total")];
    const hubPid = stack.pid("hub")!;
    const cpu0 = cpuMs(hubPid);
    say(`publishing ${opts.places} counts a second for ${opts.seconds} s`);
    const published = await publishCounts(publisher, stack.run, places, opts, opts.seconds, say);
    say("waiting 5 s for the last counts and level events");
    await new Promise((r) => setTimeout(r, 5000));
    const elapsedS = (Date.now() - startMs) / 1000;
    const cpuCores = Math.round(((cpuMs(hubPid) - cpu0) / 1000 / elapsedS) * 100) / 100;
    const handled = (await counter(stack, "hub_crowd_counts_total")) - handled0;
    const dropped = (await counter(stack, "hub_crowd_counts_dropped_total")) - dropped0;
    watch.stop();
    await floor.stop();
    return {
      database: stack.database,
      places: opts.places,
      critical: Math.min(opts.critical, opts.seconds - 10),
      registerSeconds: Math.round(registerSeconds * 10) / 10,
      published: { ...published, perSecond: Math.round(published.messages / published.seconds) },
      hub: {
        handledPerSecond: Math.round(handled / published.seconds),
        dropped,
        cpuCores,
        levels: watch.levels.figures(opts.seconds),
        dispatches: watch.dispatches().figures(opts.seconds, opts.seconds),
      },
      floor: floor.lags.figures(opts.seconds),
    };
  } finally {
    await publisher.close();
    await observer.close();
  }
}

function report(r: Result, opts: Options): void {
  const lag = (f: LagFigures) => `${f.count} measured, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, max ${f.maxMs} ms`;
  console.log(`\ncrowd watch on ${r.database}: ${r.places} places, one device each, ${opts.seconds} s (registered in ${r.registerSeconds} s)`);
  console.log(`published    ${r.published.messages} counts, ${r.published.perSecond}/s`);
  console.log(`hub handled  ${r.hub.handledPerSecond}/s (${r.hub.dropped} dropped), hub CPU ${r.hub.cpuCores} cores`);
  console.log(`level events ${lag(r.hub.levels)} (count's at → event received)`);
  console.log(`floor        ${lag(r.floor)} (count's at → delivered by a bare JetStream consumer)`);
  console.log(`hub/floor    p50 ${(r.hub.levels.p50Ms / r.floor.p50Ms).toFixed(1)}x, p99 ${(r.hub.levels.p99Ms / r.floor.p99Ms).toFixed(1)}x`);
  console.log(`dispatch     ${lag(r.hub.dispatches)} (critical count's at → linkage started event received)`);
  console.log(`\nper 10 s of the load   level events p50 / p99 ms      floor p50 / p99 ms`);
  r.hub.levels.windows.forEach((w, i) => {
    const f = r.floor.windows[i]!;
    console.log(
      `${String(w.fromS).padStart(4)}–${String(w.fromS + 10).padEnd(4)} s ${String(w.count).padStart(12)} ${`${w.p50Ms} / ${w.p99Ms}`.padStart(16)} ${`${f.p50Ms} / ${f.p99Ms}`.padStart(22)}`,
    );
  });
}

runBenchmark({
  help: HELP,
  parse: parseArgs,
  measure,
  report,
  succeeded: (r) => r.hub.dropped === 0 && r.hub.dispatches.count === r.critical,
});
