/**
 * Load with wrk (Debian's package, installed when missing as the stack's other Debian tools
 * are) and the CPU time of a process from /proc, for figures per call.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ensureDebianPackage } from "../stack/debian";

const WRK = "/usr/bin/wrk";

export async function ensureWrk(say: (line: string) => void): Promise<string> {
  const help = "Install Debian's wrk package (as root: apt-get update && apt-get install -y wrk).";
  await ensureDebianPackage("wrk", [WRK], help, say);
  return WRK;
}

export interface Load {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadFigures {
  connections: number;
  requests: number;
  /** Answers other than 2xx/3xx, and socket errors and timeouts. */
  failed: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** The Lua script wrk runs: the request, and a summary line of JSON when done. */
function luaScript(load: Load): string {
  const lines = [`wrk.method = ${JSON.stringify(load.method ?? "GET")}`];
  if (load.body !== undefined) lines.push(`wrk.body = ${JSON.stringify(load.body)}`);
  for (const [name, value] of Object.entries(load.headers ?? {})) lines.push(`wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
  lines.push(
    "done = function(summary, latency, requests)",
    "  local e = summary.errors",
    '  io.write(string.format("\\nWRK_JSON {\\"requests\\":%d,\\"us\\":%d,\\"failed\\":%d,\\"p50Us\\":%.0f,\\"p99Us\\":%.0f}\\n",',
    "    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout, latency:percentile(50), latency:percentile(99)))",
    "end",
  );
  return lines.join("\n") + "\n";
}

/** `connections` connections for `seconds` seconds (threads: one per connection, up to 2). */
export async function runWrk(wrk: string, load: Load, connections: number, seconds: number, scratchDir: string): Promise<LoadFigures> {
  fs.mkdirSync(scratchDir, { recursive: true });
  const script = path.join(scratchDir, "wrk-load.lua");
  fs.writeFileSync(script, luaScript(load));
  // wrk leaves answers slower than its timeout (2 s by default) out of the latencies, which
  // would flatter p99 on a busy machine: 10 s keeps them in, and a request still timing out fails.
  const args = ["-t", String(Math.min(2, connections)), "-c", String(connections), "-d", `${seconds}s`, "--timeout", "10s", "-s", script, load.url];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(wrk, args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (text += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (text += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(text) : reject(new Error(`wrk ${args.join(" ")} failed (exit ${code}):\n${text}`))));
  });
  const line = /^WRK_JSON (.*)$/m.exec(out)?.[1];
  if (!line) throw new Error(`wrk gave no summary:\n${out}`);
  const s = JSON.parse(line) as { requests: number; us: number; failed: number; p50Us: number; p99Us: number };
  const ms = (us: number) => Math.round(us / 10) / 100;
  return { connections, requests: s.requests, failed: s.failed, perSecond: Math.round((s.requests / s.us) * 1e7) / 10, p50Ms: ms(s.p50Us), p99Ms: ms(s.p99Us) };
}

const TICKS_PER_S = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** User + system CPU time a process has used so far, in milliseconds (from /proc/<pid>/stat). */
export function cpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name "(...)": state is the first, utime the 12th, stime the 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_S;
}

export interface MeasuredLoad extends LoadFigures {
  /** CPU time of the processes named (user + system) per request answered, in ms. */
  cpuMsPerRequest: number;
}

/** A wrk run with the CPU time `pids` used over it, per request (the load generator's own is not counted). */
export async function measureLoad(wrk: string, load: Load, connections: number, seconds: number, scratchDir: string, pids: number[]): Promise<MeasuredLoad> {
  const cpu = () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const before = cpu();
  const figures = await runWrk(wrk, load, connections, seconds, scratchDir);
  const used = cpu() - before;
  return { ...figures, cpuMsPerRequest: figures.requests ? Math.round((used / figures.requests) * 100) / 100 : NaN };
}
