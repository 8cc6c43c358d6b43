/** The Temporal worker as a hub service: connection, task queue, workflows, activities. */
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogLevel } from "@temporalio/worker";
import type { ServiceSchema } from "moleculer";
import type { HubNode } from "../platform/hub-node";
import { hubDataConverter } from "../platform/payload-codec";
import { BUNDLE_FILE, workflowCode } from "./bundle";
import { civilRegistryActivities } from "./activities/civil-registry";
import { utilitiesActivities } from "./activities/utilities";
import { announcementActivities } from "./activities/announcements";
import { catalogueActivities } from "./activities/catalogue";
import { permitActivities } from "./activities/permits";
import { emergencyActivities } from "./activities/emergency";

let runtimeInstalled = false;
const levels: Record<LogLevel, "trace" | "debug" | "info" | "warn" | "error"> = { TRACE: "trace", DEBUG: "debug", INFO: "info", WARN: "warn", ERROR: "error" };

/**
 * The SDK runtime is one per process; its logs join the node's JSON log, the node (not the SDK)
 * decides when to stop on a signal, and its metrics follow Prometheus naming.
 */
function installRuntime(config: HubNode["config"], log: ReturnType<HubNode["broker"]["getLogger"]>): void {
  if (runtimeInstalled) return;
  Runtime.install({
    shutdownSignals: [],
    logger: new DefaultLogger("WARN", (e) => log[levels[e.level]]({ ...e.meta }, e.message)),
    ...(config.workerMetricsPort === undefined
      ? {}
      : {
          telemetryOptions: {
            metrics: {
              prometheus: {
                bindAddress: `${config.host}:${config.workerMetricsPort}`,
                countersTotalSuffix: true,
                unitSuffix: true,
                useSecondsForDurations: true,
              },
            },
          },
        }),
  });
  runtimeInstalled = true;
}

export function workerService(node: HubNode): ServiceSchema {
  const { config, broker } = node;
  let connection: NativeConnection | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  return {
    name: "linkage-worker",
    async started() {
      const log = broker.getLogger("temporal");
      installRuntime(config, log);
      connection = await NativeConnection.connect({ address: config.temporalAddress });
      const dataConverter = hubDataConverter(config);
      const code = workflowCode(dataConverter);
      log.info({ workflowCode: code.workflowBundle ? BUNDLE_FILE : "sources" }, "Temporal worker: workflow code loaded");
      worker = await Worker.create({
        connection,
        namespace: config.temporalNamespace,
        taskQueue: config.temporalTaskQueue,
        dataConverter,
        ...code,
        activities: {
          ...civilRegistryActivities(broker),
          ...utilitiesActivities(broker),
          ...catalogueActivities(broker),
          ...announcementActivities(node),
          ...permitActivities(node),
          ...emergencyActivities(broker),
        },
      });
      running = worker.run().catch((err) => log.error({ err: String(err) }, "Temporal worker stopped with an error"));
    },
    async stopped() {
      // Shutdown lets running activities finish within the worker's grace time.
      if (worker?.getState() === "RUNNING") worker.shutdown();
      await running;
      await connection?.close();
    },
  };
}
