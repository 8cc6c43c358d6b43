/**
 * The registry's own JSON format as the sandbox speaks it: its answers' shapes, how it reads
 * and checks each request, and its errors (`{errorCode, errorMessage, ...extra}`). Written
 * apart from the adapter's agency-format.ts, so the two can disagree and a test shows it.
 */
import type http from "node:http";
import { isResidentId } from "../../../contracts/formats";
import { CodeMessageError, HTTP_STYLE_CODES, invalid as invalidIn, type Dialect } from "../../../sandbox-kit/errors";
import { idempotencyKeyOf as keyOf } from "../../../sandbox-kit/http";

/** An answer in the registry's own error format: `{errorCode, errorMessage, ...extra}`. */
export class AgencyError extends CodeMessageError {}

export const REGISTRY: Dialect = {
  error: (status, code, message) => new AgencyError(status, code, message),
  codes: HTTP_STYLE_CODES,
  maxBodyBytes: 64 * 1024,
  mediaTypeName: () => "application/json",
};

const invalid = (message: string) => invalidIn(REGISTRY, message);

export const idempotencyKeyOf = (headers: http.IncomingHttpHeaders) => keyOf(headers, REGISTRY);

export type MaritalStatusValue = "SINGLE" | "MARRIED" | "DIVORCED" | "WIDOWED";

export interface EidRecord {
  eidNo: string;
  citizenNo: string;
  credential: string;
  issuedAt: string;
  expiresAt: string;
  status: "ACTIVE" | "REVOKED";
}

/** An e-ID's standing, without the credential or the holder. */
export type EidStatus = Pick<EidRecord, "eidNo" | "status" | "expiresAt"> & { revokedAt: string | null };

export interface Revocation {
  eidNo: string;
  citizenNo: string;
  status: "REVOKED";
  revokedAt: string;
}

export interface Address {
  province: string;
  city: string;
  district: string;
  street: string;
  postcode: string;
}

export interface Marriage {
  registrationNo: string;
  spouses: [string, string];
  registeredAt: string;
}

export interface AddressChange {
  changeNo: string;
  citizenNos: string[];
  fullNames: string[];
  address: Address;
  effectiveAt: string;
}

export interface Applicant {
  citizenNo: string;
  eidCredential: string;
}

/** Most citizens one household address change may move. */
const MAX_HOUSEHOLD = 50;

/** Checks a JSON object's fields: `required` and `optional` map names to their typeof; others are refused. */
function fields(body: Record<string, unknown>, required: Record<string, string>, optional: Record<string, string> = {}): void {
  for (const key of Object.keys(body)) if (!(key in required) && !(key in optional)) throw invalid(`unknown field "${key}"`);
  for (const key of Object.keys(required)) if (!(key in body)) throw invalid(`missing field "${key}"`);
  for (const [key, type] of Object.entries({ ...required, ...optional }))
    if (key in body && typeof body[key] !== type) throw invalid(`field "${key}" must be a ${type}`);
}

export function checkedCitizenNo(value: unknown, name = "citizenNo"): string {
  if (typeof value !== "string" || !isResidentId(value)) throw invalid(`${name} must be an 18-character resident identity number with a valid check character`);
  return value;
}

/** `POST /registry/v2/person-checks`: the number and the name to compare, trimmed. */
export function personCheckOf(body: Record<string, unknown>): { citizenNo: string; fullName: string } {
  fields(body, { citizenNo: "string", fullName: "string" });
  const citizenNo = checkedCitizenNo(body.citizenNo);
  const fullName = (body.fullName as string).trim();
  if (fullName.length === 0 || fullName.length > 100) throw invalid("fullName must be 1 to 100 characters");
  return { citizenNo, fullName };
}

/** `POST /registry/v2/eids`: whose e-ID. */
export function eidRequestOf(body: Record<string, unknown>): string {
  fields(body, { citizenNo: "string" });
  return checkedCitizenNo(body.citizenNo);
}

/** `POST /registry/v2/eids/{eidNo}/revocation`: the optional reason. */
export function revocationReasonOf(body: Record<string, unknown>): string | undefined {
  fields(body, {}, { reason: "string" });
  const reason = body.reason as string | undefined;
  if (reason !== undefined && (reason.length === 0 || reason.length > 200)) throw invalid("reason must be 1 to 200 characters");
  return reason;
}

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function applicantOf(value: unknown, i: number): Applicant {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalid(`applicants[${i}] must be an object`);
  const a = value as Record<string, unknown>;
  fields(a, { citizenNo: "string", eidCredential: "string" });
  const eidCredential = a.eidCredential as string;
  if (eidCredential.length > 8192 || !COMPACT_JWS.test(eidCredential)) throw invalid(`applicants[${i}].eidCredential must be a compact JWS`);
  return { citizenNo: checkedCitizenNo(a.citizenNo, `applicants[${i}].citizenNo`), eidCredential };
}

/** `POST /registry/v2/marriages`: exactly two applicants, each with their e-ID. */
export function applicantsOf(body: Record<string, unknown>): [Applicant, Applicant] {
  fields(body, { applicants: "object" });
  const list = body.applicants;
  if (!Array.isArray(list) || list.length !== 2) throw invalid("applicants must list exactly two people");
  return [applicantOf(list[0], 0), applicantOf(list[1], 1)];
}

const ADDRESS_PARTS = ["province", "city", "district", "street", "postcode"] as const;
/** 1 to 100 characters, counted as Unicode code points. */
const isAddressText = (v: unknown) => typeof v === "string" && [...v].length >= 1 && [...v].length <= 100;

function isAddress(value: unknown): value is Address {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const a = value as Record<string, unknown>;
  // Five own fields, each one of the five parts: nothing else.
  return Object.keys(a).length === ADDRESS_PARTS.length && ADDRESS_PARTS.every((k) => isAddressText(a[k])) && /^[0-9]{6}$/.test(a.postcode as string);
}

/** `POST /registry/v2/address-changes`: the household (1 to MAX_HOUSEHOLD citizens) and where it moves. */
export function addressChangeOf(body: Record<string, unknown>): { citizenNos: string[]; address: Address } {
  fields(body, { citizenNos: "object", address: "object" });
  const list = body.citizenNos;
  if (!Array.isArray(list) || list.length < 1 || list.length > MAX_HOUSEHOLD) throw invalid(`citizenNos must list 1 to ${MAX_HOUSEHOLD} citizens`);
  const citizenNos = list.map((c, i) => checkedCitizenNo(c, `citizenNos[${i}]`));
  if (!isAddress(body.address))
    throw invalid("address must have province, city, district, street (1 to 100 characters each) and a 6-digit postcode, nothing else");
  return { citizenNos, address: body.address };
}

/** `POST /_sandbox/citizens`: how many fresh citizens, aged how. */
export function citizensRequestOf(body: Record<string, unknown>): { count: number; ages: { minAge?: number; maxAge?: number } } {
  fields(body, { count: "number" }, { minAge: "number", maxAge: "number" });
  const count = body.count as number;
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw invalid("count must be a whole number from 1 to 1000");
  const ages = { minAge: body.minAge as number | undefined, maxAge: body.maxAge as number | undefined };
  if ([ages.minAge ?? 18, ages.maxAge ?? 80].some((a) => !Number.isInteger(a) || a < 0 || a > 120) || (ages.minAge ?? 18) > (ages.maxAge ?? 80))
    throw invalid("minAge and maxAge must be whole years, 0 <= minAge <= maxAge <= 120");
  return { count, ages };
}
