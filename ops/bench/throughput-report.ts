/** The table `npm run bench:throughput` prints: per database, the loads, the ratios against the issue's targets, the profile. */
import type { ProfileSummary } from "./cpu-profile";
import type { DatabaseFigures } from "./throughput-measure";
import type { MeasuredLoad } from "./wrk";

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

function row(name: string, f: MeasuredLoad): string {
  const cells = [f.connections, f.perSecond, f.p50Ms, f.p99Ms, f.cpuMsPerRequest, f.failed].map((c, i) => String(c).padStart(i === 0 ? 6 : 9));
  return `${name.padEnd(44)}${cells.join("")}`;
}

function loads(d: DatabaseFigures): void {
  const head = ["conns", "req/s", "p50 ms", "p99 ms", "CPU ms/r", "failed"].map((c, i) => c.padStart(i === 0 ? 6 : 9)).join("");
  console.log(`\n${d.database}${"".padEnd(44 - d.database.length)}${head}`);
  for (const [name, pair] of [
    ["hub POST /v1/identity-verifications", d.hub],
    ["hub over NATS, hub.v1.…identity.verify", d.nats],
    ["floor (gateway → NATS → action → sandbox)", d.floor],
    ["floor answering from memory", d.memory],
    ["the civil-registry sandbox alone", d.sandbox],
  ] as const) {
    console.log(row(name, pair.one));
    console.log(row("", pair.many));
  }
  console.log(row("hub GET /v1/linkages/{id}, one linkage", d.statusReads));
  console.log(row("hub verifications at half its maximum", d.halfMax));
}

/** The middle value (the mean of the two middle ones of an even count). */
function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A ratio at 32 connections: each round's (its hub and floor ran in the same minute), and their median. */
function roundRatio(d: DatabaseFigures, of: (l: MeasuredLoad) => number): { median: number; each: string } {
  const each = d.rounds.map((r) => ratio(of(r.hub), of(r.floor)));
  return { median: Math.round(median(each) * 100) / 100, each: each.length > 1 ? ` (median of ${each.length} rounds: ${each.join(", ")})` : "" };
}

function ratios(d: DatabaseFigures): void {
  const { median: many, each: manyEach } = roundRatio(d, (l) => l.perSecond);
  const { median: cpu, each: cpuEach } = roundRatio(d, (l) => l.cpuMsPerRequest);
  const half = ratio(d.halfMax.perSecond, d.hub.many.perSecond);
  const p = d.polling;
  console.log(
    `  hub/floor req/s: ${ratio(d.hub.one.perSecond, d.floor.one.perSecond)}x at 1, ${many}x at 32${manyEach} (target at least 0.5x at 32): ${verdict(many >= 0.5)}`,
  );
  console.log(
    `  NATS/REST identity verification req/s: ${ratio(d.nats.one.perSecond, d.hub.one.perSecond)}x at 1, ${ratio(d.nats.many.perSecond, d.hub.many.perSecond)}x at 32; p50 ${d.nats.one.p50Ms} vs ${d.hub.one.p50Ms} ms at 1, ${d.nats.many.p50Ms} vs ${d.hub.many.p50Ms} ms at 32`,
  );
  console.log(`  hub/floor CPU per request at 32: ${cpu}x${cpuEach} (target at most 2x): ${verdict(cpu <= 2)}`);
  console.log(
    `  p99 at half the hub's maximum: ${d.halfMax.p99Ms} ms at ${d.halfMax.connections} connections, ${half}x its 32-connection req/s (target under 50 ms): ${verdict(d.halfMax.p99Ms < 50)}`,
  );
  console.log(
    `  marriage linkage median: ${p.medianWithoutMs} ms alone, ${p.medianWithMs} ms with a partner polling every 20 ms (${p.changePercent > 0 ? "+" : ""}${p.changePercent} %, target under 10 %): ${verdict(Math.abs(p.changePercent) < 10)}`,
  );
  console.log(`    ${p.linkages} linkages each way, ${p.failed} failed; ${p.polls} polls, ${p.pollsFailed} failed`);
}

function profile(database: string, s: ProfileSummary): void {
  console.log(
    `\n${database}: the hub node's top functions by self time ${s.windowed ? "over the 32-connection rounds" : "over its whole life (the load's window held no samples)"}, ${s.samples} samples`,
  );
  for (const f of s.top)
    console.log(`${String(f.percent).padStart(6)} % ${String(f.selfMs).padStart(9)} ms  ${f.name}  ${f.where || (f.name.startsWith("(") ? "" : "(native)")}`);
  console.log(`  self time by source: ${s.sources.map((x) => `${x.source} ${x.percent} %`).join(", ")}`);
}

export function printTable(result: { databases: (DatabaseFigures & { profile?: ProfileSummary })[] }, opts: { seconds: number }): void {
  console.log(`\n${opts.seconds} s per load; CPU ms/r: CPU time per request of the hub node (the floor: its two processes; the sandbox: its process)`);
  for (const d of result.databases) {
    loads(d);
    ratios(d);
  }
  const [pg, lite] = result.databases;
  if (pg && lite) {
    const one = ratio(lite.hub.one.perSecond, pg.hub.one.perSecond);
    const many = ratio(lite.hub.many.perSecond, pg.hub.many.perSecond);
    console.log(
      `\nPGlite/PostgreSQL hub req/s: ${one}x at 1, ${many}x at 32 (target: within 1.5x, at least 0.67x): ${verdict(Math.min(one, many) >= 1 / 1.5)}`,
    );
  }
  for (const d of result.databases) if (d.profile) profile(d.database, d.profile);
}
