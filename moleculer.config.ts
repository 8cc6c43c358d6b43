/**
 * Broker settings shared by every hub node: NATS transporter (to any server NATS_URL lists;
 * `servers`, not Moleculer's `url`, which drops a `tls://` scheme), contract validator,
 * metrics (served by the node's own /metrics, see platform/metrics.ts), resilience.
 */
import type { BrokerOptions } from "moleculer";
import type { Config } from "./platform/config";
import { ContractValidator } from "./platform/validator";
import { HubPrometheusReporter } from "./platform/metrics";
import { redactingFormatter } from "./platform/redact";
import { batchedLogger } from "./platform/log-lines";
import { natsAuth, natsServers } from "./platform/nats-auth";

export function brokerOptions(config: Config): BrokerOptions {
  return {
    namespace: config.namespace,
    nodeID: config.nodeId,
    // Named after the node: a gateway learns from NATS when this connection closes for good (platform/nats-departures.ts).
    transporter: {
      type: "NATS",
      options: { servers: natsServers(config.natsUrl), name: config.nodeId, ...natsAuth(config), maxReconnectAttempts: -1, reconnectTimeWait: 500 },
    },
    serializer: "JSON",
    // JSON lines with names, id numbers and addresses redacted (platform/redact.ts).
    logger: batchedLogger({ formatter: redactingFormatter, level: config.logLevel }),
    validator: new ContractValidator(),
    requestTimeout: 30_000,
    // A node killed without a goodbye is taken out of the others' balancing after 6 to 12 s (Moleculer's defaults: 30 to 60 s of calls sent to a dead node); a gateway learns it from NATS within 2 s.
    heartbeatInterval: 2,
    heartbeatTimeout: 6,
    // Agency calls retry in the adapters, where it is known whether a call is safe to repeat.
    retryPolicy: { enabled: false },
    circuitBreaker: { enabled: false },
    // The node handles SIGTERM/SIGINT itself (hub/node.ts), so it stops once, in order.
    skipProcessEventRegistration: true,
    // On stop, wait for in-flight requests before leaving.
    tracking: { enabled: true, shutdownTimeout: config.shutdownTimeoutMs },
    // Process metrics come from prom-client's defaults; Moleculer's would repeat them.
    metrics: { enabled: true, collectProcessMetrics: false, reporter: [new HubPrometheusReporter() as never] },
  };
}
