/**
 * What a V8 `.cpuprofile` (written by `node --cpu-prof`) says the process spent its time on:
 * the functions with the most self time, optionally only over a window of the run (the load
 * the bench applied), since the profile covers the process's whole life, start-up included.
 * Samples are counted, not weighted by their gaps; "(idle)" is left out of the whole, so the
 * percentages are shares of the CPU time the process used.
 */

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber?: number } }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  /** file:line, 1-based, the path relative to `root` when under it. */
  where: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  /** Samples counted (in the window, "(idle)" left out). */
  samples: number;
  /** Whether the window held samples; when not, the whole profile was summarised. */
  windowed: boolean;
  top: HotFunction[];
  /** Self time by where the code comes from: a package, Node's internals, WebAssembly, or one of the project's folders. */
  sources: { source: string; percent: number }[];
}

/** The window is in the profile's clock (microseconds of the monotonic clock, as `process.hrtime`). */
export interface Window {
  fromUs: number;
  toUs: number;
}

function place(url: string, line: number, root: string): string {
  if (!url) return "";
  const file = url.replace(/^file:\/\//, "");
  const shown = root && file.startsWith(root + "/") ? file.slice(root.length + 1) : file;
  return `${shown}:${line + 1}`;
}

/** What a frame's code belongs to: the package under node_modules, `node:<module>`, `wasm`, `native`, or the project's top folder. */
export function sourceOf(url: string, root: string): string {
  if (!url) return "native";
  if (url.startsWith("wasm:")) return "wasm";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return url.replace(/^node:(internal\/)?(deps\/)?/, "node:").split("/")[0]!;
  const file = url.replace(/^file:\/\//, "");
  return root && file.startsWith(root + "/") ? `${file.slice(root.length + 1).split("/")[0]}/` : file;
}

/** The sample indices that fall in the window (all of them when none do or there is no window). */
function sampled(p: CpuProfile, window?: Window): { picked: number[]; windowed: boolean } {
  const all = p.samples.map((_, i) => i);
  if (!window) return { picked: all, windowed: false };
  const picked: number[] = [];
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    if (t >= window.fromUs && t <= window.toUs) picked.push(i);
  }
  return picked.length ? { picked, windowed: true } : { picked: all, windowed: false };
}

export function summariseProfile(p: CpuProfile, opts: { top?: number; root?: string; window?: Window } = {}): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n.callFrame]));
  const { picked, windowed } = sampled(p, opts.window);
  const span = p.samples.length ? (p.endTime - p.startTime) / 1000 / p.samples.length : 0;
  const counts = new Map<string, { name: string; where: string; n: number }>();
  const sources = new Map<string, number>();
  let total = 0;
  for (const i of picked) {
    const frame = byId.get(p.samples[i]!);
    if (!frame || frame.functionName === "(idle)") continue;
    total++;
    const name = frame.functionName || "(anonymous)";
    const where = place(frame.url, frame.lineNumber, opts.root ?? "");
    const key = `${name}\u0000${where}`;
    const entry = counts.get(key) ?? counts.set(key, { name, where, n: 0 }).get(key)!;
    entry.n++;
    const source = sourceOf(frame.url, opts.root ?? "");
    sources.set(source, (sources.get(source) ?? 0) + 1);
  }
  const share = (n: number) => Math.round((n / total) * 1000) / 10;
  const top = [...counts.values()]
    .sort((a, b) => b.n - a.n || a.name.localeCompare(b.name))
    .slice(0, opts.top ?? 15)
    .map((e) => ({ name: e.name, where: e.where, selfMs: Math.round(e.n * span * 10) / 10, percent: share(e.n) }));
  const bySource = [...sources].sort((a, b) => b[1] - a[1]).slice(0, 10);
  return { samples: total, windowed, top, sources: bySource.map(([source, n]) => ({ source, percent: share(n) })) };
}
