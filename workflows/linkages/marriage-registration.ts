/**
 * Marriage registration with e-ID: verify both applicants' identities, check that both may
 * marry, issue an e-ID to each applicant who brings none, register the marriage presenting
 * both e-IDs, and move the couple to their shared household address when one is given.
 * (The registry publishes `civil-registry.marriage.registered`; the linkage does not.)
 *
 * A business refusal ends the linkage with its reason, never in a retry loop; e-IDs issued
 * only for this application are revoked when it does not end in a marriage. An applicant
 * may withdraw consent until the marriage is registered.
 */
import { ActivityFailure, ApplicationFailure, isCancellation, patched, proxyActivities, setHandler } from "@temporalio/workflow";
import type { civilRegistryActivities } from "../activities/civil-registry";
import type { components } from "../../contracts/generated/types";
import { residentIdBirthDate } from "../../contracts/formats";
import { cancellable, linkageSteps, type Steps } from "./steps";
import { consentWithdrawn } from "./signals";
import type { LinkageOutcome } from "./visibility";
import { REGISTRY_CALLS } from "./retry-policies";

type Schemas = components["schemas"];

export type MarriageInput = Schemas["MarriageRegistrationRequest"] & { linkageId: string };

export interface MarriageOutcome extends LinkageOutcome {
  result?: {
    registrationNo: string;
    registeredAt: string;
    eids: { idNumber: string; eidNo?: string; credential: string; issuedHere: boolean }[];
    householdAddressChanged: boolean;
  };
}

const registry = proxyActivities<ReturnType<typeof civilRegistryActivities>>(REGISTRY_CALLS);

/** Legal marriage age (PRC Civil Code, art. 1047): 22 for men, 20 for women. */
function underAge(idNumber: string, today: Date): boolean {
  const born = new Date(residentIdBirthDate(idNumber) + "T00:00:00Z");
  const male = Number(idNumber[16]) % 2 === 1;
  const majority = new Date(Date.UTC(born.getUTCFullYear() + (male ? 22 : 20), born.getUTCMonth(), born.getUTCDate()));
  return majority > today;
}

/** The registry's refusal behind a failed activity, if that is what it was. */
function refusal(err: unknown): string | undefined {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === "HUB_ERR_AGENCY_REFUSED" ? cause.message : undefined;
}

export async function marriageRegistration(input: MarriageInput): Promise<MarriageOutcome> {
  const steps = linkageSteps();
  return cancellable(steps, () => marry(input, steps));
}

async function marry(input: MarriageInput, steps: Steps): Promise<MarriageOutcome> {
  let withdrawn: string | undefined;
  setHandler(consentWithdrawn, ({ reason }) => void (withdrawn ??= reason ?? "an applicant withdrew consent"));

  const end = steps.end;
  const applicants = input.applicants;
  const key = (what: string, idNumber = "") => `marriage:${input.applicationNo}:${what}${idNumber && ":" + idNumber}`;

  if (applicants[0]!.idNumber === applicants[1]!.idNumber) return end("REFUSED", "both applicants are the same person");

  const matches = await steps.run("verify-identities", () =>
    Promise.all(applicants.map((a) => registry.verifyIdentity({ idNumber: a.idNumber, name: a.name }))),
  );
  if (matches.some((m) => !m.match)) return end("REFUSED", "identity mismatch: a name does not belong to its identity number");

  const statuses = await steps.run("check-eligibility", () => Promise.all(applicants.map((a) => registry.maritalStatus({ idNumber: a.idNumber }))));
  if (statuses.some((s) => s.maritalStatus === "MARRIED")) return end("REFUSED", "an applicant is already married");
  if (applicants.some((a) => underAge(a.idNumber, new Date()))) return end("REFUSED", "an applicant is under the legal marriage age");
  if (withdrawn) return end("CANCELLED", withdrawn);

  let eids: Eids;
  try {
    eids = await issueMissingEids(applicants, steps, key);
  } catch (err) {
    const reason = refusal(err);
    if (reason) return end("REFUSED", reason);
    // Not a refusal: the e-IDs issued before the failure are revoked before the linkage fails (a cancellation's are, by cancellable()).
    if (!isCancellation(err)) await steps.compensate();
    throw err;
  }
  if (withdrawn) return end("CANCELLED", withdrawn);

  let marriage: Schemas["Marriage"];
  try {
    marriage = await steps.run("register-marriage", () =>
      registry.registerMarriage({ applicants: eids.map((e) => ({ idNumber: e.idNumber, credential: e.credential })), idempotencyKey: key("register") }),
    );
  } catch (err) {
    const reason = refusal(err);
    if (reason) return end("REFUSED", reason);
    throw err;
  }

  let householdAddressChanged = false;
  if (input.householdAddress) {
    const address = input.householdAddress;
    await steps.run("update-household-address", () =>
      registry.changeAddress({ idNumbers: applicants.map((a) => a.idNumber), address, idempotencyKey: key("address") }),
    );
    householdAddressChanged = true;
  }

  steps.finish("COMPLETED");
  return {
    ...steps.progress,
    status: "COMPLETED",
    result: { registrationNo: marriage.registrationNo, registeredAt: marriage.registeredAt, eids, householdAddressChanged },
  };
}

type Eids = NonNullable<MarriageOutcome["result"]>["eids"];

/**
 * Issues an e-ID to each applicant who brings none; undone by revoking those, never used, if
 * the marriage is not registered. One issued before the other failed is revoked as well.
 */
async function issueMissingEids(applicants: MarriageInput["applicants"], steps: Steps, key: (what: string, idNumber?: string) => string): Promise<Eids> {
  const issued: Eids = [];
  let issuing: Promise<Eids[number]>[] = [];
  const revoke = (eids: Eids) =>
    Promise.all(
      eids
        .filter((e) => e.issuedHere)
        .map((e) =>
          registry.revokeEid({ eidNo: e.eidNo!, reason: "issued for a marriage application that did not complete", idempotencyKey: key("revoke", e.idNumber) }),
        ),
    );
  try {
    return await steps.run(
      "issue-eids",
      () => {
        issuing = applicants.map(async (a) => {
          if (a.credential) return { idNumber: a.idNumber, credential: a.credential, issuedHere: false };
          const eid = await registry.issueEid({ idNumber: a.idNumber, idempotencyKey: key("eid", a.idNumber) });
          issued.push({ idNumber: a.idNumber, eidNo: eid.eidNo, credential: eid.credential, issuedHere: true });
          return issued.at(-1)!;
        });
        return Promise.all(issuing);
      },
      revoke,
    );
  } catch (err) {
    // Those still being issued when one failed are waited for, so none is missed.
    if (patched("revoke-partly-issued-eids")) {
      await Promise.allSettled(issuing);
      if (issued.length) steps.undoLater(() => revoke(issued));
    }
    throw err;
  }
}
