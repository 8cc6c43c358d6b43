/** One lazily connected Temporal connection and client per process. */
import { Client, Connection } from "@temporalio/client";
import type { Config } from "./config";
import { hubDataConverter } from "./payload-codec";

let shared: { connection: Connection; client: Client } | undefined;

export function temporal(config: Config): { connection: Connection; client: Client } {
  if (!shared) {
    const connection = Connection.lazy({ address: config.temporalAddress });
    shared = { connection, client: new Client({ connection, namespace: config.temporalNamespace, dataConverter: hubDataConverter(config) }) };
  }
  return shared;
}

export async function closeTemporal(): Promise<void> {
  await shared?.connection.close();
  shared = undefined;
}
