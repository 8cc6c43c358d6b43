/**
 * Prometheus and promtool from Debian's `prometheus` package (2.42), installed when missing,
 * and a Prometheus started as a managed process: `npm run ops:prometheus` against the local
 * stack, the ops test against its own. Either way the configuration is ops/prometheus's,
 * with its rule files; only the targets and intervals may be put in for another stack.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { ensureDebianPackage } from "./debian";
import { spawnManaged, waitFor, type Managed } from "./processes";

export const PROMETHEUS_DIR = path.resolve(__dirname, "../prometheus");
const BIN = { prometheus: "/usr/bin/prometheus", promtool: "/usr/bin/promtool" };

export async function ensurePrometheus(say: (line: string) => void = console.log): Promise<typeof BIN> {
  const help = "Install Debian's prometheus package (as root: apt-get update && apt-get install -y --no-install-recommends prometheus).";
  await ensureDebianPackage("prometheus", Object.values(BIN), help, say);
  return BIN;
}

export interface Targets {
  hub: string[];
  "temporal-worker": string[];
  "temporal-server": string[];
  /** A load balancer's metrics (the cluster's HAProxy): a job of its own. */
  haproxy?: string[];
}

/** ops/prometheus/prometheus.yml with other targets and intervals, its rule files by absolute path; a target it has no job for gets one. */
export function configFor(targets: Targets, interval?: string): string {
  const config = YAML.parse(fs.readFileSync(path.join(PROMETHEUS_DIR, "prometheus.yml"), "utf8"));
  if (interval) Object.assign(config.global, { scrape_interval: interval, evaluation_interval: interval });
  config.rule_files = config.rule_files.map((f: string) => path.join(PROMETHEUS_DIR, f));
  for (const job of config.scrape_configs) job.static_configs = [{ targets: targets[job.job_name as keyof Targets] ?? [] }];
  for (const [name, list] of Object.entries(targets))
    if (!config.scrape_configs.some((job: { job_name: string }) => job.job_name === name))
      config.scrape_configs.push({ job_name: name, static_configs: [{ targets: list }] });
  return YAML.stringify(config);
}

export async function startPrometheus(o: { configFile: string; port: number; dataDir: string; say: (line: string) => void }): Promise<Managed> {
  const { prometheus } = await ensurePrometheus(o.say);
  const service = spawnManaged({
    name: "prometheus",
    command: prometheus,
    args: [
      `--config.file=${o.configFile}`,
      `--storage.tsdb.path=${path.join(o.dataDir, "prometheus")}`,
      `--web.listen-address=127.0.0.1:${o.port}`,
      "--web.enable-lifecycle",
    ],
    logDir: path.join(o.dataDir, "logs"),
  });
  await waitFor("prometheus", async () => (await fetch(`http://127.0.0.1:${o.port}/-/ready`)).ok, 30_000, service.child, service.logFile);
  return service;
}
