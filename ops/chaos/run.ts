/**
 * A chaos run: a cluster of its own (ops/stack/cluster.ts), a steady workload through its load
 * balancer, the faults of each cycle one at a time with time to heal between them, then the
 * checks that nothing was lost or done twice, and what clients saw during each fault.
 */
import fs from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startCluster, type Cluster, type ClusterPorts } from "../stack/cluster";
import { urlEnv, SANDBOXES, type Say } from "../stack/services";
import { faultsOf } from "./faults";
import { answeredShare, faultReport, markdown, type ChaosCheck, type FaultReport, type FaultWindow } from "./report";
import { startWorkload } from "./workload";
import { checkOutcomes } from "./checks";
import { describeFigures } from "./figures";
import { runCli } from "./cli";

export interface ChaosOptions {
  cycles: number;
  /** How long a killed process stays dead. */
  downMs: number;
  /** Steady load before the first fault and after each one is over, for the hub to heal. */
  healMs: number;
  perSecond: number;
  ports: ClusterPorts;
  /** Cleared first: every run starts from nothing. */
  dataDir: string;
  say: Say;
}

export interface ChaosResult {
  faults: FaultReport[];
  checks: ChaosCheck[];
  markdown: string;
  passed: boolean;
}

/** The synchronous calls' target: answered 2xx across the NATS-node and gateway kills. */
export const SYNC_TARGET = 0.99;
const SYNC_KINDS = ["verification"];

const sandboxUrl = (cluster: Cluster, agency: string) => cluster.env[urlEnv(SANDBOXES.find((s) => s.agency === agency)!)]!;

/** A partner with every scope and a quota far above the load (the test partner's 600 a minute is the load itself), registered through the CLI. */
function chaosPartner(cluster: Cluster): { clientId: string; clientSecret: string } {
  const made = runCli(["partners", "add", "chaos-partner", "--scopes", "all", "--purposes", "all", "--quota", "100000/60", "--json"], cluster.env);
  if (made.status !== 0) throw new Error(`partners add chaos-partner failed: ${made.stderr}`);
  return JSON.parse(made.stdout) as { clientId: string; clientSecret: string };
}

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  fs.rmSync(o.dataDir, { recursive: true, force: true });
  const cluster = await startCluster({ gateways: 2, adapters: 2, workers: 2, ports: o.ports, dataDir: o.dataDir, say: o.say });
  try {
    const partner = chaosPartner(cluster);
    const civilRegistryUrl = sandboxUrl(cluster, "civil-registry");
    const utilitiesUrl = sandboxUrl(cluster, "utilities");
    const load = await startWorkload({ baseUrl: cluster.url, civilRegistryUrl, utilitiesUrl, ...partner, perSecond: o.perSecond });
    o.say(`load: about ${o.perSecond} requests a second through ${cluster.url}`);
    await sleep(o.healMs);
    const windows: FaultWindow[] = [];
    for (let cycle = 0; cycle < o.cycles; cycle++)
      for (const fault of faultsOf(cycle)) {
        const start = Date.now();
        const target = await fault.run(cluster, o.downMs);
        const back = Date.now();
        o.say(`${target}: ${fault.kind === "postgres" || fault.kind === "temporal" ? "restarted" : "killed, started again"} (${back - start} ms)`);
        await sleep(o.healMs);
        windows.push({ kind: fault.kind, target, start, back, until: Date.now() });
      }
    const outcomes = await load.stop();
    o.say(`load stopped: ${outcomes.length} requests; checking their effects`);
    const checks = await checkOutcomes({
      ...partner,
      outcomes,
      baseUrl: cluster.url,
      databaseUrl: cluster.env.DATABASE_URL!,
      env: cluster.env,
      settleMs: 60_000,
    });
    const sync = answeredShare(outcomes, windows, SYNC_KINDS, ["nats-node", "gateway"]);
    checks.push({
      name: `at least ${SYNC_TARGET * 100} % of synchronous calls answered 2xx across the NATS-node and gateway kills`,
      ok: sync.share >= SYNC_TARGET,
      detail: `${sync.ok} of ${sync.requests} (${(sync.share * 100).toFixed(2)} %)`,
    });
    const faults = windows.map((w) => faultReport(w, outcomes));
    const summary = [`${o.cycles} cycle(s): ${describeFigures(outcomes)}`];
    const result = { faults, checks, markdown: markdown(faults, checks, summary), passed: checks.every((c) => c.ok) };
    fs.writeFileSync(path.join(o.dataDir, "chaos-report.md"), result.markdown + "\n");
    fs.writeFileSync(path.join(o.dataDir, "chaos-report.json"), JSON.stringify({ faults, checks, outcomes }, null, 1));
    return result;
  } finally {
    await cluster.stop();
  }
}
