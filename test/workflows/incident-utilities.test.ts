/** The emergency to utilities workflow's branches, with the utility (and the escalation) mocked. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { WorkflowHandle } from "@temporalio/client";
import type { components } from "../../contracts/generated/types";
import type { IncidentInput, incidentUtilities } from "../../workflows/linkages/incident-utilities";
import { allClear, incidentAlert } from "../../workflows/linkages/signals";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { gate, mock, signalsHandled, until, visibility, workflowEnv, type Activities, type Mocks, type WorkflowEnv } from "../support/workflow-env";

type Service = components["schemas"]["UtilityService"];
type IncidentEvent = components["schemas"]["IncidentEvent"];

let wf: WorkflowEnv;
before(async () => (wf = await workflowEnv()));
after(() => wf?.teardown());

const SENDER = "dispatch@fire.shanghai.example";
const ADDRESS = syntheticCitizens(SEED, 1, { asOf: SEED_AS_OF })[0]!.address;
const AT = "2026-06-01T09:00:00Z";

const input = (tag: string, extra: Partial<IncidentInput> = {}): IncidentInput => ({
  linkageId: "9d4c3b1a-6e2f-5a70-8b19-3c5d7e9f1a03",
  incidentId: `INC-${tag}`,
  sender: SENDER,
  firstIdentifier: `FD-${tag}`,
  event: "Gas leak",
  category: "Fire",
  address: ADDRESS,
  suspensionDeadlineMs: 60_000,
  ...extra,
});
/** A later alert of incident `tag`. */
const alert = (tag: string, alertIdentifier: string, msgType: IncidentEvent["msgType"], status: IncidentEvent["status"]): IncidentEvent => ({
  incidentId: `INC-${tag}`,
  sender: SENDER,
  firstIdentifier: `FD-${tag}`,
  alertIdentifier,
  msgType,
  status,
  event: "Gas leak",
  category: "Fire",
  severity: "Severe",
  address: ADDRESS,
});

const order = (kind: "SUS" | "RES", service: Service) => ({
  orderNo: `${kind}-${service}`,
  service,
  address: ADDRESS,
  accounts: [{ accountNo: `ACC-${service}`, service, status: kind === "SUS" ? ("SUSPENDED" as const) : ("ACTIVE" as const), changed: true }],
  effectiveAt: AT,
});
/** A utility holding `services` at the address, that suspends and restores at once. */
const utility = (services: Service[] = ["gas", "power", "water"], overrides: Partial<Activities> = {}): Partial<Activities> => ({
  lookupAccounts: async () => ({
    accounts: services.map((service) => ({
      accountNo: `ACC-${service}`,
      service,
      status: "ACTIVE" as const,
      address: ADDRESS,
      holderName: "王伟",
      suspensionReason: null,
      statusChangedAt: AT,
    })),
  }),
  suspendService: async ({ service }) => order("SUS", service),
  restoreService: async ({ service }) => order("RES", service),
  ...overrides,
});

type Handle = WorkflowHandle<typeof incidentUtilities>;

/** Runs the workflow with `mocks` to its end; `during` acts on it while it runs (signals, cancellation). */
async function run(mocks: Mocks, incident: IncidentInput, during: (h: Handle) => Promise<void> = async () => {}) {
  return wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof incidentUtilities>("incidentUtilities", { taskQueue, workflowId: taskQueue, args: [incident] });
    await during(handle);
    return { outcome: await handle.result(), ...(await visibility(handle)) };
  });
}
const awaitingAllClear = (h: Handle) => until(h, (v) => v.linkageStatus === "AWAITING_ALL_CLEAR" && v.progress?.currentStep === "await-all-clear");
const byService = <T extends { service: Service }>(list: T[]) => [...list].sort((a, b) => a.service.localeCompare(b.service));

test("incident: the alerts give no street and postcode → REFUSED, the utility never asked", async () => {
  const mocks = mock(utility());
  const { outcome, linkageStatus } = await run(mocks, input("1", { address: { province: "上海市", city: "上海市" } }));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: [],
    status: "REFUSED",
    reason: "the incident's alerts give no street and postcode, so its utility accounts cannot be found",
  });
  assert.deepEqual(mocks.names(), ["announceEnd"]);
  assert.equal(linkageStatus, "REFUSED");
});

test("incident: no endangered supply at the address → COMPLETED without a suspension", async () => {
  const mocks = mock(utility(["power", "water"]));
  const { outcome, linkageStatus } = await run(mocks, input("2"));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["find-accounts"],
    status: "COMPLETED",
    result: { incidentId: "INC-2", services: [], suspensionOrders: [], restorationOrders: [], escalated: false, alerts: [] },
  });
  assert.deepEqual(mocks.names(), ["lookupAccounts", "announceEnd"]);
  assert.deepEqual(mocks.paramsOf("lookupAccounts"), [{ postcode: ADDRESS.postcode, street: ADDRESS.street }]);
  assert.equal(linkageStatus, "COMPLETED");
});

test("incident: the all-clear signal arrives while the accounts are looked up → COMPLETED, nothing suspended", async () => {
  const looking = gate();
  const lookup = utility().lookupAccounts!;
  const mocks = mock(utility(undefined, { lookupAccounts: async (p) => (await looking.wait(), lookup(p)) }));
  const { outcome } = await run(mocks, input("3"), async (handle) => {
    await looking.reached;
    await handle.signal(allClear, { reason: "false alarm" });
    await signalsHandled(handle, 1);
    looking.open();
  });
  assert.equal(outcome.status, "COMPLETED");
  assert.deepEqual(outcome.stepsDone, ["find-accounts"]);
  assert.deepEqual(outcome.result, {
    incidentId: "INC-3",
    services: [],
    suspensionOrders: [],
    restorationOrders: [],
    escalated: false,
    alerts: [],
    endedBy: "false alarm",
  });
  assert.ok(!mocks.names().includes("suspendService"));
});

test("incident: gas and power suspended, the linkage waits; the all-clear signal restores them → COMPLETED", async () => {
  const event = "Gas explosion and electrical fire";
  const mocks = mock(utility());
  const { outcome, linkageStatus, progress } = await run(mocks, input("4", { event }), async (handle) => {
    const waiting = await awaitingAllClear(handle);
    assert.deepEqual(waiting.progress, { currentStep: "await-all-clear", stepsDone: ["find-accounts", "suspend-supply"] });
    assert.ok(!mocks.names().includes("restoreService"), "nothing restored before the all-clear");
    await handle.signal(allClear, { reason: "Leak sealed, power line repaired" });
  });
  const steps = ["find-accounts", "suspend-supply", "await-all-clear", "restore-supply"];
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: steps,
    status: "COMPLETED",
    result: {
      incidentId: "INC-4",
      services: ["gas", "power"],
      address: ADDRESS,
      suspensionOrders: ["SUS-gas", "SUS-power"],
      restorationOrders: ["RES-gas", "RES-power"],
      escalated: false,
      alerts: [],
      endedBy: "Leak sealed, power line repaired",
    },
  });
  const key = `incident:${SENDER},FD-4`;
  const change = (service: Service, reason: string, what: string) => ({
    address: ADDRESS,
    service,
    reason,
    incidentId: "INC-4",
    idempotencyKey: `${key}:${what}:${service}`,
  });
  assert.deepEqual(byService(mocks.paramsOf("suspendService")), [
    change("gas", `${event}: incident INC-4`, "suspend"),
    change("power", `${event}: incident INC-4`, "suspend"),
  ]);
  assert.deepEqual(byService(mocks.paramsOf("restoreService")), [
    change("gas", "all clear: Leak sealed, power line repaired", "restore"),
    change("power", "all clear: Leak sealed, power line repaired", "restore"),
  ]);
  assert.equal(linkageStatus, "COMPLETED");
  assert.deepEqual(progress, { currentStep: null, stepsDone: steps });
});

test("incident: an Update alert is recorded and the wait goes on; a Cancel alert ends it and the gas is restored", async () => {
  const mocks = mock(utility());
  const { outcome } = await run(mocks, input("5"), async (handle) => {
    await awaitingAllClear(handle);
    await handle.signal(incidentAlert, alert("5", "FD-5-U1", "Update", "OPEN"));
    await signalsHandled(handle, 1);
    const { linkageStatus, progress } = await visibility(handle);
    assert.equal(linkageStatus, "AWAITING_ALL_CLEAR", "an Update does not end the wait");
    assert.equal(progress?.currentStep, "await-all-clear");
    assert.ok(!mocks.names().includes("restoreService"));
    await handle.signal(incidentAlert, alert("5", "FD-5-C1", "Cancel", "CANCELLED"));
  });
  assert.equal(outcome.status, "COMPLETED");
  assert.deepEqual(outcome.result?.alerts, ["FD-5-U1", "FD-5-C1"]);
  assert.equal(outcome.result?.endedBy, "the alert was cancelled (FD-5-C1)");
  assert.deepEqual(outcome.result?.restorationOrders, ["RES-gas"]);
  assert.deepEqual(
    mocks.paramsOf("restoreService").map((p) => [p.service, p.reason, p.idempotencyKey]),
    [["gas", "all clear: the alert was cancelled (FD-5-C1)", `incident:${SENDER},FD-5:restore:gas`]],
  );
});

test("incident: the all-clear alert (status CLEARED) ends the wait and the gas is restored", async () => {
  const mocks = mock(utility());
  const { outcome } = await run(mocks, input("6"), async (handle) => {
    await awaitingAllClear(handle);
    await handle.signal(incidentAlert, alert("6", "FD-6-X1", "Update", "CLEARED"));
  });
  assert.equal(outcome.status, "COMPLETED");
  assert.deepEqual(outcome.stepsDone, ["find-accounts", "suspend-supply", "await-all-clear", "restore-supply"]);
  assert.deepEqual(outcome.result?.alerts, ["FD-6-X1"]);
  assert.equal(outcome.result?.endedBy, "all-clear alert FD-6-X1");
  assert.deepEqual(
    mocks.paramsOf("restoreService").map((p) => [p.service, p.reason]),
    [["gas", "all clear: all-clear alert FD-6-X1"]],
  );
});

test("incident: a suspension slower than its deadline is escalated (LinkageStatus ESCALATED), then the linkage completes", async () => {
  const suspending = gate();
  let escalated!: () => void;
  const escalation = new Promise<void>((r) => (escalated = r));
  const mocks = mock(
    utility(undefined, {
      suspendService: async ({ service }) => (await suspending.wait(), order("SUS", service)),
      escalate: async () => escalated(),
    }),
  );
  const { outcome, linkageStatus } = await run(mocks, input("7", { suspensionDeadlineMs: 300 }), async (handle) => {
    await escalation;
    const during = await visibility(handle);
    assert.equal(during.linkageStatus, "ESCALATED");
    assert.deepEqual(during.progress, { currentStep: "suspend-supply", stepsDone: ["find-accounts"] });
    suspending.open();
    await awaitingAllClear(handle);
    await handle.signal(allClear, {});
  });
  assert.equal(outcome.status, "COMPLETED");
  assert.equal(outcome.result?.escalated, true);
  assert.equal(outcome.result?.endedBy, "all clear");
  assert.deepEqual(outcome.result?.suspensionOrders, ["SUS-gas"]);
  assert.deepEqual(outcome.result?.restorationOrders, ["RES-gas"]);
  assert.deepEqual(mocks.paramsOf("escalate"), [
    {
      linkageId: "9d4c3b1a-6e2f-5a70-8b19-3c5d7e9f1a03",
      linkageType: "incident-utilities",
      businessKey: `${SENDER},FD-7`,
      step: "suspend-supply",
      reason: `the utility has not confirmed the gas suspension at ${ADDRESS.street}, ${ADDRESS.postcode} within 300 ms`,
      deadlineMs: 300,
    },
  ]);
  assert.equal(linkageStatus, "COMPLETED");
});

test("incident: cancelled before any supply was suspended → CANCELLED, nothing suspended", async () => {
  const looking = gate();
  const lookup = utility().lookupAccounts!;
  const mocks = mock(utility(undefined, { lookupAccounts: async (p) => (await looking.wait(), lookup(p)) }));
  const { outcome } = await run(mocks, input("8"), async (handle) => {
    await looking.reached;
    await handle.cancel();
    await handle.result();
    looking.open();
  });
  assert.deepEqual(outcome, { currentStep: null, stepsDone: [], status: "CANCELLED", reason: "cancelled on request before any supply was suspended" });
  assert.deepEqual(mocks.names(), ["lookupAccounts", "announceEnd"]);
});

test("incident: cancelled while awaiting the all-clear → CANCELLED, the supply left suspended (no restore)", async () => {
  const mocks = mock(utility());
  const { outcome, linkageStatus } = await run(mocks, input("9"), async (handle) => {
    await awaitingAllClear(handle);
    await handle.cancel();
  });
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["find-accounts", "suspend-supply"],
    status: "CANCELLED",
    reason: "cancelled on request; the suspended supply stays suspended until the utility restores it",
  });
  assert.deepEqual(mocks.names(), ["lookupAccounts", "suspendService", "announceEnd"]);
  assert.deepEqual(
    mocks.paramsOf("announceEnd").map((a) => [a.status, a.compensated]),
    [["CANCELLED", false]],
  );
  // steps.end shows every cancellation as COMPENSATED, though here nothing was undone.
  assert.equal(linkageStatus, "COMPENSATED");
});
