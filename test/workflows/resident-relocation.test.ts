/** The resident relocation workflow's branches, with the utility mocked. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { WorkflowFailedError, type WorkflowHandle } from "@temporalio/client";
import { ApplicationFailure } from "@temporalio/common";
import type { components } from "../../contracts/generated/types";
import type { RelocationInput, residentRelocation } from "../../workflows/linkages/resident-relocation";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { gate, mock, refused, unavailable, visibility, workflowEnv, type Activities, type Mocks, type WorkflowEnv, ended } from "../support/workflow-env";

type Service = components["schemas"]["UtilityService"];
type TransferParams = components["schemas"]["UtilityAccountTransferParams"];

let wf: WorkflowEnv;
before(async () => (wf = await workflowEnv()));
after(() => wf?.teardown());

const [mover, partner, previous] = syntheticCitizens(SEED, 3, { asOf: SEED_AS_OF });
const ADDRESS = mover!.address;
const NEW_HOLDER = { idNumber: mover!.citizenNo, name: mover!.fullName };
const PREVIOUS_HOLDER = { idNumber: previous!.citizenNo, name: previous!.fullName };
const AT = "2026-06-01T09:00:00Z";
const LINKAGE_ID = "3e7a9c2d-1b4f-5e68-9a0c-7d2e4f6b8a04";

const input = (changeNo: string): RelocationInput => ({
  linkageId: LINKAGE_ID,
  changeNo,
  idNumbers: [mover!.citizenNo, partner!.citizenNo],
  names: [mover!.fullName, partner!.fullName],
  address: ADDRESS,
  effectiveAt: AT,
});

// The utility lists the accounts in its own order; the linkage transfers gas, power, water.
const ACCOUNTS: Record<string, Service> = { "W-1": "water", "G-1": "gas", "P-1": "power" };
/** A utility holding water, gas and power at the address for the previous holder, transferring at once. */
const utility = (overrides: Partial<Activities> = {}): Partial<Activities> => ({
  lookupAccounts: async () => ({
    accounts: Object.entries(ACCOUNTS).map(([accountNo, service]) => ({
      accountNo,
      service,
      status: "ACTIVE" as const,
      address: ADDRESS,
      holderName: PREVIOUS_HOLDER.name,
      suspensionReason: null,
      statusChangedAt: AT,
    })),
  }),
  transferAccount: async ({ accountNo, newHolder }) => ({
    orderNo: `TR-${accountNo}`,
    address: ADDRESS,
    newHolder,
    accounts: [{ accountNo: accountNo!, service: ACCOUNTS[accountNo!]!, status: "ACTIVE", changed: true, previousHolder: PREVIOUS_HOLDER }],
    effectiveAt: AT,
  }),
  ...overrides,
});
/** The same utility, but `fail` (a refusal or a technical failure) at the transfer of `accountNo`. */
const failingAt = (accountNo: string, fail: Error) => {
  const transfer = utility().transferAccount!;
  return utility({
    transferAccount: async (p) => {
      if (p.accountNo === accountNo) throw fail;
      return transfer(p);
    },
  });
};

const transfer = (changeNo: string, accountNo: string): TransferParams => ({
  accountNo,
  newHolder: NEW_HOLDER,
  idempotencyKey: `relocation:${changeNo}:${accountNo}`,
});
const giveBack = (changeNo: string, accountNo: string): TransferParams => ({
  accountNo,
  newHolder: PREVIOUS_HOLDER,
  idempotencyKey: `relocation:${changeNo}:${accountNo}:undo`,
});

type Handle = WorkflowHandle<typeof residentRelocation>;

/** Runs the workflow with `mocks` to its end (or failure); `during` acts on it while it runs. */
async function relocate(mocks: Mocks, relocation: RelocationInput, during: (h: Handle) => Promise<void> = async () => {}) {
  return wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof residentRelocation>("residentRelocation", {
      taskQueue,
      workflowId: taskQueue,
      args: [relocation],
    });
    await during(handle);
    const outcome = await handle.result().catch((err: unknown) => err);
    return { outcome, workflowId: handle.workflowId, ...(await visibility(handle)) };
  });
}

test("relocation: the accounts at the new address pass to the first resident, gas, power, water → COMPLETED", async () => {
  const mocks = mock(utility());
  const { outcome, linkageStatus, progress } = await relocate(mocks, input("AC-1"));
  const steps = ["find-accounts", "transfer-gas", "transfer-power", "transfer-water"];
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: steps,
    status: "COMPLETED",
    result: { changeNo: "AC-1", newHolder: NEW_HOLDER, address: ADDRESS, transferred: ["G-1", "P-1", "W-1"] },
  });
  assert.deepEqual(mocks.paramsOf("lookupAccounts"), [{ postcode: ADDRESS.postcode, street: ADDRESS.street }]);
  assert.deepEqual(mocks.paramsOf("transferAccount"), [transfer("AC-1", "G-1"), transfer("AC-1", "P-1"), transfer("AC-1", "W-1")]);
  assert.equal(linkageStatus, "COMPLETED");
  assert.deepEqual(progress, { currentStep: null, stepsDone: steps });
});

test("relocation by reference (the event's change number only): the change is read first, for utility-service, then the accounts pass", async () => {
  const change = input("AC-R");
  const mocks = mock({
    ...utility(),
    readAddressChange: async () => ({ changeNo: "AC-R", idNumbers: change.idNumbers!, names: change.names!, address: ADDRESS, effectiveAt: AT }),
  });
  const { outcome } = await relocate(mocks, { linkageId: LINKAGE_ID, changeNo: "AC-R", effectiveAt: AT });
  assert.deepEqual(mocks.paramsOf("readAddressChange"), [{ changeNo: "AC-R", purpose: "utility-service" }]);
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["read-change", "find-accounts", "transfer-gas", "transfer-power", "transfer-water"],
    status: "COMPLETED",
    result: { changeNo: "AC-R", newHolder: NEW_HOLDER, address: ADDRESS, transferred: ["G-1", "P-1", "W-1"] },
  });
});

test("relocation: the utility refuses the water transfer → REFUSED, power then gas given back (compensation)", async () => {
  const mocks = mock(failingAt("W-1", refused("the account is in arrears")));
  const { outcome, linkageStatus } = await relocate(mocks, input("AC-2"));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["find-accounts", "transfer-gas", "transfer-power"],
    status: "REFUSED",
    reason: "the utility refused to transfer the water account W-1: the account is in arrears",
  });
  assert.deepEqual(mocks.paramsOf("transferAccount"), [
    transfer("AC-2", "G-1"),
    transfer("AC-2", "P-1"),
    transfer("AC-2", "W-1"),
    giveBack("AC-2", "P-1"),
    giveBack("AC-2", "G-1"),
  ]);
  assert.deepEqual(
    mocks.paramsOf("announceEnd").map((a) => [a.status, a.compensated]),
    [["REFUSED", true]],
  );
  assert.equal(linkageStatus, "REFUSED");
});

test("relocation: an account that already was the new holder's is not given back when a later transfer is refused", async () => {
  const transferAccount = utility().transferAccount!;
  const mocks = mock(
    utility({
      transferAccount: async (p) => {
        if (p.accountNo === "P-1") throw refused("the account is in arrears");
        const done = await transferAccount(p);
        // Already theirs: a success that changed nothing, so nobody held it before this order.
        return { ...done, accounts: done.accounts.map(({ previousHolder: _, ...a }) => ({ ...a, changed: false })) };
      },
    }),
  );
  const { outcome } = await relocate(mocks, input("AC-3"));
  assert.equal((outcome as { status: string }).status, "REFUSED");
  assert.deepEqual(mocks.paramsOf("transferAccount"), [transfer("AC-3", "G-1"), transfer("AC-3", "P-1")]);
});

test("relocation: the utility never confirms the water transfer → the workflow fails (RELOCATION_HALF_FAILED) after giving power and gas back", async () => {
  const mocks = mock(failingAt("W-1", unavailable("the utility did not answer in time")));
  const { outcome, workflowId, linkageStatus, progress } = await relocate(mocks, input("AC-4"));
  assert.ok(outcome instanceof WorkflowFailedError, String(outcome));
  assert.ok(outcome.cause instanceof ApplicationFailure);
  assert.equal(outcome.cause.type, "RELOCATION_HALF_FAILED");
  const message =
    "the utility did not confirm the transfer of the water account W-1 (the utility did not answer in time); the accounts transferred before it were returned";
  assert.equal(outcome.cause.message, message);
  assert.deepEqual(mocks.paramsOf("transferAccount").slice(3), [giveBack("AC-4", "P-1"), giveBack("AC-4", "G-1")]);
  assert.deepEqual(mocks.paramsOf("announceEnd").map(ended), [{ workflowId, status: "FAILED", compensated: true, reason: message }]);
  assert.equal(linkageStatus, "COMPENSATED");
  assert.deepEqual(progress, { currentStep: "transfer-water", stepsDone: ["find-accounts", "transfer-gas", "transfer-power"] });
});

test("relocation: cancelled while the accounts are looked up → CANCELLED, nothing transferred", async () => {
  const looking = gate();
  const lookup = utility().lookupAccounts!;
  const mocks = mock(
    utility({
      lookupAccounts: async (p) => {
        await looking.wait();
        return lookup(p);
      },
    }),
  );
  const { outcome, linkageStatus } = await relocate(mocks, input("AC-5"), async (handle) => {
    await looking.reached;
    await handle.cancel();
    await handle.result();
    looking.open();
  });
  assert.deepEqual(outcome, { currentStep: null, stepsDone: [], status: "CANCELLED", reason: "cancelled on request" });
  assert.deepEqual(mocks.names(), ["lookupAccounts", "announceEnd"]);
  assert.equal(linkageStatus, "COMPENSATED");
});

test("relocation: cancelled during the power transfer → CANCELLED, the gas account given back", async () => {
  const transferring = gate();
  const transferAccount = utility().transferAccount!;
  const mocks = mock(
    utility({
      transferAccount: async (p) => {
        if (p.accountNo === "P-1" && p.newHolder.idNumber === NEW_HOLDER.idNumber) await transferring.wait();
        return transferAccount(p);
      },
    }),
  );
  const { outcome } = await relocate(mocks, input("AC-6"), async (handle) => {
    await transferring.reached;
    await handle.cancel();
    await handle.result().catch(() => undefined);
    transferring.open();
  });
  assert.deepEqual(outcome, { currentStep: null, stepsDone: ["find-accounts", "transfer-gas"], status: "CANCELLED", reason: "cancelled on request" });
  assert.deepEqual(mocks.paramsOf("transferAccount").slice(2), [giveBack("AC-6", "G-1")]);
});
