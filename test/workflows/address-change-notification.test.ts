/** The address-change notification workflow's branches, with the catalogue activities mocked. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { WorkflowFailedError, type WorkflowHandle } from "@temporalio/client";
import { ApplicationFailure } from "@temporalio/common";
import type { components } from "../../contracts/generated/types";
import type { AddressChangeNotificationInput, addressChangeNotification } from "../../workflows/linkages/address-change-notification";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { gate, mock, until, visibility, workflowEnv, type Activities, type Mocks, type WorkflowEnv, ended } from "../support/workflow-env";

type ServiceCall = components["schemas"]["LinkageServiceCall"];
type CallParams = Parameters<Activities["callService"]>[0];

let wf: WorkflowEnv;
before(async () => (wf = await workflowEnv()));
after(() => wf?.teardown());

const [mover, partner] = syntheticCitizens(SEED, 2, { asOf: SEED_AS_OF });
const SERVICES = ["LOCAL/GOV/1/library/patrons", "LOCAL/GOV/2/schools/pupils", "LOCAL/GOV/3/tax/payers"];
const [LIBRARY, SCHOOLS, TAX] = SERVICES as [string, string, string];

const change = (changeNo: string) => ({
  changeNo,
  idNumbers: [mover!.citizenNo, partner!.citizenNo],
  names: [mover!.fullName, partner!.fullName],
  address: mover!.address,
  effectiveAt: "2026-06-01T09:00:00Z",
});
const input = (changeNo: string, retryScheduleMs = [50, 50]): AddressChangeNotificationInput => ({
  ...change(changeNo),
  linkageId: "5c1f3a2e-8d4b-5f70-9b1c-2e3d4f5a6b7c",
  retryScheduleMs,
});

/** A technical failure the activity may retry at once (quickly here), then the schedule takes over. */
const unavailable = (service: string) =>
  ApplicationFailure.create({ message: `${service} answered 503`, type: "HUB_ERR_AGENCY_UNAVAILABLE", nextRetryDelay: "5ms" });
const ok = { status: 202, headers: {} };

/** The catalogue: the three services take part; `answer` decides each call (all told by default). */
const catalogue = (answer: (p: CallParams) => Promise<typeof ok> = async () => ok, services = SERVICES): Partial<Activities> => ({
  linkedServices: async () => ({ services: services.map((service) => ({ service, method: "POST" as const, path: "/address-changes" })) }),
  callService: answer,
});

type Handle = WorkflowHandle<typeof addressChangeNotification>;

async function notifyAll(mocks: Mocks, run: AddressChangeNotificationInput, during: (h: Handle) => Promise<void> = async () => {}) {
  return wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof addressChangeNotification>("addressChangeNotification", {
      taskQueue,
      workflowId: taskQueue,
      args: [run],
    });
    await during(handle);
    const outcome = await handle.result().catch((err: unknown) => err);
    return { outcome, workflowId: handle.workflowId, ...(await visibility(handle)) };
  });
}

const told = (service: string, attempts = 1): ServiceCall => ({ service, status: "SUCCEEDED", attempts });

test("by reference (the event's change number only): the change is read first, for civil-registration, and is the body", async () => {
  const mocks = mock({ ...catalogue(), readAddressChange: async ({ changeNo }) => change(changeNo) });
  const { outcome } = await notifyAll(mocks, {
    changeNo: "AC00000000000000B1",
    effectiveAt: "2026-06-01T09:00:00Z",
    linkageId: input("x").linkageId,
    retryScheduleMs: [50],
  });
  assert.deepEqual(mocks.paramsOf("readAddressChange"), [{ changeNo: "AC00000000000000B1", purpose: "civil-registration" }]);
  assert.deepEqual((outcome as { stepsDone: string[] }).stepsDone, ["read-change", "find-services", "notify-services"]);
  assert.deepEqual(
    mocks.paramsOf("callService").map((c) => c.body),
    SERVICES.map(() => change("AC00000000000000B1")),
  );
});

test("every service that takes part is told, in parallel, the change as the body → COMPLETED", async () => {
  const all = gate();
  let waiting = 0;
  const mocks = mock(
    catalogue(async () => {
      // No call ends before all three started: they run side by side.
      if (++waiting === SERVICES.length) all.open();
      await all.wait();
      return ok;
    }),
  );
  const { outcome, linkageStatus, progress } = await notifyAll(mocks, input("AC00000000000000A1"));
  const serviceCalls = SERVICES.map((s) => told(s));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["find-services", "notify-services"],
    serviceCalls,
    status: "COMPLETED",
    result: { changeNo: "AC00000000000000A1", told: SERVICES },
  });
  assert.deepEqual(mocks.paramsOf("linkedServices"), [{ linkage: "address-change" }]);
  assert.deepEqual(
    mocks.paramsOf("callService"),
    SERVICES.map((service) => ({
      service,
      method: "POST",
      path: "/address-changes",
      headers: { "data-purpose": "civil-registration", "idempotency-key": `address-change:AC00000000000000A1:${service}` },
      body: change("AC00000000000000A1"),
    })),
  );
  assert.equal(linkageStatus, "COMPLETED");
  assert.deepEqual(progress, { currentStep: null, stepsDone: ["find-services", "notify-services"], serviceCalls });
});

test("a service that fails at first is tried again on the schedule, WAITING_RETRY meanwhile, and told → COMPLETED", async () => {
  let schoolCalls = 0;
  const mocks = mock(
    catalogue(async (p) => {
      // The first attempt of the schedule (three quick tries) fails; the second succeeds.
      if (p.service === SCHOOLS && ++schoolCalls <= 3) throw unavailable(SCHOOLS);
      return ok;
    }),
  );
  let waiting: ServiceCall | undefined;
  const { outcome } = await notifyAll(mocks, input("AC00000000000000A2", [3000, 50]), async (handle) => {
    const seen = await until(handle, (v) => v.progress?.serviceCalls?.some((c) => c.status === "WAITING_RETRY") ?? false);
    waiting = seen.progress!.serviceCalls!.find((c) => c.service === SCHOOLS);
  });
  assert.equal(waiting?.status, "WAITING_RETRY");
  assert.equal(waiting?.attempts, 1);
  assert.match(String(waiting?.reason), /answered 503/);
  assert.ok(Date.parse(waiting!.nextAttemptAt!) > Date.now() - 5000);
  const done = outcome as { status: string; serviceCalls: ServiceCall[] };
  assert.equal(done.status, "COMPLETED", JSON.stringify(outcome));
  assert.deepEqual(done.serviceCalls, [told(LIBRARY), told(SCHOOLS, 2), told(TAX)]);
  assert.equal(schoolCalls, 4);
});

test("a service never reached once the schedule is exhausted → FAILED, naming it, the others told", async () => {
  const mocks = mock(
    catalogue(async (p) => {
      if (p.service === TAX) throw unavailable(TAX);
      return ok;
    }),
  );
  const { outcome, workflowId, linkageStatus, progress } = await notifyAll(mocks, input("AC00000000000000A3", [20, 20]));
  assert.ok(outcome instanceof WorkflowFailedError, String(outcome));
  assert.ok(outcome.cause instanceof ApplicationFailure);
  assert.equal(outcome.cause.type, "NOTIFICATION_INCOMPLETE");
  const reason = `told 2 of 3 services of address change AC00000000000000A3; not told: ${TAX} (never reached in 3 attempts: ${TAX} answered 503)`;
  assert.equal(outcome.cause.message, reason);
  // Three attempts of the schedule (the first and two retries), each tried three times at once.
  assert.equal(mocks.paramsOf("callService").filter((p) => p.service === TAX).length, 9);
  assert.deepEqual(progress?.serviceCalls, [told(LIBRARY), told(SCHOOLS), { service: TAX, status: "UNREACHED", attempts: 3, reason: `${TAX} answered 503` }]);
  assert.deepEqual(mocks.paramsOf("announceEnd").map(ended), [{ workflowId, status: "FAILED", compensated: false, reason }]);
  assert.equal(linkageStatus, "FAILED");
});

test("a refusal (a service disabled meanwhile) is not retried: the step fails with the reason → FAILED", async () => {
  const disabled = `${SCHOOLS} is disabled by its provider's operators`;
  const mocks = mock(
    catalogue(async (p) => {
      if (p.service === SCHOOLS) throw ApplicationFailure.nonRetryable(disabled, "HUB_ERR_SERVICE_DISABLED");
      return ok;
    }),
  );
  const { outcome, progress } = await notifyAll(mocks, input("AC00000000000000A4"));
  assert.ok(outcome instanceof WorkflowFailedError, String(outcome));
  assert.equal(outcome.cause?.message, `told 2 of 3 services of address change AC00000000000000A4; not told: ${SCHOOLS} (refused: ${disabled})`);
  assert.equal(mocks.paramsOf("callService").filter((p) => p.service === SCHOOLS).length, 1);
  assert.deepEqual(progress?.serviceCalls?.[1], { service: SCHOOLS, status: "REFUSED", attempts: 1, reason: disabled });
});

test("no service takes part in address changes: nothing to tell → COMPLETED", async () => {
  const mocks = mock(catalogue(undefined, []));
  const { outcome } = await notifyAll(mocks, input("AC00000000000000A5"));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["find-services", "notify-services"],
    serviceCalls: [],
    status: "COMPLETED",
    result: { changeNo: "AC00000000000000A5", told: [] },
  });
  assert.deepEqual(mocks.names(), ["linkedServices", "announceEnd"]);
});

test("cancelled while a service waits for its retry → CANCELLED, the timer ends with it", async () => {
  const mocks = mock(
    catalogue(async (p) => {
      if (p.service === LIBRARY) throw unavailable(LIBRARY);
      return ok;
    }),
  );
  const { outcome, linkageStatus } = await notifyAll(mocks, input("AC00000000000000A6", [60_000]), async (handle) => {
    await until(handle, (v) => v.progress?.serviceCalls?.[0]?.status === "WAITING_RETRY");
    await handle.cancel();
  });
  assert.equal((outcome as { status: string }).status, "CANCELLED", String(outcome));
  assert.equal(mocks.paramsOf("callService").filter((p) => p.service === LIBRARY).length, 3);
  assert.equal(linkageStatus, "COMPENSATED");
});
