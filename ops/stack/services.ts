/**
 * The services the hub stands on, each used where it already runs and started otherwise:
 * NATS with JetStream, the Temporal dev server, PostgreSQL (tests), the agency sandboxes
 * and hub nodes. State lives under the data directory, so a restart keeps it.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { Connection } from "@temporalio/client";
import { msToTs } from "@temporalio/common/lib/time";
import pg from "pg";
import { ensureBinary, MissingPieceError } from "./provision";
import { loadConfig, SETTINGS } from "../../platform/config";
import type { SandboxUrlSetting } from "../../sandbox-kit/main";
import { SEARCH_ATTRIBUTES } from "../../workflows/linkages/visibility";
import { spawnManaged, tcpReachable, waitFor, type Managed } from "./processes";
import { NATS_MAX_PAYLOAD, prepareNatsServer, type NatsServerTls } from "./nats-server";
import { startNatsCluster } from "./nats-cluster";
import { natsServers } from "../../platform/nats-auth";

const ROOT = path.resolve(__dirname, "../..");
const NODE = process.execPath;
export type Say = (line: string) => void;

export function hostPort(address: string): { host: string; port: number } {
  const url = new URL(address.includes("://") ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
}

const isLocal = (host: string) => ["127.0.0.1", "localhost", "::1", "[::1]"].includes(host);

/**
 * What is already listening at `address`. On this machine `confirm` checks that it is `name`
 * (it throws when the port is taken by something else); elsewhere it is the real system.
 */
async function useRunning(name: string, address: string, say: Say, confirm?: () => Promise<void>): Promise<Managed | undefined> {
  const { host, port } = hostPort(address);
  if (await tcpReachable(host, port)) {
    if (isLocal(host)) await confirm?.();
    say(`${name}: using the one running at ${address}`);
    return { name, stop: async () => {} };
  }
  if (!isLocal(host)) throw new MissingPieceError(`${name} at ${address} is not reachable (and the stack starts ${name} only on this machine)`);
  return undefined;
}

/** Where the NATS server the stack starts keeps its JetStream store (its streams' messages). */
export const natsStoreDir = (dataDir: string) => path.join(dataDir, "nats");

/** The Temporal dev server's SQLite database the stack starts it with (its `-wal` beside it). */
export const temporalDbFile = (dataDir: string) => path.join(dataDir, "temporal.sqlite");

/**
 * NATS with JetStream and authentication: the one running at `natsUrl` (used with the
 * credentials given), else one started with its configuration and the hub's own user made
 * under `dataDir` (prepareNatsServer), TLS when `tls` names a certificate. A NATS_URL that
 * lists several servers is a cluster: the running one if its first server answers, else a
 * cluster of the stack's own at those URLs (ops/stack/nats-cluster.ts); its `child` is then
 * the first node's, and `stop` stops every node.
 */
export async function startNats(natsUrl: string, dataDir: string, say: Say, tls?: NatsServerTls): Promise<Managed> {
  const servers = natsServers(natsUrl);
  const running = await useRunning("nats", servers[0]!, say);
  if (running) return running;
  fs.mkdirSync(dataDir, { recursive: true });
  if (servers.length > 1) {
    const cluster = await startNatsCluster(servers, dataDir, say, { tls });
    return { name: "nats-cluster", child: cluster.processes[0]!.child, logFile: cluster.processes[0]!.logFile, stop: () => cluster.stop() };
  }
  const { host, port } = hostPort(natsUrl);
  const bin = await ensureBinary("nats-server", say);
  const storeDir = natsStoreDir(dataDir);
  const { configFile, credsFile } = prepareNatsServer(dataDir, tls);
  const service = spawnManaged({
    name: "nats",
    command: bin,
    args: ["-c", configFile, "-js", "-a", host, "-p", String(port), "-sd", storeDir],
    logDir: path.join(dataDir, "logs"),
  });
  await waitFor("nats-server", () => tcpReachable(host, port), 15_000, service.child, service.logFile);
  say(`nats: started at ${natsUrl} (JetStream store ${storeDir}, max_payload ${NATS_MAX_PAYLOAD}, hub credentials ${credsFile}${tls ? ", TLS" : ""})`);
  return service;
}

export async function temporalHealthy(address: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.withDeadline(Date.now() + 1000, () => connection.healthService.check({}));
    return true;
  } finally {
    await connection.close();
  }
}

/** `ports.codecEndpoint`: the codec server the UI decodes payloads with (the hub's `/codec`; docs/operators.md). */
export async function startTemporal(
  address: string,
  ports: { ui: number; metrics: number; codecEndpoint?: string },
  dataDir: string,
  say: Say,
): Promise<Managed> {
  const running = await useRunning("temporal", address, say);
  if (running) return running;
  const { host, port } = hostPort(address);
  const bin = await ensureBinary("temporal", say);
  fs.mkdirSync(dataDir, { recursive: true });
  const dbFile = temporalDbFile(dataDir);
  // WAL and eager activities: about ten times the throughput of the defaults (see docs/configuration.md).
  const args = [
    "server",
    "start-dev",
    "--ip",
    host,
    "--port",
    String(port),
    "--ui-port",
    String(ports.ui),
    "--metrics-port",
    String(ports.metrics),
    "--db-filename",
    dbFile,
  ];
  if (ports.codecEndpoint) args.push("--ui-codec-endpoint", ports.codecEndpoint);
  args.push("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal");
  args.push("--dynamic-config-value", "system.enableActivityEagerExecution=true", "--log-level", "warn");
  for (const name of SEARCH_ATTRIBUTES) args.push("--search-attribute", `${name}=Keyword`);
  const service = spawnManaged({ name: "temporal", command: bin, args, logDir: path.join(dataDir, "logs") });
  await waitFor("temporal server", () => temporalHealthy(address), 60_000, service.child, service.logFile);
  const { temporalNamespace, temporalRetentionDays } = loadConfig();
  await setNamespaceRetention(address, temporalNamespace, temporalRetentionDays);
  say(`temporal: started at ${address} (database ${dbFile}, closed workflows kept ${temporalRetentionDays} days in ${temporalNamespace})`);
  return service;
}

/**
 * The namespace's retention for closed workflows (what `temporal operator namespace update
 * --retention <days>d` sets): Temporal deletes a closed workflow's history that long after it
 * closed; the linkage's outcome stays in the hub's database (workflows/service/outcomes.ts).
 */
export async function setNamespaceRetention(address: string, namespace: string, days: number): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: msToTs(days * 86_400_000) } });
  } finally {
    await connection.close();
  }
}

/**
 * A PostgreSQL URL for tests: DATABASE_URL when set, else the machine's local cluster
 * (started if stopped), with a role and database of the hub's own; `fresh` drops and
 * recreates that database so the run starts from nothing.
 */
export async function testDatabaseUrl(say: Say, fresh: boolean, database = "linkage_hub_test"): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
  return localDatabaseUrl(say, fresh, database);
}

/** `database` on the machine's local cluster (started if stopped), whatever DATABASE_URL says: for a tool that needs a database of its own. */
export async function localDatabaseUrl(say: Say, fresh: boolean, database: string): Promise<string> {
  const url = `postgres://linkage_hub:linkage_hub@127.0.0.1:5432/${database}`;
  const canConnect = async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  };
  const psql = (sql: string) =>
    execFileSync("runuser", ["-u", "postgres", "--", "psql", "-v", "ON_ERROR_STOP=1", "-qtAc", sql], { encoding: "utf8", cwd: "/" }).trim();
  const help = "Set DATABASE_URL to a PostgreSQL database the tests may use, or install PostgreSQL (Debian: apt-get install postgresql).";
  const reachable = await canConnect();
  if (!reachable) {
    let clusters: string;
    try {
      clusters = execFileSync("pg_lsclusters", ["--no-header"], { encoding: "utf8" });
    } catch {
      throw new MissingPieceError(`No PostgreSQL for the tests: pg_lsclusters is not available. ${help}`);
    }
    const [version, cluster, , status] = clusters.trim().split("\n")[0]?.split(/\s+/) ?? [];
    if (!version || !cluster) throw new MissingPieceError(`No PostgreSQL cluster on this machine. ${help}`);
    if (status !== "online") {
      say(`postgres: starting the local cluster ${version}/${cluster}`);
      execFileSync("pg_ctlcluster", [version, cluster, "start"], { stdio: "inherit" });
    }
  }
  if (reachable && !fresh) return url;
  try {
    // CREATEDB: tests that need a database of their own create a scratch one.
    if (!psql("SELECT 1 FROM pg_roles WHERE rolname = 'linkage_hub'")) psql("CREATE ROLE linkage_hub LOGIN CREATEDB PASSWORD 'linkage_hub'");
    // A run that owns the stack starts from a clean database, also after the machine restarted.
    if (fresh) psql(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    if (!psql(`SELECT 1 FROM pg_database WHERE datname = '${database}'`)) psql(`CREATE DATABASE ${database} OWNER linkage_hub`);
  } catch (err) {
    throw new MissingPieceError(`Could not prepare the local PostgreSQL cluster (${(err as Error).message.split("\n")[0]}). ${help}`);
  }
  await waitFor("postgres", canConnect, 15_000);
  say(`postgres: ${fresh ? "fresh" : "using"} database ${database} on the local cluster`);
  return url;
}

async function httpOk(url: string): Promise<boolean> {
  const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
  return res.ok;
}

/**
 * The agency sandboxes: each plays its agency's system from <folder>/<agency>/sandbox/server.ts
 * (adapters/ for the agencies with an adapter, agencies/ for those joined through the
 * catalogue), at the base URL the hub is configured to call (`env`), on `testUrl` under `npm test`.
 */
export const SANDBOXES: { agency: string; folder: "adapters" | "agencies"; url: SandboxUrlSetting; testUrl: string }[] = [
  { agency: "civil-registry", folder: "adapters", url: "civilRegistryUrl", testUrl: "http://127.0.0.1:14101" },
  { agency: "emergency", folder: "adapters", url: "emergencyUrl", testUrl: "http://127.0.0.1:14102" },
  { agency: "utilities", folder: "adapters", url: "utilitiesUrl", testUrl: "http://127.0.0.1:14103" },
  { agency: "public-security", folder: "agencies", url: "publicSecurityUrl", testUrl: "http://127.0.0.1:14104" },
  { agency: "fire-safety", folder: "agencies", url: "fireSafetyUrl", testUrl: "http://127.0.0.1:14105" },
  { agency: "aviation", folder: "agencies", url: "aviationUrl", testUrl: "http://127.0.0.1:14106" },
];

/** The environment variable that holds a sandbox's (and its agency's) base URL. */
export const urlEnv = (sandbox: (typeof SANDBOXES)[number]) => SETTINGS[sandbox.url].env;

export async function startSandbox(agency: string, url: string, dataDir: string, env: NodeJS.ProcessEnv, say: Say): Promise<Managed> {
  const sandbox = SANDBOXES.find((s) => s.agency === agency)!;
  const running = await useRunning(`${agency} sandbox`, url, say, async () => {
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.json() as Promise<{ sandbox?: unknown }>,
      () => undefined,
    );
    if (health?.sandbox !== agency)
      throw new MissingPieceError(`${url} is taken by something that is not the ${agency} sandbox; set ${urlEnv(sandbox)} to a free address`);
  });
  if (running) return running;
  const service = spawnManaged({
    name: `sandbox-${agency}`,
    command: NODE,
    args: ["--import", "tsx", path.join(ROOT, `${sandbox.folder}/${agency}/sandbox/server.ts`)],
    env: { ...env, [urlEnv(sandbox)]: url, HUB_DATA_DIR: dataDir },
    logDir: path.join(dataDir, "logs"),
  });
  await waitFor(`${agency} sandbox`, () => httpOk(`${url}/healthz`), 30_000, service.child, service.logFile);
  say(`${agency} sandbox: started at ${url}`);
  return service;
}

/** The command line of a hub node: the sources through tsx, or the build in dist/ (`npm run build`). */
export const hubNodeArgs = (compiled = false) => (compiled ? [path.join(ROOT, "dist/hub/node.js")] : ["--import", "tsx", path.join(ROOT, "hub/node.ts")]);

export interface HubNodeOptions {
  /** Also copy the node's output here. */
  echo?: NodeJS.WritableStream;
  /** Node's own options, before the script (the bench's `--cpu-prof`, say). */
  nodeArgs?: string[];
  /** Run dist/hub/node.js, not the sources. */
  compiled?: boolean;
}

/** A hub node process; resolves once its /readyz answers 200. */
export async function startHubNode(name: string, env: NodeJS.ProcessEnv, readyUrl: string, logDir: string, o: HubNodeOptions = {}): Promise<Managed> {
  const args = [...(o.nodeArgs ?? []), ...hubNodeArgs(o.compiled)];
  const service = spawnManaged({ name, command: NODE, args, env, logDir, echo: o.echo });
  try {
    await waitFor(`hub node ${name}`, () => httpOk(readyUrl), 90_000, service.child, service.logFile);
  } catch (err) {
    await service.stop();
    throw err;
  }
  return service;
}
