/**
 * What a chaos run's clients saw, in figures: requests a second, and per kind how many were
 * answered 2xx, the latency percentiles, and the failures by status or problem type.
 */
import type { Kind, Outcome } from "./client";

export interface KindFigures {
  kind: Kind;
  sent: number;
  ok: number;
  p50Ms: number;
  p99Ms: number;
  /** Failures by what the client saw: `503 /problems/...`, `0 <error>`. */
  failures: Record<string, number>;
}

/** The `p`th percentile (nearest rank) of ascending `sorted`; NaN for none. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const isOk = (o: Outcome) => o.status >= 200 && o.status < 300;
const failureOf = (o: Outcome) => (o.status === 0 ? `0 ${o.error ?? "no answer"}` : `${o.status} ${o.problemType ?? ""}`.trim());

export function kindFigures(outcomes: Outcome[]): KindFigures[] {
  const kinds = [...new Set(outcomes.map((o) => o.kind))];
  return kinds.map((kind) => {
    const mine = outcomes.filter((o) => o.kind === kind);
    const ms = mine.map((o) => o.end - o.start).sort((a, b) => a - b);
    const failures: Record<string, number> = {};
    for (const o of mine.filter((x) => !isOk(x))) failures[failureOf(o)] = (failures[failureOf(o)] ?? 0) + 1;
    return { kind, sent: mine.length, ok: mine.filter(isOk).length, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), failures };
  });
}

/** One line: the rate over the run's span, then each kind's figures. */
export function describeFigures(outcomes: Outcome[]): string {
  if (!outcomes.length) return "no requests";
  const span = (Math.max(...outcomes.map((o) => o.start)) - Math.min(...outcomes.map((o) => o.start))) / 1000;
  const rate = span > 0 ? (outcomes.length - 1) / span : outcomes.length;
  const kinds = kindFigures(outcomes).map((k) => {
    const failed = Object.entries(k.failures).map(([what, n]) => `${n}× ${what}`);
    return `${k.kind} ${k.ok}/${k.sent} 2xx, p50 ${k.p50Ms} ms, p99 ${k.p99Ms} ms${failed.length ? ` (${failed.join(", ")})` : ""}`;
  });
  return `${rate.toFixed(1)} requests/s; ${kinds.join("; ")}`;
}
