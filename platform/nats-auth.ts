/**
 * How every NATS connection of the hub authenticates (docs/nats-auth.md): the user's `.creds`
 * file (JWT and seed) and TLS where a CA is given. One function, so the Moleculer transporter,
 * the event bus, the CLI, the benchmarks and the tests all connect the same way.
 */
import fs from "node:fs";
import path from "node:path";
import { credsAuthenticator, type ConnectionOptions } from "nats";
import type { Config } from "./config";

/** The servers NATS_URL names (one URL, or a comma list of one cluster's), for `connect({servers})`. */
export const natsServers = (natsUrl: string): string[] =>
  natsUrl
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

/** Where the stack keeps its NATS operator, accounts and users (under HUB_DATA_DIR). */
export const natsAuthDir = (dataDir: string) => path.join(dataDir, "nats-auth");

/** The node user's credentials the stack makes for its own hub nodes and CLI. */
export const stackCredsFile = (dataDir: string) => path.join(natsAuthDir(dataDir), "hub.creds");

export type NatsAuthOptions = Pick<ConnectionOptions, "authenticator" | "tls">;

type AuthSettings = Pick<Config, "natsCreds" | "natsTlsCa" | "natsTlsCert" | "natsTlsKey" | "dataDir">;

/** The `.creds` file to use: NATS_CREDS, else the stack's own if it made one; `none` for none. */
export function natsCredsFile(config: AuthSettings): string | undefined {
  if (config.natsCreds === "none") return undefined;
  if (config.natsCreds) {
    const file = path.resolve(config.natsCreds);
    if (!fs.existsSync(file)) throw new Error(`NATS_CREDS names ${file}, which does not exist`);
    return file;
  }
  const own = stackCredsFile(config.dataDir);
  return fs.existsSync(own) ? own : undefined;
}

/** The options to spread into `connect()` (or a Moleculer NATS transporter's options). */
export function natsAuth(config: AuthSettings): NatsAuthOptions {
  const out: NatsAuthOptions = {};
  const creds = natsCredsFile(config);
  if (creds) {
    // Read at each (re)connection, so a renewed file is picked up without a restart.
    out.authenticator = credsAuthenticator(() => new Uint8Array(fs.readFileSync(creds)));
  }
  if (config.natsTlsCa || config.natsTlsCert) {
    out.tls = {
      ...(config.natsTlsCa ? { caFile: config.natsTlsCa } : {}),
      ...(config.natsTlsCert ? { certFile: config.natsTlsCert, keyFile: config.natsTlsKey } : {}),
    };
  }
  return out;
}
