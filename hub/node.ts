/**
 * The composition root: the one place that knows every service of the hub. A hub node is one
 * process running some of them (`HUB_SERVICES`) on one broker, joined to the others over NATS;
 * `npm start` runs them all in one node (so the embedded PGlite database has its single owner),
 * the tests and a production deployment also run them apart.
 *
 * Run one: `node --import tsx hub/node.ts`. On SIGTERM or SIGINT the node stops taking work (the
 * gateway closes its port, readiness turns 503), finishes what is in flight, then exits.
 */
import http from "node:http";
import path from "node:path";
import { ServiceBroker, type ServiceSchema } from "moleculer";
import { brokerOptions } from "../moleculer.config";
import { loadConfig, ConfigError, SERVICE_ROLES, type Config, type ServiceRole } from "../platform/config";
import { natsAuth } from "../platform/nats-auth";
import { countNatsRefusals } from "../platform/nats-refusals";
import { openDb } from "../platform/db";
import type { HubNode } from "../platform/hub-node";
import { readiness, reportReadiness } from "../platform/health";
import { callLog } from "../platform/call-log";
import { closeTemporal } from "../platform/temporal";
import { connectBus, streamSettingsOf } from "../platform/events/bus";
import { startOutboxRelay } from "../platform/events/outbox";
import { partnersService } from "../partners/service";
import { operatorsService } from "../operators/service";
import { openAuditLog, type AuditLog } from "../audit/log";
import { auditService } from "../audit/service";
import { gatewayService } from "../gateway/service";
import { civilRegistryService } from "../adapters/civil-registry/service";
import { emergencyService } from "../adapters/emergency/service";
import { utilitiesService } from "../adapters/utilities/service";
import { linkagesService } from "../workflows/service/service";
import { workerService } from "../workflows/worker";
import { crowdService } from "../crowd/service";
import { flightsService } from "../flights/service";
import { catalogueService, ownPorts } from "../catalogue/service";
import { LiveCatalogue } from "../catalogue/live";
import { mediator, type Mediator } from "../catalogue/mediation";
import { ServiceDays } from "../catalogue/service-days";
import { countedOperations } from "../catalogue/builtin-calls";
import { startProber } from "../catalogue/prober";
import { partnerAccess, type PartnerAccess } from "../partners/access";
import { serveOps } from "./ops-server";
import { migrateHub } from "./schema";
import { startRetention } from "./retention";

/** What the services of one process share: the audit log, and for the gateway's role the partners' access, the catalogue and its mediator. */
interface Shared {
  audit: AuditLog;
  partners: PartnerAccess;
  catalogue: LiveCatalogue;
  mediation: Mediator;
}

/** The services of each role; the partner registry, the catalogue and the audit log's readers run with the gateway, which owns the database. */
const SERVICES: Record<ServiceRole, (node: HubNode, shared: Shared) => ServiceSchema[]> = {
  api: (node, { audit, partners, catalogue, mediation }) => [
    gatewayService(node, { audit, partners, mediation, catalogue }) as ServiceSchema,
    partnersService(node),
    operatorsService(node),
    auditService(node, audit),
    catalogueService(node, { catalogue, partners, mediation }),
  ],
  "civil-registry": (node) => [civilRegistryService(node)],
  emergency: (node) => [emergencyService(node)],
  utilities: (node) => [utilitiesService(node)],
  linkages: (node) => [linkagesService(node)],
  worker: (node) => [workerService(node)],
  crowd: (node) => [crowdService(node)],
  flights: (node) => [flightsService(node)],
};

function shared(node: HubNode, audit: AuditLog): Shared {
  const partners = partnerAccess(node.db, node.config, (err) => node.broker.logger.warn({ err: String(err) }, "quota: unspent tokens not given back"));
  const catalogue = new LiveCatalogue(node.db, ownPorts(node.config));
  return { audit, partners, catalogue, mediation: mediator({ db: node.db, config: node.config, partners, audit, catalogue, tally: node.tally }) };
}

/** The jobs of the gateway's node, which owns the database: the catalogue services' probes, the retention jobs (hub/retention.ts). */
function startGatewayJobs(node: HubNode, catalogue: LiveCatalogue): () => Promise<void> {
  const { config, broker, db, tally } = node;
  const onProbeError = (err: unknown) => broker.logger.warn({ err: String(err) }, "service probes: will retry");
  const stopProber = startProber(db, catalogue, tally, { instance: config.instance, everyMs: config.serviceProbeMs, onError: onProbeError });
  const stopRetention = startRetention(db, node.bus.jsm, config, (err) => broker.logger.warn({ err: String(err) }, "retention: will retry"));
  return async () => {
    await stopProber();
    await stopRetention();
  };
}

/** A node whose NATS connection closed for good: out of this broker's balancing at once, its calls in flight rejected, not waited out. */
function departed(broker: ServiceBroker, nodeID: string): void {
  const node = broker.registry.nodes.get(nodeID);
  if (!node?.available || node.local) return;
  broker.logger.warn({ node: nodeID }, "node's NATS connection closed without a goodbye: taken out of balancing");
  broker.registry.nodes.disconnected(nodeID, true);
}

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
  await migrateHub(db, config.instance);

  let phase: "starting" | "running" | "stopping" = "starting";
  // Checkpoint failures are logged (and retried at the next one); record failures fail their request.
  const audit = openAuditLog(db, config, (err) => broker.logger.warn({ err: String(err) }, "audit checkpoint: will retry"));
  // The catalogue's figures: counted in memory, written every HUB_FIGURES_FLUSH_MS and at stop.
  const tally = new ServiceDays(db, config.instance, (err) => broker.logger.warn({ err: String(err) }, "service figures: will retry"));
  const broker: ServiceBroker = new ServiceBroker({
    ...brokerOptions(config),
    middlewares: [callLog(), audit.middleware(), countedOperations(tally, config.instance)],
  });
  const bus = await connectBus(config.natsUrl, broker.nodeID, natsAuth(config), streamSettingsOf(config));
  const outbox = startOutboxRelay(db, bus, (err) => broker.logger.warn({ err: String(err) }, "outbox relay: will retry"));
  const node: HubNode = { config, broker, db, bus, outbox, tally, readiness: () => readiness({ broker, config, db, phase: () => phase }) };
  reportReadiness(node.readiness);
  const parts = shared(node, audit);
  for (const role of config.services) for (const schema of SERVICES[role](node, parts)) broker.createService(schema);
  let server: http.Server | undefined;
  if (!config.services.includes("api")) server = await serveOps(node, config.metricsPort);
  await broker.start();
  tally.start(config.figuresFlushMs);
  const stopRefusals = config.services.includes("api")
    ? await countNatsRefusals(config, (name) => departed(broker, name)).catch((err: Error) => {
        broker.logger.warn({ err: err.message }, "NATS refusals: not counted (no system account connection)");
        return async () => {};
      })
    : async () => {};
  const stopJobs = config.services.includes("api") ? startGatewayJobs(node, parts.catalogue) : async () => {};
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
      await stopJobs();
      await stopRefusals();
      await broker.stop();
      // After the work has stopped (the last calls and linkage ends counted), before the database closes.
      await tally.stop();
      await parts.partners.close();
      await audit.stop();
      await outbox.stop();
      await bus.close();
      await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
      await closeTemporal();
      await db.close();
    },
  };
}

/** Runs a node as this process: signals are handled from the first moment, so one during start-up stops the node once it is up. */
function runAsProcess(): void {
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

if (require.main === module) runAsProcess();
