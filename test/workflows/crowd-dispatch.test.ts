/** The crowd dispatch workflow's branches, with public security, the emergency services and the escalation mocked. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { components } from "../../contracts/generated/types";
import type { CrowdDispatchInput, CrowdDispatchOutcome, crowdDispatch } from "../../workflows/linkages/crowd-dispatch";
import { crowdLevel } from "../../workflows/linkages/signals";
import { mock, until, visibility, workflowEnv, type Activities, type WorkflowEnv } from "../support/workflow-env";

type Change = components["schemas"]["CrowdLevelChangedEvent"];

let wf: WorkflowEnv;
before(async () => (wf = await workflowEnv()));
after(() => wf?.teardown());

/** The episode's start; later readings are `after(ms)` it (the clear-after time runs from a reading's `at`, no later than now). */
const T0 = Date.now();
const START = new Date(T0).toISOString();
const after_ = (ms: number) => new Date(T0 + ms).toISOString();

const input = (extra: Partial<CrowdDispatchInput> = {}): CrowdDispatchInput => ({
  linkageId: "5b0c3e1a-6e2f-5a70-8b19-3c5d7e9f1a03",
  placeId: "KP-TEST-0001",
  episodeStart: START,
  count: 1020,
  capacity: 1000,
  service: "LOCAL/GOV/public-security/police/event-security",
  units: 2,
  deadlineMs: 60_000,
  clearAfterMs: 200,
  pollMs: 20,
  pollsPerRun: 100,
  ...extra,
});

const change = (level: Change["level"], at: string): Change => ({
  placeId: "KP-TEST-0001",
  level,
  previousLevel: "critical",
  count: 100,
  capacity: 1000,
  occupancy: 0.1,
  at,
});

/** Public security answering REQUESTED to the first `pending` reads of each dispatch, then CONFIRMED; releases recorded. */
function police(pending: number, overrides: Partial<Activities> = {}): Partial<Activities> {
  let reads = 0;
  let requests = 0;
  const body = (status: string, unitIds: string[] = []) => ({ dispatchId: `DP-00000000000${requests}`, status, unitIds });
  return {
    raiseCrowdAlert: async () => ({ incidentId: "6f1b6a52-0c55-5d8e-9a41-1d2e3f4a5b6c" }),
    sendAllClear: async () => undefined,
    callService: async (call) => {
      if (call.method === "POST" && call.path === "/dispatches") requests++;
      else if (call.method === "GET") reads++;
      const status = call.path.endsWith("/release") ? "RELEASED" : reads > pending ? "CONFIRMED" : "REQUESTED";
      return { status: 200, headers: {}, body: body(status, status === "CONFIRMED" ? ["PU-0001", "PU-0002"] : []) };
    },
    ...overrides,
  };
}

test("crowd dispatch: a long wait for units continues as new runs, its state carried over, then completes with the all-clear", async () => {
  const mocks = mock(police(7));
  const { outcome, runs } = await wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof crowdDispatch>("crowdDispatch", {
      taskQueue,
      workflowId: taskQueue,
      args: [input({ pollsPerRun: 3 })],
    });
    await until(handle, (v) => v.progress?.currentStep === "await-all-clear");
    await handle.signal(crowdLevel, change("normal", new Date().toISOString()));
    const outcome = await handle.result();
    const runs: string[] = [];
    for await (const w of wf.env.client.workflow.list({ query: `WorkflowId = "${taskQueue}"` })) runs.push(w.runId);
    return { outcome, runs, ...(await visibility(handle)) };
  });
  assert.equal(outcome.status, "COMPLETED", JSON.stringify(outcome));
  assert.deepEqual(outcome.stepsDone, ["alert-emergency", "request-units", "await-all-clear", "release-units", "send-all-clear"]);
  assert.ok(runs.length >= 3, `continued as new: ${runs.length} runs`);
  assert.deepEqual(
    mocks.names().filter((n) => n !== "callService"),
    ["raiseCrowdAlert", "sendAllClear", "announceEnd"],
    "the alert once across the runs",
  );
  const posts = mocks.paramsOf("callService").filter((c) => c.method === "POST");
  assert.deepEqual(
    posts.map((c) => [c.path, c.headers?.["idempotency-key"]]),
    [
      ["/dispatches", `dispatch:KP-TEST-0001:${START}:request:1`],
      ["/dispatches/DP-000000000001/release", `dispatch:KP-TEST-0001:${START}:release:DP-000000000001`],
    ],
  );
  assert.deepEqual((outcome as CrowdDispatchOutcome).result?.unitIds, ["PU-0001", "PU-0002"]);
});

test("crowd dispatch: a level change older than the latest is ignored; back at warning, the all-clear waits again", async () => {
  const mocks = mock(police(0));
  const { outcome } = await wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof crowdDispatch>("crowdDispatch", {
      taskQueue,
      workflowId: taskQueue,
      args: [input({ clearAfterMs: 600 })],
    });
    await until(handle, (v) => v.progress?.currentStep === "await-all-clear");
    const quiet = Date.now() - T0;
    await handle.signal(crowdLevel, change("normal", after_(quiet)));
    // Out of order: an older reading, critical, changes nothing.
    await handle.signal(crowdLevel, change("critical", after_(quiet - 1)));
    await new Promise((r) => setTimeout(r, 300));
    await handle.signal(crowdLevel, change("warning", new Date().toISOString()));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await visibility(handle)).progress?.currentStep, "await-all-clear", "back at warning");
    await handle.signal(crowdLevel, change("normal", new Date().toISOString()));
    return { outcome: await handle.result() };
  });
  assert.equal(outcome.status, "COMPLETED");
  assert.equal((outcome as CrowdDispatchOutcome).result?.levelChanges, 3, "the older reading was not counted");
});

test("crowd dispatch: cancelled while asking for units, its pending request is withdrawn", async () => {
  const mocks = mock(police(1_000_000));
  const { outcome } = await wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof crowdDispatch>("crowdDispatch", { taskQueue, workflowId: taskQueue, args: [input()] });
    await until(handle, (v) => v.progress?.currentStep === "request-units");
    await handle.cancel();
    return { outcome: await handle.result() };
  });
  assert.equal(outcome.status, "CANCELLED");
  assert.ok(
    mocks.paramsOf("callService").some((c) => c.path.endsWith("/release")),
    "the request withdrawn",
  );
  assert.deepEqual(
    mocks.paramsOf("announceEnd").map((a) => a.status),
    ["CANCELLED"],
  );
});
