/**
 * The hub in a production shape on this machine (issue 23): a 3-node NATS cluster with the
 * streams at 3 replicas, the Temporal server on PostgreSQL, a PostgreSQL instance of the
 * cluster's own (or DATABASE_URL), gateways behind HAProxy, adapter and worker nodes run
 * from dist/, the agency sandboxes, and Prometheus scraping every node. Each node can be
 * killed and restarted one at a time (ops/chaos.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { natsAuthDir, stackCredsFile } from "../../platform/nats-auth";
import { startNatsCluster, type NatsCluster } from "./nats-cluster";
import { startHaproxy } from "./haproxy";
import { configFor, startPrometheus } from "./prometheus";
import { startPostgresInstance, type PostgresInstance } from "./postgres-instance";
import { startTemporalServer, type TemporalServer } from "./temporal-server";
import { hubNodeArgs, SANDBOXES, startHubNode, startSandbox, urlEnv, type Say } from "./services";
import { MissingPieceError } from "./provision";
import { startRestartable, stopAll, type Managed, type Restartable } from "./processes";
import { registerAgencies, registrationLine } from "./agencies";

export interface ClusterPorts {
  /** HAProxy: the partners' address. */
  lb: number;
  /** HAProxy's stats page and Prometheus metrics. */
  lbStats: number;
  /** The first gateway's port; the others follow. */
  gateways: number;
  /** /metrics and /readyz of the first adapter or worker node (HUB_METRICS_PORT); the others follow. */
  nodes: number;
  /** The first worker's Temporal SDK metrics (HUB_WORKER_METRICS_PORT); the others follow. */
  workerMetrics: number;
  /** The first NATS node's client port; the other two follow. */
  nats: number;
  temporal: number;
  temporalMetrics: number;
  postgres: number;
  prometheus: number;
  /** The first sandbox's port (civil registry); the others follow in SANDBOXES' order. */
  sandboxes: number;
}

/** `npm start`'s addresses where the cluster has the same pieces (the load balancer on HUB_PORT's 3000, NATS from 4222, the sandboxes'). */
export const CLUSTER_PORTS: ClusterPorts = {
  lb: 3000,
  lbStats: 3099,
  gateways: 3001,
  nodes: 9101,
  workerMetrics: 9464,
  nats: 4222,
  temporal: 7233,
  temporalMetrics: 9233,
  postgres: 5433,
  prometheus: 9090,
  sandboxes: 4101,
};

/** The largest port offset that keeps every port below Linux's ephemeral range (32768 and up), where an outgoing connection may hold a port. */
export const MAX_PORT_OFFSET = 32_767 - Math.max(...Object.values(CLUSTER_PORTS));

/** Every port moved by `offset` (a second cluster beside the first: the chaos test's). */
export const shiftedPorts = (offset: number, ports = CLUSTER_PORTS): ClusterPorts =>
  Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, v + offset])) as unknown as ClusterPorts;

export interface ClusterOptions {
  gateways: number;
  adapters: number;
  workers: number;
  ports: ClusterPorts;
  /** State and logs: the NATS stores, PostgreSQL's files, keys, Prometheus's data. */
  dataDir: string;
  /** The hub's database; unset: the cluster's own PostgreSQL instance. */
  databaseUrl?: string;
  say: Say;
}

export type Role = "gateway" | "adapter" | "worker";

/** A hub node of the cluster; chaos kills its process and restarts it. */
export interface ClusterNode {
  name: string;
  role: Role;
  /** Where its /readyz and /metrics answer. */
  url: string;
  process: Restartable;
}

export interface Cluster {
  /** The load balancer's URL: what partners call. */
  url: string;
  /** The environment a tool of the hub (the CLI, a test) needs to reach this cluster. */
  env: NodeJS.ProcessEnv;
  nodes: ClusterNode[];
  nats: NatsCluster;
  temporal: TemporalServer;
  /** Unset when the hub runs on DATABASE_URL. */
  postgres?: PostgresInstance;
  prometheusUrl: string;
  stop(): Promise<void>;
}

const SERVICES: Record<Role, string> = {
  gateway: "api",
  adapter: "civil-registry,emergency,utilities,crowd,flights",
  worker: "linkages,worker",
};

/** The settings of a node of `role`, number `i` (from 0). */
function nodeEnv(role: Role, i: number, ports: ClusterPorts): NodeJS.ProcessEnv {
  const name = `${role}-${i + 1}`;
  const env: NodeJS.ProcessEnv = { HUB_SERVICES: SERVICES[role], HUB_NODE_ID: name, HUB_WORKER_METRICS_PORT: "off" };
  if (role === "gateway") env.HUB_PORT = String(ports.gateways + i);
  else env.HUB_METRICS_PORT = String(ports.nodes + (role === "worker" ? 50 : 0) + i);
  if (role === "worker") env.HUB_WORKER_METRICS_PORT = String(ports.workerMetrics + i);
  return env;
}

async function startNode(role: Role, i: number, o: ClusterOptions, env: NodeJS.ProcessEnv): Promise<ClusterNode> {
  const own = nodeEnv(role, i, o.ports);
  const name = own.HUB_NODE_ID!;
  const url = `http://127.0.0.1:${own.HUB_PORT ?? own.HUB_METRICS_PORT}`;
  const launch = () => startHubNode(name, { ...env, ...own }, `${url}/readyz`, path.join(o.dataDir, "logs"), { compiled: true });
  return { name, role, url, process: await startRestartable(name, launch) };
}

/**
 * Starts the whole cluster; on a failure, stops what it started and throws. Each piece joins
 * `started` once up, so a caller stopped halfway (Ctrl-C) can stop what is there.
 */
export async function startCluster(o: ClusterOptions, started: Managed[] = []): Promise<Cluster> {
  if (!fs.existsSync(hubNodeArgs(true)[0]!)) throw new MissingPieceError("no dist/: run `npm run build` first");
  const { ports, dataDir, say } = o;
  const logDir = path.join(dataDir, "logs");
  try {
    const postgres = o.databaseUrl ? undefined : await startPostgresInstance({ dir: path.join(dataDir, "postgres"), port: ports.postgres, logDir, say });
    if (postgres) started.push(postgres);
    const databaseUrl = o.databaseUrl ?? postgres!.url("linkage_hub");
    const db = new URL(databaseUrl);
    const temporalAddress = `127.0.0.1:${ports.temporal}`;
    const natsUrls = [0, 1, 2].map((i) => `nats://127.0.0.1:${ports.nats + i}`);
    const sandboxUrl = (i: number) => `http://127.0.0.1:${ports.sandboxes + i}`;
    const [temporal, nats] = await Promise.all([
      startTemporalServer({
        address: temporalAddress,
        metricsPort: ports.temporalMetrics,
        postgres: { host: db.hostname, port: Number(db.port || 5432), user: decodeURIComponent(db.username), password: decodeURIComponent(db.password) },
        dataDir: path.join(dataDir, "temporal"),
        logDir,
        say,
      }),
      startNatsCluster(natsUrls, dataDir, say),
    ]);
    started.push(temporal, { name: "nats-cluster", stop: () => nats.stop() });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HUB_DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      NATS_URL: natsUrls.join(","),
      NATS_CREDS: stackCredsFile(dataDir),
      NATS_SYSTEM_CREDS: path.join(natsAuthDir(dataDir), "system.creds"),
      HUB_STREAM_REPLICAS: "3",
      TEMPORAL_ADDRESS: temporalAddress,
      HUB_HOST: "127.0.0.1",
      HUB_PORT: String(ports.lb),
      ...Object.fromEntries(SANDBOXES.map((s, i) => [urlEnv(s), sandboxUrl(i)])),
    };
    const sandboxes = await Promise.all(SANDBOXES.map((s, i) => startSandbox(s.agency, sandboxUrl(i), dataDir, { DATABASE_URL: databaseUrl }, say)));
    started.push(...sandboxes);
    const nodes = await startNodes(o, env, started);
    const gateways = nodes.filter((n) => n.role === "gateway").map((n) => n.url.replace("http://", ""));
    started.push(await startHaproxy({ port: ports.lb, statsPort: ports.lbStats, gateways }, dataDir, say));
    for (const r of await registerAgencies(env)) say(registrationLine(r));
    started.push(await scrapeAll(o, nodes));
    return {
      url: `http://127.0.0.1:${ports.lb}`,
      env,
      nodes,
      nats,
      temporal,
      postgres,
      prometheusUrl: `http://127.0.0.1:${ports.prometheus}`,
      stop: () => stopAll(started),
    };
  } catch (err) {
    await stopAll(started);
    throw err;
  }
}

/** The hub's nodes, each added to `started` once up: one gateway first (it brings the database's schema up to date), then the rest at once. */
async function startNodes(o: ClusterOptions, env: NodeJS.ProcessEnv, started: Managed[]): Promise<ClusterNode[]> {
  const count: Record<Role, number> = { gateway: o.gateways, adapter: o.adapters, worker: o.workers };
  const plan = (Object.keys(count) as Role[]).flatMap((role) => Array.from({ length: count[role] }, (_, i) => [role, i] as const));
  const start = async ([role, i]: (typeof plan)[number]) => {
    const node = await startNode(role, i, o, env);
    started.push(node.process);
    return node;
  };
  const first = await start(plan[0]!);
  const nodes = [first, ...(await Promise.all(plan.slice(1).map(start)))];
  o.say(`hub nodes (from dist/): ${nodes.map((n) => `${n.name} ${n.url}`).join(", ")}`);
  return nodes;
}

/** Prometheus with the hub's rules, scraping every hub node, each worker's SDK metrics, the Temporal server and HAProxy. */
async function scrapeAll(o: ClusterOptions, nodes: ClusterNode[]): Promise<Managed> {
  const { ports, dataDir, say } = o;
  const hostPort = (url: string) => url.replace("http://", "");
  const targets = {
    hub: nodes.map((n) => hostPort(n.url)),
    "temporal-worker": nodes.filter((n) => n.role === "worker").map((_, i) => `127.0.0.1:${ports.workerMetrics + i}`),
    "temporal-server": [`127.0.0.1:${ports.temporalMetrics}`],
    haproxy: [`127.0.0.1:${ports.lbStats}`],
  };
  const configFile = path.join(dataDir, "prometheus.yml");
  fs.writeFileSync(configFile, configFor(targets, "5s"));
  return startPrometheus({ configFile, port: ports.prometheus, dataDir, say });
}
