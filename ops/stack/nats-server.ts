/**
 * The configuration of the NATS servers the stack starts (one, or the nodes of a cluster): the
 * largest message, TLS where a certificate is given, a cluster node's routes, and operator-mode
 * authentication (ops/stack/nats-auth.ts) whose accounts sit in an included file, the same for
 * every node, so a change to them is applied with a reload.
 */
import fs from "node:fs";
import path from "node:path";
import { natsAuthDir, stackCredsFile } from "../../platform/nats-auth";
import { NatsAuth } from "./nats-auth";

/** The largest message the NATS servers the stacks start take (docs/configuration.md, "External NATS"). */
export const NATS_MAX_PAYLOAD = "8MB";

export interface NatsServerTls {
  cert: string;
  key: string;
}

export interface NatsServerFiles {
  configFile: string;
  /** The hub's own node user, for every connection the stack's processes make. */
  credsFile: string;
}

const pidFile = (dataDir: string) => path.join(dataDir, "nats.pid");

/** One node's part in a NATS cluster (ops/stack/nats-cluster.ts). */
export interface NatsClusterSettings {
  /** The cluster's name, the same on every node. */
  name: string;
  /** This node's name (JetStream in a cluster needs a unique one per node). */
  serverName: string;
  /** host:port this node takes routes on. */
  listen: string;
  /** The other nodes' route URLs. */
  routes: string[];
  /** The user and password every node's routes authenticate with. */
  routeUser: string;
  routePassword: string;
}

export function natsConfigText(o: { pidFile: string; accountsFile: string; tls?: NatsServerTls; cluster?: NatsClusterSettings }): string {
  const lines = [
    "# Written by ops/stack/nats-server.ts at each start.",
    // A catalogue service's document (up to 2 MiB) rides in one Moleculer packet: NATS's default
    // max_payload (1 MB) is too small, and nats-server has no flag for it, only its config file.
    `max_payload: ${NATS_MAX_PAYLOAD}`,
    `pid_file: ${JSON.stringify(o.pidFile)}`,
  ];
  if (o.tls) lines.push("tls {", `  cert_file: ${JSON.stringify(o.tls.cert)}`, `  key_file: ${JSON.stringify(o.tls.key)}`, "}");
  if (o.cluster) lines.push(...clusterLines(o.cluster));
  lines.push(`include ${JSON.stringify(o.accountsFile)}`, "");
  return lines.join("\n");
}

function clusterLines(c: NatsClusterSettings): string[] {
  const q = JSON.stringify;
  const auth = `${encodeURIComponent(c.routeUser)}:${encodeURIComponent(c.routePassword)}@`;
  return [
    `server_name: ${q(c.serverName)}`,
    "cluster {",
    `  name: ${q(c.name)}`,
    `  listen: ${q(c.listen)}`,
    `  authorization { user: ${q(c.routeUser)}, password: ${q(c.routePassword)} }`,
    `  routes: [${c.routes.map((r) => q(r.replace("://", `://${auth}`))).join(", ")}]`,
    "}",
  ];
}

/**
 * The authentication material under `dataDir` (made the first time): the operator and
 * accounts, the hub's own node user and a system user. Every server of the stack's NATS, one
 * or a cluster's, includes the same accounts file. Returns the hub's `.creds` and that file.
 */
export function prepareNatsAuth(dataDir: string, namespace?: string): { credsFile: string; accountsFile: string } {
  const auth = NatsAuth.open(natsAuthDir(dataDir), namespace);
  const credsFile = stackCredsFile(dataDir);
  if (!auth.users().hub || !fs.existsSync(credsFile)) auth.addUser("hub", "node");
  auth.systemCreds();
  return { credsFile, accountsFile: auth.writeAccounts() };
}

/**
 * Writes nats.conf and the authentication material (made the first time) under `dataDir`;
 * a cluster node's configuration under `nodeDir` (its own folder) with `cluster`.
 */
export function prepareNatsServer(
  dataDir: string,
  tls?: NatsServerTls,
  namespace?: string,
  node?: { nodeDir: string; cluster: NatsClusterSettings },
): NatsServerFiles {
  const { credsFile, accountsFile } = prepareNatsAuth(dataDir, namespace);
  const configDir = node?.nodeDir ?? dataDir;
  fs.mkdirSync(configDir, { recursive: true });
  const configFile = path.join(configDir, "nats.conf");
  // The include is relative to nats.conf's folder.
  const include = path.relative(configDir, accountsFile);
  fs.writeFileSync(configFile, natsConfigText({ pidFile: pidFile(configDir), accountsFile: include, tls, cluster: node?.cluster }), { mode: 0o600 });
  // A cluster node's holds its routes' password.
  fs.chmodSync(configFile, 0o600);
  return { configFile, credsFile };
}

/** Where the stack's NATS cluster keeps its nodes' folders (ops/stack/nats-cluster.ts). */
export const natsClusterDir = (dataDir: string) => path.join(dataDir, "nats-cluster");

/** The pid files of every NATS server the stack may have started under `dataDir`: its one server's and its cluster nodes'. */
function pidFiles(dataDir: string): string[] {
  const clusterDir = natsClusterDir(dataDir);
  const nodes = fs.existsSync(clusterDir) ? fs.readdirSync(clusterDir).map((n) => pidFile(path.join(clusterDir, n))) : [];
  return [pidFile(dataDir), ...nodes];
}

/**
 * Applies the accounts in `dataDir`'s auth material to the NATS servers the stack started
 * there (its one server, or every node of its cluster), without restarting them
 * (nats-server reloads its configuration on SIGHUP). Returns false when no such server runs.
 */
export function reloadNats(dataDir: string): boolean {
  NatsAuth.open(natsAuthDir(dataDir)).writeAccounts();
  let reloaded = 0;
  for (const file of pidFiles(dataDir)) {
    try {
      const pid = Number(fs.readFileSync(file, "utf8").trim());
      process.kill(pid, 0);
      process.kill(pid, "SIGHUP");
      reloaded++;
    } catch {
      // no server runs from this folder
    }
  }
  return reloaded > 0;
}
