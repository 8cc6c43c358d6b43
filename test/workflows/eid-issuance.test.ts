/** The e-ID issuance workflow's branches, with the civil registry mocked. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { EidIssuanceInput, eidIssuance } from "../../workflows/linkages/eid-issuance";
import { SEED, SEED_AS_OF, syntheticCitizens } from "../../sandbox-kit/synthetic-people";
import { gate, mock, refused, visibility, workflowEnv, type Activities, type WorkflowEnv, ended } from "../support/workflow-env";

let wf: WorkflowEnv;
before(async () => (wf = await workflowEnv()));
after(() => wf?.teardown());

const [citizen] = syntheticCitizens(SEED, 1, { asOf: SEED_AS_OF });
const input = (applicationNo: string): EidIssuanceInput => ({
  linkageId: "2b1f0c56-2f7e-5d3a-9b7c-0c3c1f1d6a01",
  applicationNo,
  idNumber: citizen!.citizenNo,
  name: citizen!.fullName,
});
const EID = { eidNo: "EID-0001", credential: "credential-0001", issuedAt: "2026-01-01T00:00:00Z", expiresAt: "2031-01-01T00:00:00Z" };
const registry = (overrides: Partial<Activities> = {}): Partial<Activities> => ({
  verifyIdentity: async () => ({ match: true }),
  issueEid: async () => EID,
  ...overrides,
});

async function issue(applicationNo: string, impls: Partial<Activities>) {
  const mocks = mock(impls);
  return wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof eidIssuance>("eidIssuance", { taskQueue, workflowId: taskQueue, args: [input(applicationNo)] });
    const outcome = await handle.result();
    return { outcome, mocks, workflowId: handle.workflowId, ...(await visibility(handle)) };
  });
}

test("eid-issuance: identity verified, e-ID issued → COMPLETED with the e-ID", async () => {
  const { outcome, mocks, workflowId, linkageStatus, progress } = await issue("EA-1", registry());
  assert.deepEqual(outcome, { currentStep: null, stepsDone: ["verify-identity", "issue-eid"], status: "COMPLETED", result: EID });
  assert.deepEqual(mocks.names(), ["verifyIdentity", "issueEid", "announceEnd"]);
  assert.deepEqual(mocks.paramsOf("verifyIdentity"), [{ idNumber: citizen!.citizenNo, name: citizen!.fullName }]);
  assert.deepEqual(mocks.paramsOf("issueEid"), [{ idNumber: citizen!.citizenNo, idempotencyKey: "eid-issuance:EA-1" }]);
  assert.deepEqual(mocks.paramsOf("announceEnd").map(ended), [{ workflowId, status: "COMPLETED", compensated: false }]);
  assert.equal(linkageStatus, "COMPLETED");
  assert.deepEqual(progress, { currentStep: null, stepsDone: ["verify-identity", "issue-eid"] });
});

test("eid-issuance: the name does not belong to the identity number → REFUSED, no e-ID issued", async () => {
  const { outcome, mocks, linkageStatus } = await issue("EA-2", registry({ verifyIdentity: async () => ({ match: false }) }));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identity"],
    status: "REFUSED",
    reason: "identity mismatch: the name does not belong to the identity number",
  });
  assert.deepEqual(mocks.names(), ["verifyIdentity", "announceEnd"]);
  assert.equal(linkageStatus, "REFUSED");
});

test("eid-issuance: the registry refuses to issue the e-ID → REFUSED with the registry's reason", async () => {
  const { outcome, mocks, linkageStatus, progress } = await issue(
    "EA-3",
    registry({
      issueEid: async () => {
        throw refused("the citizen already holds an active e-ID");
      },
    }),
  );
  assert.deepEqual(outcome, { currentStep: null, stepsDone: ["verify-identity"], status: "REFUSED", reason: "the citizen already holds an active e-ID" });
  assert.deepEqual(mocks.names(), ["verifyIdentity", "issueEid", "announceEnd"]);
  assert.equal(mocks.paramsOf("issueEid").length, 1, "a refusal is not retried");
  assert.deepEqual(mocks.paramsOf("announceEnd")[0]?.reason, "the citizen already holds an active e-ID");
  assert.equal(linkageStatus, "REFUSED");
  // The memo was last written when issue-eid started; a refusal does not write it again.
  assert.deepEqual(progress, { currentStep: "issue-eid", stepsDone: ["verify-identity"] });
});

test("eid-issuance: cancelled while the identity is verified → CANCELLED, no e-ID issued", async () => {
  const verifying = gate();
  const mocks = mock(
    registry({
      verifyIdentity: async () => {
        await verifying.wait();
        return { match: true };
      },
    }),
  );
  const { outcome, linkageStatus } = await wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof eidIssuance>("eidIssuance", { taskQueue, workflowId: taskQueue, args: [input("EA-4")] });
    await verifying.reached;
    await handle.cancel();
    const outcome = await handle.result();
    verifying.open();
    return { outcome, ...(await visibility(handle)) };
  });
  assert.deepEqual(outcome, { currentStep: null, stepsDone: [], status: "CANCELLED", reason: "cancelled on request" });
  assert.deepEqual(mocks.names(), ["verifyIdentity", "announceEnd"]);
  assert.deepEqual(
    mocks.paramsOf("announceEnd").map((a) => [a.status, a.compensated]),
    [["CANCELLED", false]],
  );
  assert.equal(linkageStatus, "COMPENSATED", "a cancelled linkage shows COMPENSATED, there being no CANCELLED status");
});
