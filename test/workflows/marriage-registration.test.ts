/** The marriage registration workflow's branches, with the civil registry mocked. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { WorkflowFailedError, type WorkflowHandle } from "@temporalio/client";
import type { MarriageInput, marriageRegistration } from "../../workflows/linkages/marriage-registration";
import { consentWithdrawn } from "../../workflows/linkages/signals";
import { SEED, SEED_AS_OF, syntheticCitizens, type SyntheticCitizen } from "../../sandbox-kit/synthetic-people";
import { gate, mock, refused, unavailable, visibility, workflowEnv, type Activities, type Mocks, type WorkflowEnv } from "../support/workflow-env";

let wf: WorkflowEnv;
before(async () => (wf = await workflowEnv()));
after(() => wf?.teardown());

// Old enough to marry (22 for men, 20 for women) whenever the tests run.
const [him, her, other] = syntheticCitizens(SEED, 3, { asOf: SEED_AS_OF, minAge: 25, maxAge: 60 });
// 16 or 17 today: the workflow counts age on the day it runs.
const [young] = syntheticCitizens(SEED, 1, { asOf: new Date(), minAge: 16, maxAge: 17 });
const applicant = (c: SyntheticCitizen, credential?: string) => ({ idNumber: c.citizenNo, name: c.fullName, ...(credential ? { credential } : {}) });
const HOME = { province: "上海市", city: "上海市", district: "徐汇区", street: "人民路12号", postcode: "200030" };
const input = (applicationNo: string, applicants = [applicant(him!), applicant(her!)], extra: Partial<MarriageInput> = {}): MarriageInput => ({
  linkageId: "5f0e8a52-8f0c-5b53-a1d2-7f6c1b2e9c02",
  applicationNo,
  applicants,
  ...extra,
});
const AT = "2026-06-01T09:00:00Z";
const eidOf = (idNumber: string) => ({ eidNo: `EID-${idNumber}`, credential: `credential-${idNumber}`, issuedAt: AT, expiresAt: "2031-06-01T09:00:00Z" });

/** A registry that says yes to everything. */
const registry = (overrides: Partial<Activities> = {}): Partial<Activities> => ({
  verifyIdentity: async () => ({ match: true }),
  maritalStatus: async () => ({ maritalStatus: "SINGLE" }),
  issueEid: async ({ idNumber }) => eidOf(idNumber),
  revokeEid: async ({ eidNo }) => ({ eidNo, revokedAt: AT }),
  registerMarriage: async ({ applicants }) => ({ registrationNo: "MR-0001", spouses: applicants.map((a) => a.idNumber), registeredAt: AT }),
  changeAddress: async ({ idNumbers, address }) => ({ changeNo: "AC-0001", idNumbers, names: [], address, effectiveAt: AT }),
  ...overrides,
});

type Handle = WorkflowHandle<typeof marriageRegistration>;

/** Runs the workflow with `mocks` to its end; `during` acts on it while it runs (signals, cancellation). */
async function marry(mocks: Mocks, marriage: MarriageInput, during: (h: Handle) => Promise<void> = async () => {}) {
  return wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof marriageRegistration>("marriageRegistration", {
      taskQueue,
      workflowId: taskQueue,
      args: [marriage],
    });
    await during(handle);
    return { outcome: await handle.result(), ...(await visibility(handle)) };
  });
}

const revocations = (mocks: Mocks) => mocks.paramsOf("revokeEid").sort((a, b) => a.eidNo.localeCompare(b.eidNo));
const revocationOf = (c: SyntheticCitizen, applicationNo: string) => ({
  eidNo: `EID-${c.citizenNo}`,
  reason: "issued for a marriage application that did not complete",
  idempotencyKey: `marriage:${applicationNo}:revoke:${c.citizenNo}`,
});
const byEidNo = (a: { eidNo: string }, b: { eidNo: string }) => a.eidNo.localeCompare(b.eidNo);

test("marriage: both verified and eligible, e-IDs issued, marriage registered, couple moved → COMPLETED", async () => {
  const mocks = mock(registry());
  const { outcome, linkageStatus, progress } = await marry(mocks, input("MA-1", undefined, { householdAddress: HOME }));
  const steps = ["verify-identities", "check-eligibility", "issue-eids", "register-marriage", "update-household-address"];
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: steps,
    status: "COMPLETED",
    result: {
      registrationNo: "MR-0001",
      registeredAt: AT,
      eids: [him!, her!].map((c) => ({ idNumber: c.citizenNo, eidNo: `EID-${c.citizenNo}`, credential: `credential-${c.citizenNo}`, issuedHere: true })),
      householdAddressChanged: true,
    },
  });
  assert.deepEqual(
    mocks.paramsOf("issueEid").sort((a, b) => a.idNumber.localeCompare(b.idNumber)),
    [him!, her!]
      .map((c) => ({ idNumber: c.citizenNo, idempotencyKey: `marriage:MA-1:eid:${c.citizenNo}` }))
      .sort((a, b) => a.idNumber.localeCompare(b.idNumber)),
  );
  assert.deepEqual(mocks.paramsOf("registerMarriage"), [
    { applicants: [him!, her!].map((c) => ({ idNumber: c.citizenNo, credential: `credential-${c.citizenNo}` })), idempotencyKey: "marriage:MA-1:register" },
  ]);
  assert.deepEqual(mocks.paramsOf("changeAddress"), [{ idNumbers: [him!.citizenNo, her!.citizenNo], address: HOME, idempotencyKey: "marriage:MA-1:address" }]);
  assert.equal(mocks.paramsOf("revokeEid").length, 0);
  assert.equal(linkageStatus, "COMPLETED");
  assert.deepEqual(progress, { currentStep: null, stepsDone: steps });
});

test("marriage: without a household address, an applicant bringing a credential gets no new e-ID → COMPLETED, nobody moved", async () => {
  const mocks = mock(registry());
  const { outcome } = await marry(mocks, input("MA-2", [applicant(him!, "his-own-credential"), applicant(her!)]));
  assert.equal(outcome.status, "COMPLETED");
  assert.deepEqual(outcome.stepsDone, ["verify-identities", "check-eligibility", "issue-eids", "register-marriage"]);
  assert.deepEqual(outcome.result?.eids, [
    { idNumber: him!.citizenNo, credential: "his-own-credential", issuedHere: false },
    { idNumber: her!.citizenNo, eidNo: `EID-${her!.citizenNo}`, credential: `credential-${her!.citizenNo}`, issuedHere: true },
  ]);
  assert.equal(outcome.result?.householdAddressChanged, false);
  assert.deepEqual(mocks.paramsOf("issueEid"), [{ idNumber: her!.citizenNo, idempotencyKey: `marriage:MA-2:eid:${her!.citizenNo}` }]);
  assert.deepEqual(
    mocks.paramsOf("registerMarriage").map((p) => p.applicants),
    [
      [
        { idNumber: him!.citizenNo, credential: "his-own-credential" },
        { idNumber: her!.citizenNo, credential: `credential-${her!.citizenNo}` },
      ],
    ],
  );
  assert.ok(!mocks.names().includes("changeAddress"));
});

test("marriage: the same person twice → REFUSED before any registry call", async () => {
  const mocks = mock(registry());
  const { outcome, linkageStatus } = await marry(mocks, input("MA-3", [applicant(him!), applicant(him!)]));
  assert.deepEqual(outcome, { currentStep: null, stepsDone: [], status: "REFUSED", reason: "both applicants are the same person" });
  assert.deepEqual(mocks.names(), ["announceEnd"]);
  assert.equal(linkageStatus, "REFUSED");
});

test("marriage: a name that does not belong to its identity number → REFUSED after verify-identities", async () => {
  const mocks = mock(registry({ verifyIdentity: async ({ idNumber }) => ({ match: idNumber !== her!.citizenNo }) }));
  const { outcome, linkageStatus } = await marry(mocks, input("MA-4"));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities"],
    status: "REFUSED",
    reason: "identity mismatch: a name does not belong to its identity number",
  });
  assert.deepEqual(mocks.names(), ["verifyIdentity", "verifyIdentity", "announceEnd"]);
  assert.equal(linkageStatus, "REFUSED");
});

test("marriage: an applicant already married → REFUSED before any e-ID is issued", async () => {
  const mocks = mock(registry({ maritalStatus: async ({ idNumber }) => ({ maritalStatus: idNumber === other!.citizenNo ? "MARRIED" : "SINGLE" }) }));
  const { outcome, linkageStatus } = await marry(mocks, input("MA-5", [applicant(him!), applicant(other!)]));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities", "check-eligibility"],
    status: "REFUSED",
    reason: "an applicant is already married",
  });
  assert.deepEqual(
    mocks
      .paramsOf("maritalStatus")
      .map((p) => p.idNumber)
      .sort(),
    [him!.citizenNo, other!.citizenNo].sort(),
  );
  assert.ok(!mocks.names().includes("issueEid"));
  assert.equal(linkageStatus, "REFUSED");
});

test("marriage: an applicant under the legal marriage age → REFUSED before any e-ID is issued", async () => {
  const mocks = mock(registry());
  const { outcome } = await marry(mocks, input("MA-6", [applicant(him!), applicant(young!)]));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities", "check-eligibility"],
    status: "REFUSED",
    reason: "an applicant is under the legal marriage age",
  });
  assert.ok(!mocks.names().includes("issueEid"));
});

test("marriage: consent withdrawn before the e-IDs are issued → CANCELLED with its reason, no e-ID issued", async () => {
  const mocks = mock(registry());
  const { outcome, linkageStatus } = await wf.withWorker(mocks, async (taskQueue) => {
    // Sent with the start: the workflow has it before its first step.
    const handle = await wf.env.client.workflow.signalWithStart<typeof marriageRegistration, [{ reason?: string }]>("marriageRegistration", {
      taskQueue,
      workflowId: taskQueue,
      args: [input("MA-7")],
      signal: consentWithdrawn,
      signalArgs: [{ reason: "the bride changed her mind" }],
    });
    return { outcome: await handle.result(), ...(await visibility(handle)) };
  });
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities", "check-eligibility"],
    status: "CANCELLED",
    reason: "the bride changed her mind",
  });
  assert.ok(!mocks.names().includes("issueEid"));
  assert.deepEqual(
    mocks.paramsOf("announceEnd").map((a) => [a.status, a.compensated, a.reason]),
    [["CANCELLED", false, "the bride changed her mind"]],
  );
  assert.equal(linkageStatus, "COMPENSATED");
});

test("marriage: consent withdrawn while the e-IDs are issued → CANCELLED, both e-IDs revoked", async () => {
  const issuing = gate();
  const mocks = mock(
    registry({
      issueEid: async ({ idNumber }) => {
        await issuing.wait();
        return eidOf(idNumber);
      },
    }),
  );
  const { outcome } = await marry(mocks, input("MA-8"), async (handle) => {
    await issuing.reached;
    await handle.signal(consentWithdrawn, {});
    issuing.open();
  });
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities", "check-eligibility", "issue-eids"],
    status: "CANCELLED",
    reason: "an applicant withdrew consent",
  });
  assert.deepEqual(revocations(mocks), [revocationOf(him!, "MA-8"), revocationOf(her!, "MA-8")].sort(byEidNo));
  assert.ok(!mocks.names().includes("registerMarriage"));
});

test("marriage: the registry refuses the only e-ID to issue → REFUSED with its reason, nothing to revoke", async () => {
  const mocks = mock(
    registry({
      issueEid: async () => {
        throw refused("the citizen's e-ID is suspended");
      },
    }),
  );
  const { outcome, linkageStatus } = await marry(mocks, input("MA-9", [applicant(him!, "his-own-credential"), applicant(her!)]));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities", "check-eligibility"],
    status: "REFUSED",
    reason: "the citizen's e-ID is suspended",
  });
  assert.deepEqual(mocks.paramsOf("issueEid").length, 1, "a refusal is not retried");
  assert.ok(!mocks.names().includes("revokeEid"));
  assert.ok(!mocks.names().includes("registerMarriage"));
  assert.equal(linkageStatus, "REFUSED");
});

test("marriage: the registry refuses one e-ID after issuing the other → REFUSED, the e-ID issued revoked", async () => {
  let hisIssued!: () => void;
  const issued = new Promise<void>((r) => (hisIssued = r));
  const mocks = mock(
    registry({
      issueEid: async ({ idNumber }) => {
        if (idNumber === him!.citizenNo) {
          hisIssued();
          return eidOf(idNumber);
        }
        await issued;
        throw refused("the citizen's e-ID is suspended");
      },
    }),
  );
  const { outcome } = await marry(mocks, input("MA-10"));
  assert.equal(outcome.status, "REFUSED");
  assert.equal(outcome.reason, "the citizen's e-ID is suspended");
  assert.deepEqual(revocations(mocks), [revocationOf(him!, "MA-10")]);
});

test("marriage: the registry never answers one e-ID issue after issuing the other → the workflow fails, the e-ID issued revoked", async () => {
  let hisIssued!: () => void;
  const issued = new Promise<void>((r) => (hisIssued = r));
  const mocks = mock(
    registry({
      issueEid: async ({ idNumber }) => {
        if (idNumber === him!.citizenNo) {
          hisIssued();
          return eidOf(idNumber);
        }
        await issued;
        throw unavailable("the registry did not answer in time");
      },
    }),
  );
  const failed = await marry(mocks, input("MA-10b")).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(failed instanceof WorkflowFailedError, String(failed));
  assert.deepEqual(revocations(mocks), [revocationOf(him!, "MA-10b")]);
  assert.ok(!mocks.names().includes("registerMarriage"));
});

test("marriage: the registry refuses to register the marriage → REFUSED, the e-IDs issued for it revoked", async () => {
  const mocks = mock(
    registry({
      registerMarriage: async () => {
        throw refused("a credential presented is not valid");
      },
    }),
  );
  const { outcome, linkageStatus } = await marry(mocks, input("MA-11"));
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities", "check-eligibility", "issue-eids"],
    status: "REFUSED",
    reason: "a credential presented is not valid",
  });
  assert.deepEqual(revocations(mocks), [revocationOf(him!, "MA-11"), revocationOf(her!, "MA-11")].sort(byEidNo));
  // The revocations come after the refused registration, and before the end is announced.
  assert.deepEqual(mocks.names().slice(-4), ["registerMarriage", "revokeEid", "revokeEid", "announceEnd"]);
  assert.deepEqual(
    mocks.paramsOf("announceEnd").map((a) => [a.status, a.compensated]),
    [["REFUSED", true]],
  );
  assert.equal(linkageStatus, "REFUSED");
});

test("marriage: cancelled while the marriage is registered (after the e-IDs) → CANCELLED, the e-IDs revoked", async () => {
  const registering = gate();
  const mocks = mock(
    registry({
      registerMarriage: async ({ applicants }) => {
        await registering.wait();
        return { registrationNo: "MR-0001", spouses: applicants.map((a) => a.idNumber), registeredAt: AT };
      },
    }),
  );
  const { outcome, linkageStatus } = await marry(mocks, input("MA-12"), async (handle) => {
    await registering.reached;
    await handle.cancel();
    await handle.result().catch(() => undefined);
    registering.open();
  });
  assert.deepEqual(outcome, {
    currentStep: null,
    stepsDone: ["verify-identities", "check-eligibility", "issue-eids"],
    status: "CANCELLED",
    reason: "cancelled on request",
  });
  assert.deepEqual(revocations(mocks), [revocationOf(him!, "MA-12"), revocationOf(her!, "MA-12")].sort(byEidNo));
  assert.deepEqual(
    mocks.paramsOf("announceEnd").map((a) => [a.status, a.compensated]),
    [["CANCELLED", true]],
  );
  assert.equal(linkageStatus, "COMPENSATED");
});
