/** The running hub over NATS, for CLI commands: a broker in the hub's namespace, or undefined when no node runs `service`. */
import { ServiceBroker } from "moleculer";
import { loadConfig } from "../../platform/config";

export async function hubBroker(service: string): Promise<ServiceBroker | undefined> {
  const config = loadConfig();
  const broker = new ServiceBroker({ namespace: config.namespace, nodeID: `linkage-hub-cli-${process.pid}`, transporter: { type: "NATS", options: { url: config.natsUrl, maxReconnectAttempts: 0 } }, logger: false });
  try {
    await broker.start();
    await broker.waitForServices([service], 3000);
    return broker;
  } catch {
    await broker.stop().catch(() => {});
    return undefined;
  }
}

export function noHub(): Error {
  const { natsUrl, namespace } = loadConfig();
  return new Error(`no running hub answers at ${natsUrl} (namespace ${namespace}). Start it (npm start), or point NATS_URL and HUB_NAMESPACE at it.`);
}
