/**
 * A hub node: one process running some of the hub's services on one broker joined to the
 * others over NATS. `HUB_SERVICES` picks the services; `npm start` runs them all in one
 * node (so the embedded PGlite database has its single owner), tests also run them apart.
 *
 * On SIGTERM or SIGINT the node stops taking work (the gateway closes its port, readiness
 * turns 503), finishes what is in flight, then exits.
 */
import http from "node:http";
import path from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { brokerOptions } from "../moleculer.config";
import { loadConfig, ConfigError, SERVICE_ROLES, type Config, type ServiceRole } from "./config";
import { openDb, migrate, type Db } from "./db";
import { readiness, reportReadiness, type Health } from "./health";
import { callLog } from "./call-log";
import { metricsText, METRICS_CONTENT_TYPE } from "./metrics";
import { closeTemporal } from "./temporal";
import { connectBus, type EventBus } from "./events/bus";
import { startOutboxRelay, type OutboxRelay } from "./events/outbox";
import { partnersService } from "./partners/service";
import { openAuditLog, type AuditLog } from "./audit/log";
import { auditService } from "./audit/service";
import { gatewayService } from "../gateway/service";
import { civilRegistryService } from "../adapters/civil-registry/service";
import { emergencyService } from "../adapters/emergency/service";
import { linkagesService } from "../workflows/service";
import { workerService } from "../workflows/worker";
import { utilitiesService } from "../adapters/utilities/service";

export interface HubNode {
  config: Config;
  broker: ServiceBroker;
  db: Db;
  bus: EventBus;
  /** Events written with a database change (enqueue in its transaction) are published by this. */
  outbox: OutboxRelay;
  /** Records exchanges of personal data (see platform/audit/log.ts). */
  audit: AuditLog;
  readiness(): Promise<Health>;
}

/** The services of each role; the partner registry and the audit log's readers run with the gateway, which owns the database. */
const SERVICES: Record<ServiceRole, (node: HubNode) => ServiceSchema | ServiceSchema[]> = {
  api: (node) => [gatewayService(node) as ServiceSchema, partnersService(node), auditService(node)],
  "civil-registry": civilRegistryService,
  emergency: emergencyService,
  linkages: linkagesService,
  worker: workerService,
  utilities: utilitiesService,
};

export interface RunningNode extends HubNode {
  /** The port of /metrics, /healthz and /readyz (the gateway's port where it runs). */
  httpPort: number;
  stop(): Promise<void>;
}

export async function startHubNode(config: Config = loadConfig()): Promise<RunningNode> {
  const embedded = !config.databaseUrl;
  if (embedded && config.services.length !== SERVICE_ROLES.length)
    throw new ConfigError(
      "HUB_SERVICES names only some services, but DATABASE_URL is unset: the embedded PGlite database belongs to one process, so run all services in one node or set DATABASE_URL",
    );
  const db = await openDb({ url: config.databaseUrl, pgliteDir: path.join(config.dataDir, "pglite") });
  await migrate(db, "hub", path.join(__dirname, "migrations"));

  let phase: "starting" | "running" | "stopping" = "starting";
  // Checkpoint failures are logged (and retried at the next one); record failures fail their request.
  const audit = openAuditLog(db, config, (err) => broker.logger.warn({ err: String(err) }, "audit checkpoint: will retry"));
  const broker: ServiceBroker = new ServiceBroker({ ...brokerOptions(config), middlewares: [callLog(), audit.middleware()] });
  const bus = await connectBus(config.natsUrl, broker.nodeID);
  const outbox = startOutboxRelay(db, bus, (err) => broker.logger.warn({ err: String(err) }, "outbox relay: will retry"));
  const node: HubNode = { config, broker, db, bus, outbox, audit, readiness: () => readiness({ broker, config, db, phase: () => phase }) };
  reportReadiness(node.readiness);
  for (const role of config.services) for (const schema of [SERVICES[role](node)].flat()) broker.createService(schema);

  let server: http.Server | undefined;
  if (!config.services.includes("api")) server = await serveOps(node, config.metricsPort);
  await broker.start();
  const httpPort = server ? (server.address() as { port: number }).port : config.port;
  phase = "running";
  broker.logger.info({ services: config.services, httpPort, database: db.kind }, "hub node started");

  return {
    ...node,
    httpPort,
    async stop() {
      if (phase === "stopping") return;
      phase = "stopping";
      broker.logger.info("hub node stopping: finishing in-flight work");
      await broker.stop();
      await audit.stop();
      await outbox.stop();
      await bus.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await closeTemporal();
      await db.close();
    },
  };
}

/** /metrics, /healthz and /readyz for a node without the gateway. */
async function serveOps(node: HubNode, port: number): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === "/metrics") {
        res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE }).end(await metricsText(node.broker));
      } else if (req.url === "/healthz" || req.url === "/readyz") {
        const health = req.url === "/healthz" ? { status: "ok", node: node.broker.nodeID } : await node.readiness();
        res.writeHead(health.status === "ok" ? 200 : 503, { "Content-Type": "application/json" }).end(JSON.stringify(health));
      } else {
        res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ status: 404, title: "Not found" }));
      }
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, node.config.host, resolve));
  return server;
}

if (require.main === module) {
  // Signals are handled from the first moment: one during start-up stops the node once it is up.
  const starting = startHubNode();
  let signals = 0;
  const shutdown = async (signal: string) => {
    if (++signals > 1) process.exit(1);
    const running = await starting.catch(() => process.exit(1));
    running.broker.logger.info({ signal }, "stop requested");
    await running.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", (s) => void shutdown(s));
  process.on("SIGINT", (s) => void shutdown(s));
  starting.catch((err) => {
    console.error(err instanceof ConfigError ? err.message : err);
    process.exit(1);
  });
}
