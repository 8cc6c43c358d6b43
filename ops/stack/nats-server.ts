/**
 * The configuration of the NATS server the stack starts: the largest message, TLS where a
 * certificate is given, and operator-mode authentication (ops/stack/nats-auth.ts) whose
 * accounts sit in an included file, so a change to them is applied with a reload.
 */
import fs from "node:fs";
import path from "node:path";
import { natsAuthDir, stackCredsFile } from "../../platform/nats-auth";
import { ACCOUNTS_FILE, NatsAuth } from "./nats-auth";

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

export function natsConfigText(o: { pidFile: string; accountsFile: string; tls?: NatsServerTls }): string {
  const lines = [
    "# Written by ops/stack/nats-server.ts at each start.",
    // A catalogue service's document (up to 2 MiB) rides in one Moleculer packet: NATS's default
    // max_payload (1 MB) is too small, and nats-server has no flag for it, only its config file.
    `max_payload: ${NATS_MAX_PAYLOAD}`,
    `pid_file: ${JSON.stringify(o.pidFile)}`,
  ];
  if (o.tls) lines.push("tls {", `  cert_file: ${JSON.stringify(o.tls.cert)}`, `  key_file: ${JSON.stringify(o.tls.key)}`, "}");
  lines.push(`include ${JSON.stringify(o.accountsFile)}`, "");
  return lines.join("\n");
}

/** Writes nats.conf and the authentication material (made the first time) under `dataDir`. */
export function prepareNatsServer(dataDir: string, tls?: NatsServerTls, namespace?: string): NatsServerFiles {
  const auth = NatsAuth.open(natsAuthDir(dataDir), namespace);
  const credsFile = stackCredsFile(dataDir);
  if (!auth.users().hub || !fs.existsSync(credsFile)) auth.addUser("hub", "node");
  auth.systemCreds();
  auth.writeAccounts();
  const configFile = path.join(dataDir, "nats.conf");
  // The include is relative to nats.conf's folder.
  const accountsFile = path.relative(dataDir, path.join(natsAuthDir(dataDir), ACCOUNTS_FILE));
  fs.writeFileSync(configFile, natsConfigText({ pidFile: pidFile(dataDir), accountsFile, tls }));
  return { configFile, credsFile };
}

/**
 * Applies the accounts in `dataDir`'s auth material to the NATS server the stack started
 * there, without restarting it (nats-server reloads its configuration on SIGHUP).
 * Returns false when no such server runs.
 */
export function reloadNats(dataDir: string): boolean {
  NatsAuth.open(natsAuthDir(dataDir)).writeAccounts();
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile(dataDir), "utf8").trim());
    process.kill(pid, 0);
  } catch {
    return false;
  }
  process.kill(pid, "SIGHUP");
  return true;
}
