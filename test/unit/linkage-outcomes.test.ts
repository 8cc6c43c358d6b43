/** The outcome the hub stores when a linkage ends keeps the result's references and leaves out what identifies a person. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { referencesOf, storedStatus, type StoredOutcome } from "../../workflows/service/outcomes";

test("a marriage's and a relocation's results keep their numbers, not the couple's id numbers, credentials, the holder or the address", () => {
  const marriage = {
    registrationNo: "M-1",
    registeredAt: "2026-12-01T10:00:00.000Z",
    eids: [
      { idNumber: "110101199001011234", eidNo: "EID1", credential: "a.b.c", issuedHere: true },
      { idNumber: "110101199202022345", credential: "d.e.f", issuedHere: false },
    ],
    householdAddressChanged: true,
  };
  assert.deepEqual(referencesOf(marriage), {
    registrationNo: "M-1",
    registeredAt: "2026-12-01T10:00:00.000Z",
    eids: [{ eidNo: "EID1", issuedHere: true }, { issuedHere: false }],
    householdAddressChanged: true,
  });
  const relocation = { changeNo: "C-1", newHolder: { idNumber: "x", name: { family: "Li" } }, address: { street: "s" }, transferred: ["A-1"] };
  assert.deepEqual(referencesOf(relocation), { changeNo: "C-1", transferred: ["A-1"] });
});

test("a stored outcome answers as a closed linkage: no current step, its close time, reason and result only when there are", () => {
  const base = { id: "b09a4730-6f8e-5512-8a87-444a45c225c1", type: "eid-issuance", businessKey: "APP-1", createdAt: "2026-12-01T09:00:00.000Z" };
  const outcome: StoredOutcome = {
    status: "REFUSED",
    reason: "no such citizen",
    progress: { stepsDone: ["verify-identity"] },
    result: null,
    closedAt: "2026-12-01T09:00:01.5+00:00",
  };
  assert.deepEqual(storedStatus(base, outcome), {
    ...base,
    status: "REFUSED",
    currentStep: null,
    stepsDone: ["verify-identity"],
    closedAt: "2026-12-01T09:00:01.500Z",
    reason: "no such citizen",
  });
});
