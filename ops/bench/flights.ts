/**
 * `npm run bench:flights`: drone flight reports answered per second with 1,000 no-fly zones
 * loaded, p50 and p99, beside a floor measured in the same run: the hub's identity verification
 * (the same gateway, token, purpose, audit and one civil-registry call; a flight report makes that
 * call and three of the aviation authority's through the catalogue, checks the area against every
 * zone and event area, and records the report with its event). The zone check alone (in this
 * process, with the hub's own code) is shown too. Figures are reported, never asserted.
 */
import { randomUUID } from "node:crypto";
import { Airspace, type NoFlyZone } from "../../flights/airspace";
import { flightArea, shapeOf, type Polygon } from "../../flights/geometry";
import { benchZones, PREFIX } from "./flight-zones";
import { quantileMs } from "./measure";
import { runBenchmark, say, wholeOption } from "./run";
import { BENCH_PORTS, type BenchStack } from "./stack";

const HELP = `Usage: npm run bench:flights [-- options]

Loads 1,000 no-fly zones (squares on a grid over Shanghai, clear of Century Park) into the
aviation authority's sandbox and waits for the hub to hold them, then times flight reports of
the seeded operator and drone, 500 m around Century Park (accepted: the whole path), one after
another for p50/p99 and many at once for reports per second; and, the same way, the hub's
identity verification of the same person as the floor. The zones are removed at the end.
  --sequential N   reports one after another (default 200)
  --burst N        reports sent at once (default 200)
  --zones N        no-fly zones loaded (default 1000)
  --pglite         the hub on embedded PGlite, as npm start runs it (default PostgreSQL)
  --json           print the figures as JSON
Starts its own stack: ${BENCH_PORTS},
PostgreSQL database linkage_hub_bench (DATABASE_URL overrides), state in .data/bench.`;

interface Options {
  sequential: number;
  burst: number;
  zones: number;
  pglite: boolean;
  json: boolean;
}

function parseArgs(argv: string[]): Options | "help" {
  const opts: Options = { sequential: 200, burst: 200, zones: 1000, pglite: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") opts.json = true;
    else if (arg === "--pglite") opts.pglite = true;
    else if (arg === "--sequential" || arg === "--burst") opts[arg.slice(2) as "sequential" | "burst"] = wholeOption(arg.slice(2), argv[++i], 1, 5000);
    else if (arg === "--zones") opts.zones = wholeOption("zones", argv[++i], 1, 5000);
    else throw new Error(`unknown option ${arg}`);
  }
  return opts;
}

const OPERATOR = { idNumber: "370102198307059794", name: "马涛" };
const CLEAR = { type: "Point", coordinates: [121.551, 31.216], radiusM: 500 };
interface Measured {
  count: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
  perSecond?: number;
}

type Call = () => Promise<boolean>;

async function timed(label: string, sequential: number, burst: number, call: Call): Promise<{ sequential: Measured; burst: Measured }> {
  const one = async () => {
    const t0 = performance.now();
    return { ok: await call().catch(() => false), ms: performance.now() - t0 };
  };
  const seq = [];
  for (let i = 0; i < sequential; i++) seq.push(await one());
  say(`${label}: ${sequential} one after another, then ${burst} at once`);
  const t0 = performance.now();
  const all = await Promise.all(Array.from({ length: burst }, one));
  const wall = performance.now() - t0;
  const figures = (list: { ok: boolean; ms: number }[], wallMs?: number): Measured => {
    const ms = list.filter((r) => r.ok).map((r) => r.ms);
    return {
      count: ms.length,
      failed: list.length - ms.length,
      p50Ms: quantileMs(ms, 0.5),
      p99Ms: quantileMs(ms, 0.99),
      ...(wallMs ? { perSecond: Math.round((ms.length / wallMs) * 10_000) / 10 } : {}),
    };
  };
  return { sequential: figures(seq), burst: figures(all, wall) };
}

async function heldZones(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  return Number(/^hub_flight_no_fly_zones (\d+)/m.exec(text)?.[1] ?? 0);
}

/** The zone check alone, in this process: p50 and p99 in microseconds of one area against every zone. */
function zoneCheck(zones: NoFlyZone[], count: number): { p50Us: number; p99Us: number } {
  const airspace = new Airspace();
  airspace.setZones(zones);
  const area = flightArea(CLEAR as never) as { polygon: Polygon };
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    airspace.conflicts(shapeOf(area.polygon), Date.UTC(2099, 6, 4), Date.UTC(2099, 6, 4, 2));
    ms.push(performance.now() - t0);
  }
  return { p50Us: Math.round(quantileMs(ms, 0.5) * 1000), p99Us: Math.round(quantileMs(ms, 0.99) * 1000) };
}

interface Result {
  database: string;
  zones: number;
  report: { sequential: Measured; burst: Measured };
  floor: { sequential: Measured; burst: Measured };
  zoneCheck: { p50Us: number; p99Us: number };
}

/** The zones into the aviation sandbox, in parts: it takes bodies of up to 64 KiB, as the agencies' own APIs do. */
async function loadZones(aviation: string, zones: unknown[]): Promise<void> {
  for (let i = 0; i < zones.length; i += 100) {
    const loaded = await fetch(`${aviation}/_sandbox/no-fly-zones`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ zones: zones.slice(i, i + 100) }),
    });
    if (loaded.status !== 201) throw new Error(`the aviation sandbox answered ${loaded.status} to the zones: ${await loaded.text()}`);
  }
}

async function measure(stack: BenchStack, opts: Options): Promise<Result> {
  const aviation = stack.env.AVIATION_URL!;
  const zones = benchZones(opts.zones);
  await loadZones(aviation, zones);
  try {
    say(`${zones.length} zones loaded; waiting for the hub to hold them (FLIGHTS_SYNC_MS)`);
    const deadline = Date.now() + 120_000;
    while ((await heldZones(stack.api)) < zones.length) {
      if (Date.now() > deadline) throw new Error("the hub did not read the zones within 2 minutes");
      await new Promise((r) => setTimeout(r, 500));
    }
    const held = await heldZones(stack.api);
    const day = Date.UTC(2099, 0, 1) + Math.floor(Math.random() * 300) * 86_400_000;
    let refusal: string | undefined;
    const report: Call = async () => {
      const res = await fetch(`${stack.api}/v1/flight-reports`, {
        method: "POST",
        headers: { ...stack.auth, "data-purpose": "aviation-safety", "content-type": "application/json", "idempotency-key": randomUUID() },
        body: JSON.stringify({
          operator: OPERATOR,
          droneRegistration: "UA-2026-000001",
          area: CLEAR,
          maxAltitudeM: 120,
          start: new Date(day).toISOString(),
          end: new Date(day + 3_600_000).toISOString(),
        }),
      });
      const body = (await res.json()) as { outcome?: string };
      const ok = res.status === 200 && body.outcome === "ACCEPTED";
      if (!ok && !refusal) say(`first failed report: ${res.status} ${(refusal = JSON.stringify(body).slice(0, 400))}`);
      return ok;
    };
    const floor: Call = async () => {
      const res = await fetch(`${stack.api}/v1/identity-verifications`, {
        method: "POST",
        headers: { ...stack.auth, "data-purpose": "identity-verification", "content-type": "application/json", "idempotency-key": randomUUID() },
        body: JSON.stringify(OPERATOR),
      });
      await res.arrayBuffer();
      return res.status === 200;
    };
    say("warming up (10 reports, 10 verifications)");
    for (let i = 0; i < 10; i++) await report();
    for (let i = 0; i < 10; i++) await floor();
    return {
      database: stack.database,
      zones: held,
      report: await timed("flight report", opts.sequential, opts.burst, report),
      floor: await timed("identity verification (floor)", opts.sequential, opts.burst, floor),
      zoneCheck: zoneCheck(zones, 2000),
    };
  } finally {
    await fetch(`${aviation}/_sandbox/no-fly-zones?prefix=${PREFIX}`, { method: "DELETE" }).catch(() => undefined);
  }
}

function report(r: Result, opts: Options): void {
  const row = (name: string, f: Measured) =>
    `${name.padEnd(40)}${String(f.count).padStart(6)}${String(f.failed).padStart(8)}${String(f.p50Ms).padStart(9)}${String(f.p99Ms).padStart(9)}${f.perSecond === undefined ? "" : String(f.perSecond).padStart(8)}`;
  console.log(`\nflight reports on ${r.database}; zones held by the hub: ${r.zones}`);
  console.log(`${"".padEnd(40)}${"done".padStart(6)}${"failed".padStart(8)}${"p50 ms".padStart(9)}${"p99 ms".padStart(9)}${"per s".padStart(8)}`);
  console.log(row("flight report, one at a time", r.report.sequential));
  console.log(row(`flight report, ${opts.burst} at once`, r.report.burst));
  console.log(row("identity verification (floor), one at a time", r.floor.sequential));
  console.log(row(`identity verification (floor), ${opts.burst} at once`, r.floor.burst));
  console.log(`\nthe zone check alone (one 500 m circle against ${r.zones} zones, in process): p50 ${r.zoneCheck.p50Us} µs, p99 ${r.zoneCheck.p99Us} µs`);
  const ratio = Math.round((r.report.sequential.p50Ms / r.floor.sequential.p50Ms) * 100) / 100;
  console.log(`flight report: median ${r.report.sequential.p50Ms} ms, ${ratio}x the floor's; ${r.report.burst.perSecond} reports answered per second at once`);
}

runBenchmark({
  help: HELP,
  parse: parseArgs,
  measure,
  report,
  succeeded: (r) => r.report.sequential.failed + r.report.burst.failed + r.floor.sequential.failed + r.floor.burst.failed === 0,
});
