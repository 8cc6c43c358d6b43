/**
 * What `npm run bench:throughput` measures on one database: the hub's sync path beside its
 * floor (ops/bench/floor.ts) and the sandbox alone, in the same stack and the same minutes, so
 * the ratios hold however busy the machine is; then what one polling partner does to marriage
 * linkages. Figures are reported, never asserted.
 */
import fs from "node:fs";
import path from "node:path";
import { seedCitizens, type SeededCitizen } from "../seed-citizens";
import { startFloor, type Floor } from "./floor";
import { couples, marriages, startOneLinkage } from "./marriages";
import { quantileMs, type Attempt } from "./measure";
import type { BenchStack } from "./stack";
import { callerOptions } from "../stack/nats-auth";
import { natsServers } from "../../platform/nats-auth";
import { measureLoad, runWrk, type Load, type MeasuredLoad } from "./wrk";
import { connect } from "nats";
import { inFlightLoop, measureNatsLoad, natsSender, type NatsLoad } from "./nats-load";

export interface Plan {
  seconds: number;
  /** Marriage linkages timed without the polling partner, and as many with it. */
  linkages: number;
  /** Rounds of the hub and the floor at 32 connections, one after the other. */
  rounds: number;
  say(line: string): void;
}

export interface PollingEffect {
  linkages: number;
  failed: number;
  medianWithoutMs: number;
  medianWithMs: number;
  changePercent: number;
  polls: number;
  pollsFailed: number;
}

export interface DatabaseFigures {
  database: "PostgreSQL" | "PGlite";
  /** `many`: the round with the median req/s (see `rounds`). */
  hub: { one: MeasuredLoad; many: MeasuredLoad };
  /** The same identity verification over the NATS service (hub.v1.civil-registry.identity.verify), 1 and 32 in flight. */
  nats: { one: MeasuredLoad; many: MeasuredLoad };
  floor: { one: MeasuredLoad; many: MeasuredLoad };
  /** The hub and then the floor at 32 connections, round after round: each round's pair ran in the same minute. */
  rounds: { hub: MeasuredLoad; floor: MeasuredLoad }[];
  memory: { one: MeasuredLoad; many: MeasuredLoad };
  sandbox: { one: MeasuredLoad; many: MeasuredLoad };
  statusReads: MeasuredLoad;
  /** The hub at the fewest connections (1, 2, 4...) giving at least half its 32-connection req/s. */
  halfMax: MeasuredLoad;
  polling: PollingEffect;
  /** When the hub's 32-connection identity-verification rounds ran (the floor's between them too), in microseconds of the monotonic clock. */
  profileWindow: { fromUs: number; toUs: number };
}

const MANY = 32;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

interface Targets {
  hub: Load;
  nats: NatsLoad;
  floor: Load;
  memory: Load;
  sandbox: Load;
}

function targets(stack: BenchStack, floor: Floor, person: SeededCitizen): Targets {
  const json = { "content-type": "application/json" };
  const body = JSON.stringify({ idNumber: person.idNumber, name: person.name });
  return {
    hub: { url: `${stack.api}/v1/identity-verifications`, method: "POST", headers: { ...stack.auth, ...json, "data-purpose": "identity-verification" }, body },
    nats: {
      subject: "hub.v1.civil-registry.identity.verify",
      headers: { Authorization: stack.auth.authorization!, "Data-Purpose": "identity-verification" },
      body,
    },
    floor: { url: `${floor.url}/verify`, method: "POST", headers: json, body },
    memory: { url: `${floor.url}/memory`, method: "POST", headers: json, body },
    sandbox: {
      url: `${stack.env.CIVIL_REGISTRY_URL}/registry/v2/person-checks`,
      method: "POST",
      headers: json,
      body: JSON.stringify({ citizenNo: person.idNumber, fullName: person.name }),
    },
  };
}

/** Everything on one database's stack, the floor started beside the hub and stopped after. */
export async function measureDatabase(stack: BenchStack, wrk: string, plan: Plan): Promise<DatabaseFigures> {
  const floor = await startFloor(stack.env, path.join(stack.dataDir, "logs"));
  try {
    plan.say(`${stack.database}: seeding citizens with the test-data tool`);
    const citizens = await seedCitizens({ count: Math.ceil((2 * plan.linkages + 4) * 3), json: true, minAge: 30, maxAge: 60 }, stack.env);
    const pairs = couples(citizens);
    if (pairs.length < 2 * plan.linkages + 4) throw new Error(`the test-data tool gave ${pairs.length} couples, ${2 * plan.linkages + 4} wanted`);
    const loads = await measureLoads(stack, wrk, plan, floor, targets(stack, floor, pairs[0]![0]));
    const polled = await startOneLinkage(stack, pairs[0]!, "polled");
    const statusReads = await measureLoad(wrk, { url: polled, headers: stack.auth }, MANY, plan.seconds, scratch(stack), hubPids(stack));
    plan.say(`${stack.database}: status reads at ${MANY}: ${statusReads.perSecond} req/s`);
    const polling = await measurePolling(stack, plan, pairs.slice(1), polled);
    return { database: stack.database, ...loads, statusReads, polling };
  } finally {
    await floor.stop();
  }
}

const scratch = (stack: BenchStack) => path.join(stack.dataDir, "wrk");
const hubPids = (stack: BenchStack) => [stack.pid("hub")!];

async function measureLoads(stack: BenchStack, wrk: string, plan: Plan, floor: Floor, t: Targets) {
  const pidsOf = { hub: hubPids(stack), floor: floor.pids, memory: floor.pids, sandbox: [stack.pid("sandbox-civil-registry")!] };
  const report = (what: string, connections: number, f: MeasuredLoad) =>
    plan.say(`${stack.database}: ${what} at ${connections}: ${f.perSecond} req/s, p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms, ${f.failed} failed`);
  const run = async (what: Exclude<keyof Targets, "nats">, connections: number) => {
    const f = await measureLoad(wrk, t[what], connections, plan.seconds, scratch(stack), pidsOf[what]);
    report(what, connections, f);
    return f;
  };
  plan.say(`${stack.database}: warming up the hub and the floor`);
  for (const what of ["hub", "floor"] as const) await runWrk(wrk, t[what], 8, Math.min(3, plan.seconds), scratch(stack));
  const hubOne = await run("hub", 1);
  const fromUs = nowUs();
  const rounds: DatabaseFigures["rounds"] = [];
  for (let r = 0; r < plan.rounds; r++) rounds.push({ hub: await run("hub", MANY), floor: await run("floor", MANY) });
  const profileWindow = { fromUs, toUs: nowUs() };
  const hubMany = medianLoad(rounds.map((r) => r.hub));
  const out = {
    hub: { one: hubOne, many: hubMany },
    nats: await natsLoads(stack, plan, t.nats, (connections, f) => report("hub over NATS", connections, f)),
    floor: { one: await run("floor", 1), many: medianLoad(rounds.map((r) => r.floor)) },
    rounds,
    memory: { one: await run("memory", 1), many: await run("memory", MANY) },
    sandbox: { one: await run("sandbox", 1), many: await run("sandbox", MANY) },
    profileWindow,
    halfMax: hubOne,
  };
  for (let c = 2; out.halfMax.perSecond < hubMany.perSecond / 2 && c < MANY; c *= 2) out.halfMax = await run("hub", c);
  return out;
}

/** The load with the median req/s (the higher middle one of an even count). */
const medianLoad = (loads: MeasuredLoad[]) => [...loads].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(loads.length / 2)]!;

/** Identity verification over the NATS service with a plain client, warmed up as REST is, at 1 and 32 in flight. */
async function natsLoads(stack: BenchStack, plan: Plan, load: NatsLoad, report: (inFlight: number, f: MeasuredLoad) => void) {
  const nc = await connect({ servers: natsServers(stack.env.NATS_URL!), name: "bench-nats-caller", ...callerOptions(stack.dataDir, "bench-caller") });
  try {
    await inFlightLoop(natsSender(nc, load), 8, Math.min(3, plan.seconds));
    const one = await measureNatsLoad(nc, load, 1, plan.seconds, hubPids(stack));
    report(1, one);
    const many = await measureNatsLoad(nc, load, MANY, plan.seconds, hubPids(stack));
    report(MANY, many);
    return { one, many };
  } finally {
    await nc.close();
  }
}

/**
 * Marriage linkages timed as bench:linkages times them, in alternating blocks without and with a
 * partner reading one other linkage's status every 20 ms, so drift on a shared machine falls on both.
 */
async function measurePolling(stack: BenchStack, plan: Plan, pairs: [SeededCitizen, SeededCitizen][], polled: string): Promise<PollingEffect> {
  const marry = marriages(stack, pairs);
  plan.say(`${stack.database}: warming up (3 linkages)`);
  for (let i = 0; i < 3; i++) await marry(5)();
  const without: number[] = [];
  const withPolling: number[] = [];
  let failed = 0;
  const poller = pollingPartner(stack, polled);
  const block = 5;
  for (let done = 0; done < plan.linkages; done += block) {
    for (const polling of [false, true]) {
      if (polling) poller.start();
      failed += await timed(marry(5), Math.min(block, plan.linkages - done), polling ? withPolling : without);
      await poller.stop();
    }
    plan.say(`${stack.database}: polling effect: ${without.length + withPolling.length}/${2 * plan.linkages} linkages`);
  }
  const medianWithoutMs = quantileMs(without, 0.5);
  const medianWithMs = quantileMs(withPolling, 0.5);
  const changePercent = Math.round(((medianWithMs - medianWithoutMs) / medianWithoutMs) * 1000) / 10;
  return { linkages: plan.linkages, failed, medianWithoutMs, medianWithMs, changePercent, polls: poller.polls, pollsFailed: poller.failed };
}

async function timed(attempt: Attempt, count: number, into: number[]): Promise<number> {
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const r = await attempt();
    if (r.ok) into.push(r.ms);
    else failed++;
  }
  return failed;
}

/** One partner reading one linkage's status every 20 ms, while started. */
function pollingPartner(stack: BenchStack, url: string) {
  let running: Promise<void> | undefined;
  let on = false;
  const state = { polls: 0, failed: 0 };
  const loop = async () => {
    while (on) {
      const next = performance.now() + 20;
      const res = await fetch(url, { headers: stack.auth }).catch(() => undefined);
      await res?.arrayBuffer();
      state.polls++;
      if (res?.status !== 200) state.failed++;
      await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
    }
  };
  return {
    start: () => void ((on = true), (running = loop())),
    stop: async () => ((on = false), await running),
    get polls() {
      return state.polls;
    },
    get failed() {
      return state.failed;
    },
  };
}

/** The newest `.cpuprofile` in `dir` (the hub node writes one as it exits). */
export function newestProfile(dir: string): string | undefined {
  if (!fs.existsSync(dir)) return undefined;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".cpuprofile"));
  return files.map((f) => path.join(dir, f)).sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
}
