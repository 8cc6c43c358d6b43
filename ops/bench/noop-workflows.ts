/** A worker of the no-op yardsticks (noop-linkages.ts) on a task queue of the run's own, and their starts timed to the end. */
import { Client, Connection } from "@temporalio/client";
import { DefaultLogger, NativeConnection, Runtime, Worker } from "@temporalio/worker";
import { loadConfig } from "../../platform/config";
import { hubDataConverter } from "../../platform/payload-codec";
import { LINKAGE_STATUS, LINKAGE_TYPE } from "../../workflows/linkages/visibility";
import { noopActivities } from "./noop-linkages";
import type { Attempt } from "./measure";
import type { BenchStack } from "./stack";

/** `workflowType` (an export of noop-linkages.ts) started on Temporal by its client, each attempt timed to its result. */
export async function noopWorkflows(stack: BenchStack, workflowType: "noopMarriage" | "noopPermit"): Promise<{ attempt: Attempt; stop(): Promise<void> }> {
  const address = stack.env.TEMPORAL_ADDRESS!;
  // Converted as the hub's own linkages are (encrypted unless the run turned the codec off), so the yardstick has their shape.
  const dataConverter = hubDataConverter(loadConfig(stack.env));
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, dataConverter });
  const taskQueue = `bench-noop-${stack.run}`;
  Runtime.install({ logger: new DefaultLogger("WARN") });
  const native = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    dataConverter,
    workflowsPath: require.resolve("./noop-linkages"),
    activities: noopActivities,
  });
  const running = worker.run();
  let n = 0;
  const attempt: Attempt = async () => {
    const t0 = performance.now();
    const handle = await client.workflow.start(workflowType, {
      taskQueue,
      workflowId: `bench-noop:${stack.run}:${workflowType}:${n++}`,
      typedSearchAttributes: [
        { key: LINKAGE_TYPE, value: "bench-noop" },
        { key: LINKAGE_STATUS, value: "RUNNING" },
      ],
    });
    const result = (await handle.result()) as { status: string };
    return { ms: performance.now() - t0, ok: result.status === "COMPLETED" };
  };
  return {
    attempt,
    async stop() {
      worker.shutdown();
      await running;
      await native.close();
      await connection.close();
    },
  };
}
