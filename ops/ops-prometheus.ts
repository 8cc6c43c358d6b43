/**
 * `npm run ops:prometheus`: a real Prometheus (Debian's, installed on first use) scraping the
 * stack `npm start` runs, with the hub's recording and alerting rules; its UI shows targets,
 * rules, alerts and any PromQL. Ctrl-C stops it; its data stays in $HUB_DATA_DIR/prometheus.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { ConfigError, loadConfig } from "../platform/config";
import { MissingPieceError } from "./stack/provision";
import { configFor, ensurePrometheus, startPrometheus } from "./stack/prometheus";

const HELP = `Usage: npm run ops:prometheus [-- --port <port>]

Starts Prometheus (Debian's prometheus package, installed with apt-get on first use) with
ops/prometheus/prometheus.yml and its rules (ops/prometheus/rules/), scraping the stack of
\`npm start\` on this machine: the hub at HUB_HOST:HUB_PORT, the Temporal worker's SDK
metrics at HUB_WORKER_METRICS_PORT and the Temporal server's at TEMPORAL_METRICS_PORT.
Open http://127.0.0.1:9090 (or --port): Status > Targets, Alerts, Graph.
Its data is kept in $HUB_DATA_DIR/prometheus; Ctrl-C stops it.`;

const say = (line: string) => console.log(`[prometheus] ${line}`);

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) return (console.log(HELP), 0);
  const portArg = args.indexOf("--port");
  const port = portArg >= 0 ? Number(args[portArg + 1]) : 9090;
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigError(`--port wants a port number, not ${args[portArg + 1]}\n\n${HELP}`);

  const config = loadConfig();
  const { promtool } = await ensurePrometheus(say);
  const host = config.host;
  const targets = {
    hub: [`${host}:${config.port}`],
    "temporal-worker": config.workerMetricsPort === undefined ? [] : [`${host}:${config.workerMetricsPort}`],
    "temporal-server": [`${config.temporalAddress.split(":")[0]}:${config.temporalMetricsPort}`],
  };
  fs.mkdirSync(config.dataDir, { recursive: true });
  const configFile = path.resolve(config.dataDir, "prometheus.yml");
  fs.writeFileSync(configFile, configFor(targets));
  const check = spawnSync(promtool, ["check", "config", configFile], { encoding: "utf8" });
  if (check.status !== 0) throw new MissingPieceError(`promtool check config failed:\n${check.stdout}${check.stderr}`);

  say(`starting on port ${port}, scraping ${Object.values(targets).flat().join(", ")}`);
  const prometheus = await startPrometheus({ configFile, port, dataDir: path.resolve(config.dataDir), say });
  say(`ready: open http://127.0.0.1:${port} (targets: /targets, alerts: /alerts). Logs: ${prometheus.logFile}. Ctrl-C stops it.`);
  const exited = await new Promise<number | null | undefined>((resolve) => {
    process.once("SIGINT", () => resolve(undefined));
    process.once("SIGTERM", () => resolve(undefined));
    prometheus.child?.once("exit", (code) => resolve(code));
  });
  if (exited !== undefined) {
    say(`prometheus exited on its own (code ${exited}); see ${prometheus.logFile}`);
    return 1;
  }
  say("stopping");
  await prometheus.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError || err instanceof MissingPieceError ? `\n${err.message}\n` : err);
    process.exit(1);
  },
);
