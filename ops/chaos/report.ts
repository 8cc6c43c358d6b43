/**
 * What clients saw during each fault of a chaos run: the requests sent from the moment it
 * struck until the next one, those not answered 2xx, and how long errors went on.
 */
import type { FaultKind } from "./faults";

/** A request as the workload saw it. `status` 0: no answer (connection refused, timed out). */
export interface Answered {
  kind: string;
  start: number;
  end: number;
  status: number;
}

export interface FaultWindow {
  kind: FaultKind;
  target: string;
  /** When it struck, when the piece was back, and when the next fault struck (or the load ended). */
  start: number;
  back: number;
  until: number;
}

export interface FaultReport {
  kind: FaultKind;
  target: string;
  /** From the fault until the piece was back (a killed process restarted, a restart done). */
  downMs: number;
  requests: number;
  failed: number;
  /** Failures by "kind status" ("verification 503": 2; status 0 is no answer). */
  errors: Record<string, number>;
  /** From the fault until the last failed request was answered: how long clients saw errors (0: never). */
  errorsForMs: number;
}

export interface ChaosCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

const ok = (status: number) => status >= 200 && status < 300;

export function faultReport(w: FaultWindow, outcomes: Answered[]): FaultReport {
  const inWindow = outcomes.filter((o) => o.start >= w.start && o.start < w.until);
  const failed = inWindow.filter((o) => !ok(o.status));
  const errors: Record<string, number> = {};
  for (const o of failed) errors[`${o.kind} ${o.status}`] = (errors[`${o.kind} ${o.status}`] ?? 0) + 1;
  const lastFailure = Math.max(w.start, ...failed.map((o) => o.end));
  return {
    kind: w.kind,
    target: w.target,
    downMs: w.back - w.start,
    requests: inWindow.length,
    failed: failed.length,
    errors,
    errorsForMs: lastFailure - w.start,
  };
}

/** The share of `kinds`' requests answered 2xx in the windows of faults `during`. */
export function answeredShare(
  outcomes: Answered[],
  windows: FaultWindow[],
  kinds: string[],
  during: FaultKind[],
): { requests: number; ok: number; share: number } {
  const inScope = outcomes.filter((o) => kinds.includes(o.kind) && windows.some((w) => during.includes(w.kind) && o.start >= w.start && o.start < w.until));
  const answered = inScope.filter((o) => ok(o.status)).length;
  return { requests: inScope.length, ok: answered, share: inScope.length ? answered / inScope.length : 1 };
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

/** The report as a Markdown table, for the console and the closing note. */
export function markdown(faults: FaultReport[], checks: ChaosCheck[], summary: string[]): string {
  const rows = faults.map((f) => {
    const errors = Object.entries(f.errors)
      .map(([what, n]) => `${what} ×${n}`)
      .join(", ");
    return `| ${f.target} | ${seconds(f.downMs)} | ${f.requests} | ${f.failed} | ${errors || "none"} | ${seconds(f.errorsForMs)} |`;
  });
  return [
    "| fault | down (s) | requests | not 2xx | errors seen (kind status ×n; 0 = no answer) | errors for (s) |",
    "| --- | ---: | ---: | ---: | --- | ---: |",
    ...rows,
    "",
    ...summary,
    "",
    ...checks.map((c) => `- ${c.ok ? "✔" : "✘"} ${c.name}${c.detail ? `: ${c.detail}` : ""}`),
  ].join("\n");
}
