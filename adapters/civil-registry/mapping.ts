/**
 * Between the hub's contract and the civil registry's own format (`citizenNo`, `fullName`,
 * `checkResult`, errors as `{errorCode, errorMessage}`). Every answer is checked against
 * the registry's format before it is mapped: a malformed answer never passes on.
 */
import type { AgencyAnswer, AgencyClient } from "../../platform/agency-client";
import { HubError } from "../../platform/errors";
import type { components } from "../../contracts/generated/types";
import { isRegistryEid, isRegistryError, isRegistryPersonCheck } from "./agency-format";

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
  if (isRegistryError(answer.body) && EID_REFUSALS[answer.body.errorCode])
    throw new HubError("HUB_ERR_AGENCY_REFUSED", `${client.agency} refused: ${EID_REFUSALS[answer.body.errorCode]}`, {
      agency: client.agency,
      reason: answer.body.errorCode,
    });
  throw unexpected(client, answer);
}

function unexpected(client: AgencyClient, answer: AgencyAnswer): HubError {
  const code = isRegistryError(answer.body) ? ` (${answer.body.errorCode})` : "";
  return client.badAnswer(`unexpected ${answer.status} answer${code}`);
}
