/**
 * `npm run cluster`: the hub in a production shape on this machine (ops/stack/cluster.ts),
 * built first and run from dist/. Ctrl-C stops all of it, the load balancer and hub nodes
 * first, what they stand on last.
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "../platform/config";
import { build } from "./build";
import { CLUSTER_PORTS, MAX_PORT_OFFSET, shiftedPorts, startCluster, type Cluster } from "./stack/cluster";
import { stopAll, tcpReachable, type Managed } from "./stack/processes";
import { MissingPieceError } from "./stack/provision";
import { SANDBOXES, urlEnv } from "./stack/services";

const P = CLUSTER_PORTS;
const HELP = `Usage: npm run cluster [-- --gateways N] [--adapters N] [--workers N] [--port-offset N] [--no-build]

Builds the hub (npm run build; --no-build runs the dist/ there is) and starts it as it runs
in production, every node from dist/, and prints the load balancer's URL:
  HAProxy          http://127.0.0.1:${P.lb} (stats and metrics on ${P.lbStats}), in front of the gateways
  gateways         --gateways (default 2), on ${P.gateways} and up; readiness without Temporal
  adapter nodes    --adapters (default 2): civil registry, emergency, utilities, crowd, flights
  workers          --workers (default 2): linkages and the Temporal worker
  NATS             3 nodes in one cluster with JetStream on ${P.nats}-${P.nats + 2}, the streams at 3 replicas
  Temporal server  ${P.temporal} (metrics ${P.temporalMetrics}), on PostgreSQL, built once with go install
  PostgreSQL       DATABASE_URL, else an instance of its own (initdb) under $HUB_DATA_DIR/cluster on ${P.postgres}
  sandboxes        the agencies' sandboxes on ${P.sandboxes}-${P.sandboxes + SANDBOXES.length - 1}, as npm start has them
  Prometheus       ${P.prometheus}, scraping every node, the Temporal server and HAProxy
--port-offset moves every port (a second cluster beside another stack). State and logs
live in $HUB_DATA_DIR/cluster (default .data/cluster). Ctrl-C stops everything.`;

const say = (line: string) => console.log(`[cluster] ${line}`);
const count = (value: string | undefined, flag: string, fallback: number) => {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < 1 || n > 9) throw new ConfigError(`${flag} wants a count from 1 to 9, not ${value}\n\n${HELP}`);
  return n;
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      gateways: { type: "string" },
      adapters: { type: "string" },
      workers: { type: "string" },
      "port-offset": { type: "string" },
      "no-build": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return (console.log(HELP), 0);
  const offset = Number(values["port-offset"] ?? 0);
  // Above 32767 a port may be held by an outgoing connection (Linux's ephemeral range), and a listener cannot have it.
  if (!Number.isInteger(offset) || offset < 0 || offset > MAX_PORT_OFFSET)
    throw new ConfigError(`--port-offset wants a whole number from 0 to ${MAX_PORT_OFFSET}\n\n${HELP}`);
  const ports = shiftedPorts(offset);
  const url = `http://127.0.0.1:${ports.lb}`;
  if (await tcpReachable("127.0.0.1", ports.lb))
    throw new ConfigError(`${url} is taken: is npm start or another cluster running? (--port-offset moves this one)`);
  say(`load balancer: ${url} (starting)`);
  if (!values["no-build"]) {
    say("building dist/ (npm run build, about a minute)");
    await build();
  }
  const dataDir = path.resolve(loadConfig().dataDir, "cluster");
  const started: Managed[] = [];
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say("stopping: load balancer and hub nodes, then sandboxes, NATS, Temporal, PostgreSQL");
    await stopAll(started);
    say("stopped");
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop(0));
  const cluster = await startCluster(
    {
      gateways: count(values.gateways, "--gateways", 2),
      adapters: count(values.adapters, "--adapters", 2),
      workers: count(values.workers, "--workers", 2),
      ports,
      dataDir,
      databaseUrl: process.env.DATABASE_URL || undefined,
      say,
    },
    started,
  );
  console.log(summary(cluster, dataDir));
  return new Promise<number>(() => {});
}

function summary(c: Cluster, dataDir: string): string {
  const lines = [
    `\nLinkage Hub cluster is running: ${c.url}  (the REST API at ${c.url}/v1, docs at ${c.url}/docs)`,
    ...c.nodes.map((n) => `  ${n.name.padEnd(12)}${n.url}/readyz  ${n.url}/metrics`),
    `  NATS        ${c.env.NATS_URL}  (credentials ${c.env.NATS_CREDS})`,
    `  Temporal    ${c.env.TEMPORAL_ADDRESS}  (temporal --address ${c.env.TEMPORAL_ADDRESS} --codec-endpoint ${c.url}/codec ...)`,
    `  PostgreSQL  ${c.env.DATABASE_URL!.replace(/:[^:@/]+@/, ":***@")}`,
    `  Prometheus  ${c.prometheusUrl}`,
    ...SANDBOXES.map((s) => `  Sandbox     ${c.env[urlEnv(s)]}  (${s.agency})`),
    `  Logs        ${path.join(dataDir, "logs")}/`,
    "The CLI (npx linkage-hub partners add --test, say) reaches it with these settings:",
    `  export ${["HUB_DATA_DIR", "NATS_URL", "TEMPORAL_ADDRESS", "DATABASE_URL"].map((k) => `${k}=${c.env[k]}`).join(" ")}`,
    "Press Ctrl-C to stop.",
  ];
  return lines.join("\n");
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof ConfigError || err instanceof MissingPieceError ? `\n${err.message}\n` : err);
    process.exit(1);
  },
);
