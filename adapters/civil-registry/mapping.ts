/**
 * Between the hub's contract and the civil registry's own format (`citizenNo`, `fullName`,
 * `checkResult`, errors as `{errorCode, errorMessage}`). Every answer is checked against
 * the registry's format before it is mapped: a malformed answer never passes on.
 */
import { ajv } from "../../contracts";
import type { AgencyAnswer, AgencyClient } from "../../platform/agency-client";
import { HubError } from "../../platform/errors";
import type { components } from "../../contracts/generated/types";

type Schemas = components["schemas"];

const personCheckAnswer = ajv.compile<{ checkResult: "CONSISTENT" | "INCONSISTENT" }>({
  type: "object",
  properties: { checkResult: { enum: ["CONSISTENT", "INCONSISTENT"] } },
  required: ["checkResult"],
});

interface RegistryEid {
  eidNo: string;
  citizenNo: string;
  credential: string;
  issuedAt: string;
  expiresAt: string;
  status: "ACTIVE" | "REVOKED";
}
const eidAnswer = ajv.compile<RegistryEid>({
  type: "object",
  properties: {
    eidNo: { type: "string", minLength: 1, maxLength: 64 },
    citizenNo: { type: "string", format: "resident-id" },
    credential: { type: "string", pattern: "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$" },
    issuedAt: { type: "string", format: "date-time" },
    expiresAt: { type: "string", format: "date-time" },
    status: { enum: ["ACTIVE", "REVOKED"] },
  },
  required: ["eidNo", "citizenNo", "credential", "issuedAt", "expiresAt", "status"],
});

const agencyError = ajv.compile<{ errorCode: string; errorMessage?: string }>({
  type: "object",
  properties: { errorCode: { type: "string" }, errorMessage: { type: "string" } },
  required: ["errorCode"],
});

export const toPersonCheck = (p: Schemas["IdentityVerificationRequest"]) => ({ citizenNo: p.idNumber, fullName: p.name });

export function fromPersonCheck(client: AgencyClient, answer: AgencyAnswer): Schemas["IdentityVerificationResult"] {
  if (answer.status !== 200 || !personCheckAnswer(answer.body)) throw unexpected(client, answer);
  return { match: answer.body.checkResult === "CONSISTENT" };
}

/** Business refusals the registry may give for an e-ID, and what they mean to a partner. */
const EID_REFUSALS: Record<string, string> = {
  CITIZEN_NOT_FOUND: "the registry has no such citizen",
  EID_ALREADY_ACTIVE: "the citizen already holds an active e-ID",
};

export function fromEidIssue(client: AgencyClient, answer: AgencyAnswer, idNumber: string): Schemas["Eid"] {
  if ((answer.status === 200 || answer.status === 201) && eidAnswer(answer.body)) {
    const { eidNo, credential, issuedAt, expiresAt, citizenNo } = answer.body;
    if (citizenNo !== idNumber) throw client.badAnswer("the e-ID is for another citizen");
    return { eidNo, credential, issuedAt, expiresAt };
  }
  if (agencyError(answer.body) && EID_REFUSALS[answer.body.errorCode])
    throw new HubError("HUB_ERR_AGENCY_REFUSED", `${client.agency} refused: ${EID_REFUSALS[answer.body.errorCode]}`, {
      agency: client.agency,
      reason: answer.body.errorCode,
    });
  throw unexpected(client, answer);
}

function unexpected(client: AgencyClient, answer: AgencyAnswer): HubError {
  const code = agencyError(answer.body) ? ` (${answer.body.errorCode})` : "";
  return client.badAnswer(`unexpected ${answer.status} answer${code}`);
}
