/** Latency figures of a benchmark: calls made one after another and all at once, as p50, p95 and throughput. */

export interface Figures {
  count: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  perSecond?: number;
}

export type Attempt = () => Promise<{ ms: number; ok: boolean }>;

export const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** The q-quantile of unsorted `list`, to 0.1 ms. */
export const quantileMs = (list: number[], q: number) =>
  Math.round(
    quantile(
      [...list].sort((a, b) => a - b),
      q,
    ) * 10,
  ) / 10;

export function figures(latencies: number[], failed: number, wallMs?: number): Figures {
  const sorted = [...latencies].sort((a, b) => a - b);
  const out: Figures = { count: latencies.length, failed, p50Ms: Math.round(quantile(sorted, 0.5)), p95Ms: Math.round(quantile(sorted, 0.95)) };
  if (wallMs) out.perSecond = Math.round((latencies.length / wallMs) * 10_000) / 10;
  return out;
}

/** `count` attempts one after another, with progress every ten. */
export async function sequential(label: string, count: number, one: Attempt, say: (line: string) => void): Promise<Figures> {
  const ms: number[] = [];
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const r = await one();
    if (r.ok) ms.push(r.ms);
    else failed++;
    if ((i + 1) % 10 === 0) say(`${label}: ${i + 1}/${count} one after another`);
  }
  return figures(ms, failed);
}

/** `count` attempts started at once; throughput from the wall time of them all. */
export async function burst(label: string, count: number, one: Attempt, say: (line: string) => void): Promise<Figures> {
  say(`${label}: ${count} at once`);
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: count }, one));
  const wall = performance.now() - t0;
  return figures(
    results.filter((r) => r.ok).map((r) => r.ms),
    results.filter((r) => !r.ok).length,
    wall,
  );
}

/** Figures as a table: done, failed, p50, p95 and, for a burst, per second. */
export function printFigures(rows: [string, Figures][]): void {
  const row = (name: string, f: Figures) =>
    `${name.padEnd(34)}${String(f.count).padStart(6)}${String(f.failed).padStart(8)}${String(f.p50Ms).padStart(8)}${String(f.p95Ms).padStart(8)}${f.perSecond === undefined ? "" : String(f.perSecond).padStart(8)}`;
  console.log(`\n${"".padEnd(34)}${"done".padStart(6)}${"failed".padStart(8)}${"p50 ms".padStart(8)}${"p95 ms".padStart(8)}${"per s".padStart(8)}`);
  for (const [name, f] of rows) console.log(row(name, f));
}
