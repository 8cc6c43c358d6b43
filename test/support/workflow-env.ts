/**
 * Unit tests of the linkage workflows: the real workflow code on the suite's Temporal dev
 * server (TEMPORAL_ADDRESS), with mocked activities. Each file bundles the workflows once;
 * each test runs its own worker on a task queue of its own, with mocks that record the
 * agency calls the workflow made. No time skipping: durations come in through inputs.
 */
import { randomUUID } from "node:crypto";
import { ApplicationFailure } from "@temporalio/common";
import { TestWorkflowEnvironment } from "@temporalio/testing";
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker, type WorkflowBundle } from "@temporalio/worker";
import type { WorkflowHandle } from "@temporalio/client";
import { loadConfig } from "../../platform/config";
import { hubDataConverter } from "../../platform/payload-codec";
import type { civilRegistryActivities } from "../../workflows/activities/civil-registry";
import type { utilitiesActivities } from "../../workflows/activities/utilities";
import type { announcementActivities } from "../../workflows/activities/announcements";
import type { catalogueActivities } from "../../workflows/activities/catalogue";
import type { permitActivities } from "../../workflows/activities/permits";
import type { emergencyActivities } from "../../workflows/activities/emergency";
import { LINKAGE_STATUS, PROGRESS_MEMO, type Progress } from "../../workflows/linkages/visibility";

/** Every activity the linkages call, with its real name and type. */
export type Activities = ReturnType<typeof civilRegistryActivities> &
  ReturnType<typeof utilitiesActivities> &
  ReturnType<typeof catalogueActivities> &
  ReturnType<typeof announcementActivities> &
  ReturnType<typeof permitActivities> &
  ReturnType<typeof emergencyActivities>;
export type ActivityName = keyof Activities;

/** One activity call a workflow made: the activity's name and its parameters. */
export interface Call {
  name: ActivityName;
  params: unknown;
}

/** Mocks that record their calls, in the order the worker ran them. */
export interface Mocks {
  activities: Partial<Activities>;
  calls: Call[];
  /** The names of the calls made, in order. */
  names(): ActivityName[];
  /** The parameters of every call of `name`, in order. */
  paramsOf<N extends ActivityName>(name: N): Parameters<Activities[N]>[0][];
}

/** Wraps the given mocks so each call is recorded; `escalate` and `announceEnd` succeed unless given. */
export function mock(impls: Partial<Activities>): Mocks {
  const calls: Call[] = [];
  const all: Partial<Activities> = { escalate: async () => undefined, announceEnd: async () => undefined, ...impls };
  const activities = Object.fromEntries(
    Object.entries(all).map(([name, fn]) => [
      name,
      (params: unknown) => {
        calls.push({ name: name as ActivityName, params });
        return (fn as (p: unknown) => Promise<unknown>)(params);
      },
    ]),
  ) as Partial<Activities>;
  return {
    activities,
    calls,
    names: () => calls.map((c) => c.name),
    paramsOf: <N extends ActivityName>(name: N) => calls.filter((c) => c.name === name).map((c) => c.params as Parameters<Activities[N]>[0]),
  };
}

/** The agency refused (a 4xx from its adapter): final, never retried. */
export const refused = (message: string) => ApplicationFailure.nonRetryable(message, "HUB_ERR_AGENCY_REFUSED");
/** A technical failure as the workflow sees it once the activity's retries are exhausted. */
export const unavailable = (message: string) => ApplicationFailure.nonRetryable(message, "HUB_ERR_AGENCY_UNAVAILABLE");

/** A promise a mock waits on until the test opens it; `reached` resolves when a mock first waits. */
export function gate(): { wait(): Promise<void>; open(): void; reached: Promise<void> } {
  let open!: () => void;
  let reach!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const reached = new Promise<void>((r) => (reach = r));
  return {
    wait: () => {
      reach();
      return opened;
    },
    open,
    reached,
  };
}

export interface WorkflowEnv {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundle;
  /** Runs `body` with a worker of its own (mocked activities) on a new task queue, then stops the worker. */
  withWorker<T>(mocks: Mocks, body: (taskQueue: string) => Promise<T>): Promise<T>;
  teardown(): Promise<void>;
}

let runtimeInstalled = false;

/** Connects to the suite's Temporal server and bundles the linkage workflows (once per test file). */
export async function workflowEnv(): Promise<WorkflowEnv> {
  // The SDK warns of what these tests do on purpose (failed activities, an activity that ends
  // after its workflow was cancelled): errors only.
  if (!runtimeInstalled) Runtime.install({ logger: new DefaultLogger("ERROR"), telemetryOptions: { logging: { filter: { core: "ERROR", other: "ERROR" } } } });
  runtimeInstalled = true;
  const address = process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error("TEMPORAL_ADDRESS is not set: run through `npm test -- <file>`, which provides the server");
  // Encrypted as the hub's are (the suite's payload keys): the store scan reads Temporal's database after the suite.
  const dataConverter = hubDataConverter(loadConfig());
  const env = await TestWorkflowEnvironment.createFromExistingServer({ address, namespace: "default", client: { dataConverter } });
  const bundle = await bundleWorkflowCode({
    workflowsPath: require.resolve("../../workflows/linkages/index"),
    failureConverterPath: dataConverter.failureConverterPath,
    logger: new DefaultLogger("WARN"),
  });
  return {
    env,
    bundle,
    async withWorker(mocks, body) {
      const taskQueue = `wftest-${randomUUID()}`;
      // debugMode runs the workflows in this thread: a worker in about 50 ms instead of about a
      // second for a thread of its own (and no deadlock timer, which a unit test can do without).
      const worker = await Worker.create({
        connection: env.nativeConnection,
        taskQueue,
        workflowBundle: bundle,
        dataConverter,
        activities: mocks.activities,
        debugMode: true,
      });
      return worker.runUntil(body(taskQueue));
    },
    teardown: () => env.teardown(),
  };
}

/** What announceEnd was told of how the linkage ended (its stored outcome's progress and result aside). */
export const ended = ({ workflowId, status, compensated, reason }: { workflowId: string; status: string; compensated?: boolean; reason?: string }) => ({
  workflowId,
  status,
  compensated,
  ...(reason === undefined ? {} : { reason }),
});

/** What a linkage shows outside its workflow: the LinkageStatus search attribute and the progress memo. */
export async function visibility(handle: WorkflowHandle): Promise<{ linkageStatus: string | undefined; progress: Progress | undefined }> {
  const d = await handle.describe();
  return { linkageStatus: d.typedSearchAttributes.get(LINKAGE_STATUS), progress: d.memo?.[PROGRESS_MEMO] as Progress | undefined };
}

/** Polls the linkage's visibility until `ready` holds (a step reached, a status shown). */
export async function until(handle: WorkflowHandle, ready: (v: Awaited<ReturnType<typeof visibility>>) => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await visibility(handle);
    if (ready(v)) return v;
    if (Date.now() > deadline) throw new Error(`workflow ${handle.workflowId} never got there: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Waits until the workflow has handled all `count` signals sent to it (a workflow task completed after the last). */
export async function signalsHandled(handle: WorkflowHandle, count: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = (await handle.fetchHistory()).events ?? [];
    const signals = events.flatMap((e, i) => (e.workflowExecutionSignaledEventAttributes ? [i] : []));
    const last = signals[count - 1];
    if (signals.length >= count && last !== undefined && events.slice(last).some((e) => e.workflowTaskCompletedEventAttributes)) return;
    if (Date.now() > deadline) throw new Error(`workflow ${handle.workflowId} has not handled ${count} signals`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
