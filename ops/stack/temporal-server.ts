/**
 * The Temporal server itself on PostgreSQL, for the production-shaped cluster (issue 23): the
 * `temporal-server` binary pinned in ops/versions.json, its schemas made and kept current with
 * `temporal-sql-tool`, its four services (frontend, history, matching, worker) in one process,
 * its configuration written under the data folder. Unlike the dev server (services.ts
 * startTemporal) it keeps nothing on local disk: a kill loses nothing that PostgreSQL holds.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { Connection } from "@temporalio/client";
import { msToTs } from "@temporalio/common/lib/time";
import pg from "pg";
import YAML from "yaml";
import { loadConfig } from "../../platform/config";
import { SEARCH_ATTRIBUTES } from "../../workflows/linkages/visibility";
import { ensureSearchAttributes } from "../../workflows/service/launch";
import { spawnReady, startRestartable, waitFor, type Restartable } from "./processes";
import { ensureBinary } from "./provision";
import { hostPort, setNamespaceRetention, temporalHealthy, type Say } from "./services";

export interface TemporalServerOptions {
  /** host:port of the frontend's gRPC; the other services take the ports after it (serverPorts). */
  address: string;
  /** Prometheus metrics of all four services, on host:metricsPort. */
  metricsPort: number;
  postgres: { host: string; port: number; user: string; password: string };
  /** Its configuration goes to <dataDir>/temporal-server/; its logs to logDir. */
  dataDir: string;
  logDir: string;
  say: Say;
}

/** kill() is a SIGKILL, as a crash: what the server had accepted is PostgreSQL's to keep; restart() resolves once it serves. */
export interface TemporalServer extends Restartable {
  address: string;
}

/** gRPC's status code for "not found" (what the server answers of a namespace or workflow it does not have). */
const GRPC_NOT_FOUND = 5;

/** The two databases and the schema each takes (embedded in temporal-sql-tool v1.32). */
const SCHEMAS = [
  { database: "temporal", schema: "postgresql/v12/temporal" },
  { database: "temporal_visibility", schema: "postgresql/v12/visibility" },
];

/** How many history shards: fixed for good at the first start; 4 is the Temporal's own development setting. */
const HISTORY_SHARDS = 4;

/**
 * The ports of the four services, from the frontend's p: gRPC p (frontend), p+11 (history),
 * p+12 (matching), p+13 (worker); HTTP API p+10 (7243 for 7233, as the dev server). Not p+1
 * and p+2: the stack gives those to the UI and metrics (7234, 7235). Each service's membership
 * (ringpop) port is its gRPC port + 10 (p+20..p+23), less 10000 as often as needed to stay
 * under 32768: the server keeps it in a smallint column and will not start above.
 */
export function serverPorts(port: number) {
  let membership = port + 20;
  while (membership + 3 > 32767) membership -= 10_000;
  return {
    frontend: { grpcPort: port, httpPort: port + 10, membershipPort: membership },
    history: { grpcPort: port + 11, membershipPort: membership + 1 },
    matching: { grpcPort: port + 12, membershipPort: membership + 2 },
    worker: { grpcPort: port + 13, membershipPort: membership + 3 },
  };
}

/** The server's configuration (what its config/development-postgres12.yaml holds), with the dynamic config file it polls. */
export function serverConfig(o: TemporalServerOptions, dynamicConfigFile: string): object {
  const { host, port } = hostPort(o.address);
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: "postgres12",
      databaseName,
      connectAddr: `${o.postgres.host}:${o.postgres.port}`,
      connectProtocol: "tcp",
      user: o.postgres.user,
      password: o.postgres.password,
      // Per service (four in the process): 4 x (10 + 5) of PostgreSQL's connections at most.
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: "1h",
    },
  });
  const services = Object.fromEntries(Object.entries(serverPorts(port)).map(([name, rpc]) => [name, { rpc: { ...rpc, bindOnIP: host } }]));
  return {
    log: { stdout: true, level: "warn" },
    persistence: {
      defaultStore: "postgres-default",
      visibilityStore: "postgres-visibility",
      numHistoryShards: HISTORY_SHARDS,
      datastores: { "postgres-default": store("temporal", 10), "postgres-visibility": store("temporal_visibility", 5) },
    },
    global: {
      membership: { maxJoinDuration: "30s", broadcastAddress: host },
      metrics: { prometheus: { framework: "tally", timerType: "histogram", listenAddress: `${host}:${o.metricsPort}` } },
    },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: "active",
      currentClusterName: "active",
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: "frontend", rpcAddress: o.address } },
    },
    dcRedirectionPolicy: { policy: "noop" },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: "10s" },
  };
}

/** Writes the configuration and its dynamic config under <dataDir>/temporal-server/ (0600: it holds the database password). */
function writeConfig(o: TemporalServerOptions): string {
  const dir = path.join(o.dataDir, "temporal-server");
  fs.mkdirSync(o.dataDir, { recursive: true });
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const dynamicConfigFile = path.join(dir, "dynamicconfig.yaml");
  // Eager activities, as the stack's dev server runs (about ten times the throughput; docs/configuration.md).
  fs.writeFileSync(dynamicConfigFile, YAML.stringify({ "system.enableActivityEagerExecution": [{ value: true }] }));
  const configFile = path.join(dir, "config.yaml");
  fs.writeFileSync(configFile, YAML.stringify(serverConfig(o, dynamicConfigFile)), { mode: 0o600 });
  fs.chmodSync(configFile, 0o600);
  return configFile;
}

/** The schema version of `database` (undefined: no database, or no schema in it yet). */
async function schemaVersion(o: TemporalServerOptions, database: string): Promise<string | undefined> {
  const client = new pg.Client({ ...o.postgres, database: "postgres", connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    if (!(await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [database])).rowCount) return undefined;
  } finally {
    await client.end();
  }
  const db = new pg.Client({ ...o.postgres, database, connectionTimeoutMillis: 5000 });
  await db.connect();
  try {
    if (!(await db.query("SELECT to_regclass('schema_version') AS t")).rows[0].t) return undefined;
    return (await db.query("SELECT curr_version FROM schema_version WHERE db_name = $1", [database])).rows[0]?.curr_version;
  } finally {
    await db.end();
  }
}

/**
 * Creates each database and sets its schema up when missing, then updates it to the tool's
 * latest (nothing to do when current; the step that upgrades the schema with a new pin).
 */
async function ensureSchemas(sqlTool: string, o: TemporalServerOptions): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: "postgres12",
    SQL_HOST: o.postgres.host,
    SQL_PORT: String(o.postgres.port),
    SQL_USER: o.postgres.user,
    SQL_PASSWORD: o.postgres.password,
  };
  const tool = (database: string, args: string[]) =>
    promisify(execFile)(sqlTool, ["--database", database, ...args], { env }).catch((err: { stderr?: string }) => {
      throw new Error(`temporal-sql-tool ${args[0]} on ${database} failed: ${(err.stderr ?? String(err)).trim().split("\n").slice(-3).join("\n")}`);
    });
  for (const { database, schema } of SCHEMAS) {
    const before = await schemaVersion(o, database);
    if (before === undefined) {
      await tool(database, ["create-database"]);
      await tool(database, ["setup-schema", "--version", "0.0"]);
    }
    await tool(database, ["update-schema", "--schema-name", schema]);
    const after = await schemaVersion(o, database);
    o.say(
      `temporal-server: schema of ${database} ${before === after ? `at version ${after}` : `${before ? `updated from ${before}` : "set up"} to version ${after}`}`,
    );
  }
}

/**
 * The server serves: its frontend answers, and so does the history service behind it, from the
 * database (a workflow that does not exist is reported missing in temporal-system, the server's
 * own namespace). A healthy frontend alone may still lack its history shards.
 */
async function serving(address: string): Promise<boolean> {
  if (!(await temporalHealthy(address))) return false;
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  const execution = { workflowId: "linkage-hub-readiness-probe" };
  try {
    await connection.withDeadline(Date.now() + 2000, () => connection.workflowService.describeWorkflowExecution({ namespace: "temporal-system", execution }));
    return true;
  } catch (err) {
    return (err as { code?: number }).code === GRPC_NOT_FOUND;
  } finally {
    await connection.close();
  }
}

/** Registers the hub's namespace when absent (its retention set again when present), then its search attributes. */
async function ensureNamespace(address: string, say: Say): Promise<void> {
  const { temporalNamespace: namespace, temporalRetentionDays: days } = loadConfig();
  const connection = await Connection.connect({ address });
  try {
    const exists = await connection.workflowService.describeNamespace({ namespace }).then(
      () => true,
      (err: { code?: number }) => (err.code === GRPC_NOT_FOUND ? false : Promise.reject(err)),
    );
    if (exists) await setNamespaceRetention(address, namespace, days);
    else {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs(days * 86_400_000) });
      say(`temporal-server: namespace ${namespace} registered (closed workflows kept ${days} days)`);
    }
    // A namespace just registered reaches the frontend's cache within seconds: until then adding fails.
    const listed = async () => {
      await ensureSearchAttributes(connection, namespace);
      const known = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
      return SEARCH_ATTRIBUTES.every((name) => name in known);
    };
    await waitFor(`the search attributes of ${namespace}`, listed, 60_000);
  } finally {
    await connection.close();
  }
}

export async function startTemporalServer(o: TemporalServerOptions): Promise<TemporalServer> {
  const started = Date.now();
  const bin = await ensureBinary("temporal-server", o.say);
  await ensureSchemas(await ensureBinary("temporal-sql-tool", o.say), o);
  const configFile = writeConfig(o);
  // --allow-no-auth: no authorizer, as the dev server; the frontend listens on the address given only.
  const args = ["--config-file", configFile, "--allow-no-auth", "start"];
  const spawn = { name: "temporal-server", command: bin, args, logDir: o.logDir };
  const server = await startRestartable("temporal-server", () => spawnReady(spawn, "temporal-server", () => serving(o.address), 120_000));
  o.say(`temporal-server: started at ${o.address} in ${((Date.now() - started) / 1000).toFixed(1)} s (metrics on ${o.metricsPort}, config ${configFile})`);
  try {
    await ensureNamespace(o.address, o.say);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return Object.assign(server, { address: o.address });
}
