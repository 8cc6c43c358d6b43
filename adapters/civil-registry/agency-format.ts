/**
 * The civil registry's own wire format (not the hub's contract): what the registry's system
 * answers. The adapter checks every answer against these schemas; the sandbox, which plays
 * the registry, writes its format on its own (sandbox/format.ts), so a drift between the two
 * shows in the tests.
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

/** An e-ID's standing, without the credential or the holder: what a verifier asks after the signature. */
export interface RegistryEidStatus {
  eidNo: string;
  status: "ACTIVE" | "REVOKED";
  expiresAt: string;
  revokedAt: string | null;
}

export interface RegistryRevocation {
  eidNo: string;
  citizenNo: string;
  status: "REVOKED";
  revokedAt: string;
}

export type RegistryMaritalStatusValue = "SINGLE" | "MARRIED" | "DIVORCED" | "WIDOWED";

/** A person's marital status and nothing else about them. */
export interface RegistryMaritalStatus {
  citizenNo: string;
  maritalStatus: RegistryMaritalStatusValue;
}

export interface RegistryMarriage {
  registrationNo: string;
  spouses: [string, string];
  registeredAt: string;
}

export interface RegistryAddress {
  province: string;
  city: string;
  district: string;
  street: string;
  postcode: string;
}

export interface RegistryAddressChange {
  changeNo: string;
  citizenNos: string[];
  /** The registry's names of `citizenNos`, in the same order. */
  fullNames: string[];
  address: RegistryAddress;
  effectiveAt: string;
}

/** Most citizens one household address change may move. */
const MAX_HOUSEHOLD = 50;

const citizenNo = { type: "string", format: "resident-id" } as const;
const timestamp = { type: "string", format: "date-time" } as const;
const addressText = { type: "string", minLength: 1, maxLength: 100 } as const;

const registryAddressSchema = {
  type: "object",
  properties: { province: addressText, city: addressText, district: addressText, street: addressText, postcode: { type: "string", pattern: "^[0-9]{6}$" } },
  required: ["province", "city", "district", "street", "postcode"],
  additionalProperties: false,
} as const;

export const isRegistryEidStatus = ajv.compile<RegistryEidStatus>({
  type: "object",
  properties: {
    eidNo: { type: "string", minLength: 1, maxLength: 64 },
    status: { enum: ["ACTIVE", "REVOKED"] },
    expiresAt: timestamp,
    revokedAt: { anyOf: [timestamp, { type: "null" }] },
  },
  required: ["eidNo", "status", "expiresAt", "revokedAt"],
});

export const isRegistryRevocation = ajv.compile<RegistryRevocation>({
  type: "object",
  properties: { eidNo: { type: "string", minLength: 1, maxLength: 64 }, citizenNo, status: { const: "REVOKED" }, revokedAt: timestamp },
  required: ["eidNo", "citizenNo", "status", "revokedAt"],
});

export const isRegistryMaritalStatus = ajv.compile<RegistryMaritalStatus>({
  type: "object",
  properties: { citizenNo, maritalStatus: { enum: ["SINGLE", "MARRIED", "DIVORCED", "WIDOWED"] } },
  required: ["citizenNo", "maritalStatus"],
});

export const isRegistryMarriage = ajv.compile<RegistryMarriage>({
  type: "object",
  properties: {
    registrationNo: { type: "string", pattern: "^MR[0-9]{4}[0-9A-F]{12}$" },
    spouses: { type: "array", prefixItems: [citizenNo, citizenNo], items: false, minItems: 2 },
    registeredAt: timestamp,
  },
  required: ["registrationNo", "spouses", "registeredAt"],
});

export const isRegistryAddressChange = ajv.compile<RegistryAddressChange>({
  type: "object",
  properties: {
    changeNo: { type: "string", pattern: "^AC[0-9A-F]{16}$" },
    citizenNos: { type: "array", items: citizenNo, minItems: 1, maxItems: MAX_HOUSEHOLD },
    fullNames: { type: "array", items: { type: "string", minLength: 1, maxLength: 100 }, minItems: 1, maxItems: MAX_HOUSEHOLD },
    address: registryAddressSchema,
    effectiveAt: timestamp,
  },
  required: ["changeNo", "citizenNos", "fullNames", "address", "effectiveAt"],
});

/** A citizen's number and registered name: the registry's answer to a read by reference. */
export interface RegistryPerson {
  citizenNo: string;
  fullName: string;
}

export const isRegistryPerson = ajv.compile<RegistryPerson>({
  type: "object",
  properties: { citizenNo, fullName: { type: "string", minLength: 1, maxLength: 100 } },
  required: ["citizenNo", "fullName"],
});
