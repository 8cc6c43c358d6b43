/**
 * Counts the connections the NATS server refuses: nats-server publishes each failed
 * authentication on `$SYS.SERVER.<id>.CLIENT.AUTH.ERR` in the system account, which a user of
 * that account (NATS_SYSTEM_CREDS) sees. A permissions violation (a publish or subscription
 * outside the user's permissions) is not published there by nats-server 2.15: the client gets
 * `-ERR 'Permissions Violation ...'` and the server logs it, so it is not counted here.
 */
import fs from "node:fs";
import path from "node:path";
import client from "prom-client";
import { connect, credsAuthenticator } from "nats";
import type { Config } from "./config";
import { natsAuth, natsAuthDir, natsServers } from "./nats-auth";
import { watchDepartures } from "./nats-departures";

export const natsRefusals = new client.Counter({
  name: "hub_nats_refusals_total",
  help: "Connections the NATS server refused, by kind (authentication: no, bad, expired or revoked credentials)",
  labelNames: ["kind"] as const,
});

export const AUTH_ERROR_ADVISORIES = "$SYS.SERVER.*.CLIENT.AUTH.ERR";

/** NATS_SYSTEM_CREDS, else the system user the stack made beside its own. */
export function natsSystemCredsFile(config: Pick<Config, "natsSystemCreds" | "dataDir">): string | undefined {
  if (config.natsSystemCreds) return path.resolve(config.natsSystemCreds);
  const own = path.join(natsAuthDir(config.dataDir), "system.creds");
  return fs.existsSync(own) ? own : undefined;
}

/**
 * Counts refusals until the returned stop, and reports each NATS client gone without a goodbye
 * to `onDeparture` (platform/nats-departures.ts); without system credentials it does neither.
 */
export async function countNatsRefusals(config: Config, onDeparture?: (clientName: string) => void): Promise<() => Promise<void>> {
  const creds = natsSystemCredsFile(config);
  if (!creds) return async () => {};
  natsRefusals.inc({ kind: "authentication" }, 0);
  const { tls } = natsAuth(config);
  const nc = await connect({
    servers: natsServers(config.natsUrl),
    name: `${config.nodeId}-refusals`,
    authenticator: credsAuthenticator(() => new Uint8Array(fs.readFileSync(creds))),
    ...(tls ? { tls } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
  });
  nc.subscribe(AUTH_ERROR_ADVISORIES, { callback: (err) => void (err || natsRefusals.inc({ kind: "authentication" })) });
  const stopWatch = onDeparture ? watchDepartures(nc, onDeparture) : () => {};
  return () => (stopWatch(), nc.drain());
}
