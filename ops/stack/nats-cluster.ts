/**
 * A NATS cluster of the stack's own on this machine: one nats-server per URL of NATS_URL's
 * list, with JetStream, in one cluster (full mesh of authenticated routes), each with its own
 * folder and store, all with the same operator, accounts and users (ops/stack/nats-auth.ts:
 * one account file every node includes, so a user made once is admitted by every node and a
 * revocation reaches them all with a reload). The hub's streams then take HUB_STREAM_REPLICAS
 * replicas (3 here), so losing any one node loses no event.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { connect, credsAuthenticator } from "nats";
import { natsClusterDir, prepareNatsServer, type NatsClusterSettings, type NatsServerTls } from "./nats-server";
import { ensureBinary } from "./provision";
import { spawnManaged, stopAll, tcpReachable, waitFor, type Managed } from "./processes";

export const NATS_CLUSTER_NAME = "linkage-hub";
/** A node's route port, when not given: its client port + 26 (4222 routes on 4248). */
export const ROUTE_PORT_OFFSET = 26;

export interface NatsClusterNode {
  serverName: string;
  url: string;
  host: string;
  port: number;
  routePort: number;
  storeDir: string;
}

export interface NatsCluster {
  nodes: NatsClusterNode[];
  /** The running process of each node, by index (replaced when a node is restarted). */
  processes: Managed[];
  /** The hub's own node user, admitted by every node. */
  credsFile: string;
  /** Starts node `i` again (after it was stopped or killed), on its store; resolves once it is back in the cluster. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Route ports, one per URL (default: each client port + ROUTE_PORT_OFFSET). */
  routePorts?: number[];
  tls?: NatsServerTls;
  namespace?: string;
}

/** The route password every node shares, made once under the cluster's folder (0600). */
function routePassword(dataDir: string): string {
  const file = path.join(natsClusterDir(dataDir), "route.secret");
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url"), { mode: 0o600 });
  }
  return fs.readFileSync(file, "utf8").trim();
}

/** The nodes of a cluster at `urls`, each a name (n1, n2...), its route port and its store under `dataDir`. */
export function clusterNodes(urls: string[], dataDir: string, routePorts?: number[]): NatsClusterNode[] {
  return urls.map((url, i) => {
    const parsed = new URL(url);
    const port = Number(parsed.port || 4222);
    const serverName = `n${i + 1}`;
    return {
      serverName,
      url,
      host: parsed.hostname,
      port,
      routePort: routePorts?.[i] ?? port + ROUTE_PORT_OFFSET,
      storeDir: path.join(natsClusterDir(dataDir), serverName, "jetstream"),
    };
  });
}

/**
 * Starts a NATS cluster of `urls.length` nodes (3 for a cluster that loses one node without
 * losing JetStream) at those client URLs; resolves once JetStream answers through any node.
 */
export async function startNatsCluster(urls: string[], dataDir: string, say: (line: string) => void, o: NatsClusterOptions = {}): Promise<NatsCluster> {
  if (urls.length < 2) throw new Error("a NATS cluster needs at least 2 servers (3 to lose one and keep JetStream)");
  const bin = await ensureBinary("nats-server", say);
  const nodes = clusterNodes(urls, dataDir, o.routePorts);
  const password = routePassword(dataDir);
  const logDir = path.join(dataDir, "logs");
  let credsFile = "";
  const start = async (node: NatsClusterNode): Promise<Managed> => {
    const nodeDir = path.join(natsClusterDir(dataDir), node.serverName);
    const cluster: NatsClusterSettings = {
      name: NATS_CLUSTER_NAME,
      serverName: node.serverName,
      listen: `${node.host}:${node.routePort}`,
      routes: nodes.filter((n) => n !== node).map((n) => `nats-route://${n.host}:${n.routePort}`),
      routeUser: "route",
      routePassword: password,
    };
    const files = prepareNatsServer(dataDir, o.tls, o.namespace, { nodeDir, cluster });
    credsFile = files.credsFile;
    const args = ["-c", files.configFile, "-js", "-a", node.host, "-p", String(node.port), "-sd", node.storeDir];
    const service = spawnManaged({ name: `nats-${node.serverName}`, command: bin, args, logDir });
    await waitFor(`nats-server ${node.serverName}`, () => tcpReachable(node.host, node.port), 15_000, service.child, service.logFile);
    return service;
  };
  const processes: Managed[] = [];
  try {
    for (const node of nodes) processes.push(await start(node));
    await jetStreamReady(urls, credsFile, 60_000);
  } catch (err) {
    await stopAll(processes);
    throw err;
  }
  say(`nats: cluster ${NATS_CLUSTER_NAME} of ${nodes.length} started at ${urls.join(",")} (routes on ${nodes.map((n) => n.routePort).join(", ")}, JetStream)`);
  return {
    nodes,
    processes,
    credsFile,
    async restart(i) {
      await processes[i]!.stop();
      processes[i] = await start(nodes[i]!);
      await jetStreamReady([nodes[i]!.url], credsFile, 60_000);
    },
    stop: () => stopAll(processes),
  };
}

/** Waits until JetStream answers (the cluster has a meta leader) through the servers at `urls`. */
export async function jetStreamReady(urls: string[], credsFile: string, timeoutMs: number): Promise<void> {
  const authenticator = credsAuthenticator(new Uint8Array(fs.readFileSync(credsFile)));
  await waitFor(
    "NATS JetStream",
    async () => {
      const nc = await connect({ servers: urls, authenticator, maxReconnectAttempts: 0, timeout: 1000 });
      try {
        const jsm = await nc.jetstreamManager({ timeout: 1000 });
        await jsm.getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    },
    timeoutMs,
  );
}
