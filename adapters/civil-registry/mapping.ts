/**
 * Between the hub's contract and the civil registry's own format (`citizenNo`, `fullName`,
 * `checkResult`, errors as `{errorCode, errorMessage}`). Every answer is checked against
 * the registry's format before it is mapped: a malformed answer never passes on.
 */
import type { AgencyAnswer, AgencyClient } from "../../platform/agency-client";
import { HubError } from "../../platform/errors";
import type { components } from "../../contracts/generated/types";
import {
  isRegistryAddressChange,
  isRegistryEid,
  isRegistryEidStatus,
  isRegistryError,
  isRegistryMaritalStatus,
  isRegistryMarriage,
  isRegistryPerson,
  isRegistryPersonCheck,
  isRegistryRevocation,
  type RegistryEidStatus,
} from "./agency-format";

type Schemas = components["schemas"];

export const toPersonCheck = (p: Schemas["IdentityVerificationRequest"]) => ({ citizenNo: p.idNumber, fullName: p.name });

export function fromPersonCheck(client: AgencyClient, answer: AgencyAnswer): Schemas["IdentityVerificationResult"] {
  if (answer.status !== 200 || !isRegistryPersonCheck(answer.body)) throw unexpected(client, answer);
  return { match: answer.body.checkResult === "CONSISTENT" };
}

/** Business refusals the registry may give for an e-ID, and what they mean to a partner. */
const EID_REFUSALS: Record<string, string> = {
  CITIZEN_NOT_FOUND: "the registry has no such citizen",
  EID_ALREADY_ACTIVE: "the citizen already holds an active e-ID",
};

export function fromEidIssue(client: AgencyClient, answer: AgencyAnswer, idNumber: string): Schemas["Eid"] {
  if ((answer.status === 200 || answer.status === 201) && isRegistryEid(answer.body)) {
    const { eidNo, credential, issuedAt, expiresAt, citizenNo } = answer.body;
    if (citizenNo !== idNumber) throw client.badAnswer("the e-ID is for another citizen");
    return { eidNo, credential, issuedAt, expiresAt };
  }
  throw refusedOrUnexpected(client, answer, EID_REFUSALS);
}

/**
 * A business refusal in the registry's format becomes HUB_ERR_AGENCY_REFUSED (422) with the
 * registry's code in `data.reason` (and which applicant, where the registry says); anything
 * else is an answer outside the registry's contract.
 */
function refusedOrUnexpected(client: AgencyClient, answer: AgencyAnswer, refusals: Record<string, string>): HubError {
  if (answer.status >= 400 && isRegistryError(answer.body) && refusals[answer.body.errorCode]) {
    const applicant = (answer.body as { applicant?: unknown }).applicant;
    return new HubError("HUB_ERR_AGENCY_REFUSED", `${client.agency} refused: ${refusals[answer.body.errorCode]}`, {
      agency: client.agency,
      reason: answer.body.errorCode,
      ...(applicant === 0 || applicant === 1 ? { applicant } : {}),
    });
  }
  return unexpected(client, answer);
}

const KEY_REUSED = { IDEMPOTENCY_KEY_REUSED: "this idempotency key was used for a different request" };

/** The registry's standing of an e-ID; `undefined` when it has no such e-ID. */
export function fromEidStatus(client: AgencyClient, answer: AgencyAnswer, eidNo: string): RegistryEidStatus | undefined {
  if (answer.status === 404 && isRegistryError(answer.body) && answer.body.errorCode === "EID_NOT_FOUND") return undefined;
  if (answer.status !== 200 || !isRegistryEidStatus(answer.body)) throw unexpected(client, answer);
  if (answer.body.eidNo !== eidNo) throw client.badAnswer("the status is for another e-ID");
  return answer.body;
}

const REVOKE_REFUSALS: Record<string, string> = {
  EID_NOT_FOUND: "the registry has no such e-ID",
  EID_ALREADY_REVOKED: "the e-ID is already revoked",
  ...KEY_REUSED,
};

export function fromRevocation(client: AgencyClient, answer: AgencyAnswer, eidNo: string): Schemas["EidRevocation"] & { idNumber: string } {
  if (answer.status === 200 && isRegistryRevocation(answer.body)) {
    if (answer.body.eidNo !== eidNo) throw client.badAnswer("the revocation is for another e-ID");
    return { eidNo, revokedAt: answer.body.revokedAt, idNumber: answer.body.citizenNo };
  }
  throw refusedOrUnexpected(client, answer, REVOKE_REFUSALS);
}

export function fromMaritalStatus(client: AgencyClient, answer: AgencyAnswer, idNumber: string): Schemas["MaritalStatus"] {
  if (answer.status === 200 && isRegistryMaritalStatus(answer.body)) {
    if (answer.body.citizenNo !== idNumber) throw client.badAnswer("the status is for another citizen");
    return { maritalStatus: answer.body.maritalStatus };
  }
  throw refusedOrUnexpected(client, answer, { CITIZEN_NOT_FOUND: "the registry has no such citizen" });
}

export const toMarriage = (p: Schemas["MarriageRegisterParams"]) => ({
  applicants: p.applicants.map((a) => ({ citizenNo: a.idNumber, eidCredential: a.credential })),
});

const MARRIAGE_REFUSALS: Record<string, string> = {
  CITIZEN_NOT_FOUND: "the registry has no such citizen",
  SAME_PERSON: "both applicants are the same person",
  ALREADY_MARRIED: "an applicant is already married",
  UNDER_LEGAL_AGE: "an applicant is under the legal age of marriage",
  EID_INVALID: "an applicant's e-ID is not valid",
  EID_EXPIRED: "an applicant's e-ID has expired",
  EID_REVOKED: "an applicant's e-ID has been revoked",
  EID_NOT_HOLDER: "an applicant's e-ID belongs to someone else",
  ...KEY_REUSED,
};

export function fromMarriage(client: AgencyClient, answer: AgencyAnswer, p: Schemas["MarriageRegisterParams"]): Schemas["Marriage"] {
  if (answer.status === 201 && isRegistryMarriage(answer.body)) {
    const { registrationNo, spouses, registeredAt } = answer.body;
    if (spouses[0] !== p.applicants[0]!.idNumber || spouses[1] !== p.applicants[1]!.idNumber) throw client.badAnswer("the marriage is of other citizens");
    return { registrationNo, spouses: [...spouses], registeredAt };
  }
  throw refusedOrUnexpected(client, answer, MARRIAGE_REFUSALS);
}

export function fromAddressChange(client: AgencyClient, answer: AgencyAnswer, p: Schemas["AddressChangeParams"]): Schemas["AddressChange"] {
  if (answer.status === 201 && isRegistryAddressChange(answer.body)) {
    const { changeNo, citizenNos, fullNames, address, effectiveAt } = answer.body;
    if (citizenNos.join() !== p.idNumbers.join() || fullNames.length !== citizenNos.length) throw client.badAnswer("the change moved other citizens");
    return { changeNo, idNumbers: [...citizenNos], names: [...fullNames], address: { ...address }, effectiveAt };
  }
  throw refusedOrUnexpected(client, answer, { CITIZEN_NOT_FOUND: "the registry has no such citizen", ...KEY_REUSED });
}

// --- reads by the references events carry ---------------------------------------------

const NOT_FOUND: Record<string, string> = {
  CITIZEN_NOT_FOUND: "the registry has no such citizen",
  EID_NOT_FOUND: "the registry has no such e-ID",
  MARRIAGE_NOT_FOUND: "the registry has no such marriage",
  CHANGE_NOT_FOUND: "the registry has no such address change",
};

/** A read by reference the registry has no record for: a 404, naming what it lacks in `data.reason`. */
function notFoundOrUnexpected(client: AgencyClient, answer: AgencyAnswer): HubError {
  if (answer.status === 404 && isRegistryError(answer.body) && NOT_FOUND[answer.body.errorCode])
    return new HubError("HUB_ERR_RECORD_NOT_FOUND", `${client.agency}: ${NOT_FOUND[answer.body.errorCode]}`, {
      agency: client.agency,
      reason: answer.body.errorCode,
    });
  return unexpected(client, answer);
}

/** The holder's number of an e-ID record (`GET /registry/v2/eids/{eidNo}`); the credential goes no further. */
export function fromEidHolder(client: AgencyClient, answer: AgencyAnswer, eidNo: string): string {
  if (answer.status === 200 && isRegistryEid(answer.body)) {
    if (answer.body.eidNo !== eidNo) throw client.badAnswer("the record is of another e-ID");
    return answer.body.citizenNo;
  }
  throw notFoundOrUnexpected(client, answer);
}

export function fromPerson(client: AgencyClient, answer: AgencyAnswer, idNumber: string): Schemas["Person"] {
  if (answer.status === 200 && isRegistryPerson(answer.body)) {
    if (answer.body.citizenNo !== idNumber) throw client.badAnswer("the answer is of another citizen");
    return { idNumber, name: answer.body.fullName };
  }
  throw notFoundOrUnexpected(client, answer);
}

export function fromMarriageRead(client: AgencyClient, answer: AgencyAnswer, registrationNo: string): Schemas["Marriage"] {
  if (answer.status === 200 && isRegistryMarriage(answer.body)) {
    if (answer.body.registrationNo !== registrationNo) throw client.badAnswer("the answer is of another marriage");
    return { registrationNo, spouses: [...answer.body.spouses], registeredAt: answer.body.registeredAt };
  }
  throw notFoundOrUnexpected(client, answer);
}

export function fromAddressChangeRead(client: AgencyClient, answer: AgencyAnswer, changeNo: string): Schemas["AddressChange"] {
  if (answer.status === 200 && isRegistryAddressChange(answer.body)) {
    const { citizenNos, fullNames, address, effectiveAt } = answer.body;
    if (answer.body.changeNo !== changeNo || fullNames.length !== citizenNos.length) throw client.badAnswer("the answer is of another address change");
    return { changeNo, idNumbers: [...citizenNos], names: [...fullNames], address: { ...address }, effectiveAt };
  }
  throw notFoundOrUnexpected(client, answer);
}

function unexpected(client: AgencyClient, answer: AgencyAnswer): HubError {
  const code = isRegistryError(answer.body) ? ` (${answer.body.errorCode})` : "";
  return client.badAnswer(`unexpected ${answer.status} answer${code}`);
}
