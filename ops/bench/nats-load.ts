/**
 * A load on an endpoint of the NATS service `linkage-hub`, beside wrk's on REST: `inFlight`
 * requests always outstanding (each lane sends its next as its last is answered) for `seconds`,
 * with a plain `nats` client, as an internal caller would send them. Figures in wrk's form
 * (wrk.ts LoadFigures), so the two sit in one table.
 */
import { headers as natsHeaders, type NatsConnection } from "nats";
import { quantile } from "./measure";
import { cpuMs, type LoadFigures, type MeasuredLoad } from "./wrk";

export interface NatsLoad {
  subject: string;
  headers: Record<string, string>;
  body: string;
}

/** One request: its latency in ms and whether it succeeded (an answer without the services API's error header). */
export type Send = () => Promise<{ ms: number; ok: boolean }>;

/** The figures of a run: answers per second over the whole run, latency quantiles of every answer, to 0.01 ms. */
export function loadFigures(latenciesMs: number[], failed: number, elapsedMs: number, inFlight: number): LoadFigures {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const ms = (q: number) => (sorted.length ? Math.round(quantile(sorted, q) * 100) / 100 : NaN);
  const requests = latenciesMs.length;
  return {
    connections: inFlight,
    requests,
    failed,
    perSecond: elapsedMs > 0 ? Math.round((requests / elapsedMs) * 10_000) / 10 : 0,
    p50Ms: ms(0.5),
    p99Ms: ms(0.99),
  };
}

/** `inFlight` lanes sending one request after another until `seconds` have passed; the last answers are awaited and counted. */
export async function inFlightLoop(send: Send, inFlight: number, seconds: number, now: () => number = () => performance.now()): Promise<LoadFigures> {
  const latencies: number[] = [];
  let failed = 0;
  const started = now();
  const until = started + seconds * 1000;
  const lane = async () => {
    while (now() < until) {
      const r = await send();
      latencies.push(r.ms);
      if (!r.ok) failed++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return loadFigures(latencies, failed, now() - started, inFlight);
}

/** A request sender for `load` on `nc`: a refusal (`Nats-Service-Error`) or no answer in 10 s fails. */
export function natsSender(nc: NatsConnection, load: NatsLoad): Send {
  const data = Buffer.from(load.body);
  return async () => {
    const h = natsHeaders();
    for (const [name, value] of Object.entries(load.headers)) h.set(name, value);
    const t0 = performance.now();
    const ok = await nc.request(load.subject, data, { timeout: 10_000, headers: h }).then(
      (msg) => !msg.headers?.has("Nats-Service-Error-Code"),
      () => false,
    );
    return { ms: performance.now() - t0, ok };
  };
}

/** The load with the CPU the processes named spent per answer, as measureLoad does for wrk. */
export async function measureNatsLoad(nc: NatsConnection, load: NatsLoad, inFlight: number, seconds: number, pids: number[]): Promise<MeasuredLoad> {
  const cpu = () => pids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const before = cpu();
  const figures = await inFlightLoop(natsSender(nc, load), inFlight, seconds);
  const used = cpu() - before;
  return { ...figures, cpuMsPerRequest: figures.requests ? Math.round((used / figures.requests) * 100) / 100 : NaN };
}
