/**
 * The utility's own reading of what it is sent, checked by hand against its format
 * (snake_case, service codes G/E/W, a premise as one address line plus a post code), and its
 * error dialect `{err_code, err_msg}`. Written apart from the adapter's agency-format.ts, so
 * a request the adapter gets wrong is refused here rather than taken.
 */
import type http from "node:http";
import { isResidentId } from "../../../contracts/formats";
import { SandboxError, type Dialect } from "../../../sandbox-kit/errors";
import { idempotencyKeyOf as keyOf } from "../../../sandbox-kit/http";

/** An answer in the utility's own error format. */
export class UtilityError extends SandboxError {
  body(): { err_code: string; err_msg: string } {
    return { err_code: this.code, err_msg: this.message };
  }
}

export const UTILITY: Dialect = {
  error: (status, code, message) => new UtilityError(status, code, message),
  codes: {
    invalid: "E_BAD_REQ",
    notFound: "E_NOT_FOUND",
    methodNotAllowed: "E_METHOD",
    unavailable: "E_UNAVAIL",
    internal: "E_INTERNAL",
    unsupportedMediaType: "E_MEDIA_TYPE",
    payloadTooLarge: "E_TOO_LARGE",
    idempotencyKeyMissing: "E_IDEM_KEY",
    idempotencyKeyReused: "E_IDEM_REUSE",
    idempotencyKeyInUse: "E_IDEM_BUSY",
  },
  maxBodyBytes: 256 * 1024,
  mediaTypeName: () => "application/json",
};

const badRequest = (message: string) => new UtilityError(400, "E_BAD_REQ", message);

/** The Idempotency-Key header, required on every order. */
export const idempotencyKeyOf = (headers: http.IncomingHttpHeaders) => keyOf(headers, UTILITY);

export type SvcCode = "G" | "E" | "W";
export type OrderType = "SUSPEND" | "RESTORE" | "TRANSFER";
export interface Premise {
  addr_line: string;
  post_code: string;
}
export interface NewHolder {
  id_no: string;
  holder_nm: string;
}

/** An order as the utility carries it out: on every account at a premise, or on one account. */
export interface OrderRequest {
  type: OrderType;
  premise?: Premise;
  acct_no?: string;
  svc_code?: SvcCode;
  reason_txt?: string;
  incident_ref?: string;
  new_holder?: NewHolder;
}

/** A holder as the test-data tool sends it (`POST /_sandbox/accounts`). */
export interface Holder {
  idNumber: string;
  name: string;
  address: { province: string; city: string; district: string; street: string; postcode: string };
}

/** The utility's one-line address: `street, district, city, province`. */
export const addrLine = (a: Holder["address"]) => [a.street, a.district, a.city, a.province].join(", ");

type Body = Record<string, unknown>;

/** 1 to `max` characters, none of them a control character. */
const isText = (value: unknown, max: number): value is string => {
  const chars = typeof value === "string" ? [...value] : [];
  return chars.length >= 1 && chars.length <= max && chars.every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f);
};
const isPostCode = (value: unknown): value is string => typeof value === "string" && /^[0-9]{6}$/.test(value);

/** `value` as an object with no fields but `known`. */
function fields(value: unknown, name: string, known: string[]): Body {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw badRequest(`${name} must be an object`);
  const unknown = Object.keys(value).find((k) => !known.includes(k));
  if (unknown) throw badRequest(`${name} has an unknown field ${unknown}`);
  return value as Body;
}

/** What an order acts on: a premise or one account, never both. */
function target(body: Body): { premise?: Premise; acct_no?: string } {
  if ("premise" in body === "acct_no" in body) throw badRequest("name a premise or an acct_no, one of them");
  if ("acct_no" in body) {
    if (typeof body.acct_no !== "string" || !/^[GEW][0-9]{10}$/.test(body.acct_no)) throw badRequest("acct_no is G, E or W and ten digits");
    return { acct_no: body.acct_no };
  }
  const premise = fields(body.premise, "premise", ["addr_line", "post_code"]);
  if (!isText(premise.addr_line, 420)) throw badRequest("premise.addr_line must be 1 to 420 characters");
  if (!isPostCode(premise.post_code)) throw badRequest("premise.post_code must be six digits");
  return { premise: premise as unknown as Premise };
}

/** `GET /utility/v1/accounts?post_code=&street=`: each parameter once, and no other. */
export function readLookup(query: URLSearchParams): { postCode: string; street: string } {
  for (const name of query.keys()) if (name !== "post_code" && name !== "street") throw badRequest(`unknown parameter ${name}`);
  const postCode = query.getAll("post_code");
  const street = query.getAll("street");
  if (postCode.length !== 1 || !isPostCode(postCode[0])) throw badRequest("post_code must be six digits, once");
  if (street.length !== 1 || !isText(street[0], 100)) throw badRequest("street must be 1 to 100 characters, once");
  return { postCode: postCode[0], street: street[0] };
}

/** A suspension or restoration: `{premise | acct_no, svc_code, reason_txt, incident_ref?}`. */
export function readServiceChange(type: "SUSPEND" | "RESTORE", value: unknown): OrderRequest {
  const body = fields(value, "the body", ["premise", "acct_no", "svc_code", "reason_txt", "incident_ref"]);
  const { premise, acct_no } = target(body);
  const svc = body.svc_code;
  if (svc !== "G" && svc !== "E" && svc !== "W") throw badRequest("svc_code must be G, E or W");
  if (!isText(body.reason_txt, 200)) throw badRequest("reason_txt must be 1 to 200 characters");
  if ("incident_ref" in body && !isText(body.incident_ref, 200)) throw badRequest("incident_ref must be 1 to 200 characters");
  return { type, premise, acct_no, svc_code: svc, reason_txt: body.reason_txt, incident_ref: body.incident_ref as string | undefined };
}

/** A change of holder: `{premise | acct_no, new_holder: {id_no, holder_nm}}`. */
export function readTransfer(value: unknown): OrderRequest {
  const body = fields(value, "the body", ["premise", "acct_no", "new_holder"]);
  const { premise, acct_no } = target(body);
  const holder = fields(body.new_holder, "new_holder", ["id_no", "holder_nm"]);
  if (typeof holder.id_no !== "string" || !isResidentId(holder.id_no)) throw badRequest("new_holder.id_no must be a resident identity number");
  if (!isText(holder.holder_nm, 100)) throw badRequest("new_holder.holder_nm must be 1 to 100 characters");
  return { type: "TRANSFER", premise, acct_no, new_holder: holder as unknown as NewHolder };
}

/** `POST /_sandbox/accounts`: `{holders: [{idNumber, name, address}]}`, 1 to 1000 of them. */
export function readHolders(value: unknown): Holder[] {
  const { holders } = fields(value, "the body", ["holders"]);
  if (!Array.isArray(holders) || holders.length < 1 || holders.length > 1000) throw badRequest("holders must be a list of 1 to 1000");
  holders.forEach((h, i) => {
    const holder = fields(h, `holders[${i}]`, ["idNumber", "name", "address"]);
    if (typeof holder.idNumber !== "string" || !isResidentId(holder.idNumber)) throw badRequest(`holders[${i}].idNumber must be a resident identity number`);
    if (!isText(holder.name, 100)) throw badRequest(`holders[${i}].name must be 1 to 100 characters`);
    const address = fields(holder.address, `holders[${i}].address`, ["province", "city", "district", "street", "postcode"]);
    if (!isPostCode(address.postcode)) throw badRequest(`holders[${i}].address.postcode must be six digits`);
    // A comma would break the one-line address into other parts.
    for (const part of ["province", "city", "district", "street"])
      if (!isText(address[part], 100) || (address[part] as string).includes(","))
        throw badRequest(`holders[${i}].address.${part} must be 1 to 100 characters, without a comma`);
  });
  return holders as Holder[];
}
