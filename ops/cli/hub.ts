/**
 * The running hub over NATS, for CLI commands: a broker in the hub's namespace, or undefined
 * when no node runs `service` or NATS does not answer within a few seconds (Moleculer would
 * retry connecting for ever; the CLI exits with process.exit, so its retries die with it).
 */
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config";
import { natsAuth, natsServers } from "../../platform/nats-auth";

const CONNECT_TIMEOUT_MS = 5000;

/**
 * A broker connected to NATS in the hub's namespace (no hub service awaited yet), or undefined
 * when NATS does not answer. `env`: the settings of the hub to reach (a stack's, not this shell's).
 */
export async function natsBroker(env: NodeJS.ProcessEnv = process.env): Promise<ServiceBroker | undefined> {
  const config = loadConfig(env);
  const broker = new ServiceBroker({
    namespace: config.namespace,
    nodeID: `linkage-hub-cli-${process.pid}`,
    transporter: { type: "NATS", options: { servers: natsServers(config.natsUrl), ...natsAuth(config), maxReconnectAttempts: 0 } },
    logger: false,
    // Short-lived, and often inside a process with its own Ctrl-C handling (npm start, the bench):
    // Moleculer's own handlers would exit the process before that stops what it started.
    skipProcessEventRegistration: true,
  });
  try {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("NATS did not answer")), CONNECT_TIMEOUT_MS)));
    await Promise.race([broker.start(), timeout]).finally(() => clearTimeout(timer));
    return broker;
  } catch {
    await broker.stop().catch(() => {});
    return undefined;
  }
}

/** Whether a node of the hub runs `service` (waited for a few seconds); the broker is stopped when none does. */
export async function reaches(broker: ServiceBroker, service: string): Promise<boolean> {
  try {
    await broker.waitForServices([service], 3000);
    return true;
  } catch {
    await broker.stop().catch(() => {});
    return false;
  }
}

export async function hubBroker(service: string): Promise<ServiceBroker | undefined> {
  const broker = await natsBroker();
  return broker && (await reaches(broker, service)) ? broker : undefined;
}

export function noHub(env: NodeJS.ProcessEnv = process.env): Error {
  const { natsUrl, namespace } = loadConfig(env);
  return new Error(
    `no running hub answers at ${natsUrl} (namespace ${namespace}): is the hub running? Start it (npm start), or point NATS_URL and HUB_NAMESPACE at it.`,
  );
}
