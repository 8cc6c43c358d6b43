/** One lazily connected Temporal connection and client per process. */
import { Client, Connection } from "@temporalio/client";
import type { Config } from "./config";

let shared: { connection: Connection; client: Client } | undefined;

export function temporal(config: Config): { connection: Connection; client: Client } {
  if (!shared) {
    const connection = Connection.lazy({ address: config.temporalAddress });
    shared = { connection, client: new Client({ connection, namespace: config.temporalNamespace }) };
  }
  return shared;
}

export async function closeTemporal(): Promise<void> {
  await shared?.connection.close();
  shared = undefined;
}
