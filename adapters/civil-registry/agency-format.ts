/**
 * The civil registry's own wire format (not the hub's contract): what the registry's system
 * answers. The adapter checks every answer against these schemas; the sandbox, which plays
 * the registry, answers in exactly these types.
 */
import { ajv } from "../../contracts";

export interface RegistryEid {
  eidNo: string;
  citizenNo: string;
  credential: string;
  issuedAt: string;
  expiresAt: string;
  status: "ACTIVE" | "REVOKED";
}

export interface RegistryPersonCheck {
  checkResult: "CONSISTENT" | "INCONSISTENT";
}

export interface RegistryError {
  errorCode: string;
  errorMessage?: string;
}

export const isRegistryEid = ajv.compile<RegistryEid>({
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

export const isRegistryPersonCheck = ajv.compile<RegistryPersonCheck>({
  type: "object",
  properties: { checkResult: { enum: ["CONSISTENT", "INCONSISTENT"] } },
  required: ["checkResult"],
});

export const isRegistryError = ajv.compile<RegistryError>({
  type: "object",
  properties: { errorCode: { type: "string" }, errorMessage: { type: "string" } },
  required: ["errorCode"],
});
