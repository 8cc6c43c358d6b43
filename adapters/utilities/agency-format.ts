/**
 * The utility system's own wire format (not the hub's contract): snake_case fields, service
 * codes `G`/`E`/`W` (gas, electricity, water), account status `ACT`/`SUS`, its own account
 * numbers (`G0000000123`), a premise as one address line (`street, district, city,
 * province`) plus a post code, errors as `{err_code, err_msg}`. The adapter checks every
 * answer against these schemas; the sandbox, which plays the utility, reads requests and
 * writes answers on its own (sandbox/), so the tests hold the one against the other.
 */
import { ajv } from "../../contracts";

export type SvcCode = "G" | "E" | "W";
export type AcctStatus = "ACT" | "SUS";
export type OrderType = "SUSPEND" | "RESTORE" | "TRANSFER";

export interface Premise {
  /** `street, district, city, province`: parts never contain a comma. */
  addr_line: string;
  post_code: string;
}

export interface UtilityAccount {
  acct_no: string;
  svc_code: SvcCode;
  acct_status: AcctStatus;
  holder_nm: string;
  holder_id: string;
  premise: Premise;
  susp_reason: string | null;
  status_chg_ts: string;
}

export interface AccountList {
  rec_cnt: number;
  acct_list: UtilityAccount[];
}

export interface AcctResult {
  acct_no: string;
  svc_code: SvcCode;
  acct_status: AcctStatus;
  /** `Y` when this order changed the account, `N` when it already was as asked. */
  chg_flag: "Y" | "N";
  /** Transfers that changed the account: its holder before the order. */
  prev_holder?: NewHolder;
}

export interface NewHolder {
  id_no: string;
  holder_nm: string;
}

/** The answer to a suspension, restoration or transfer order. */
export interface ServiceOrder {
  order_ref: string;
  order_type: OrderType;
  svc_code: SvcCode | null;
  premise: Premise;
  acct_results: AcctResult[];
  new_holder: NewHolder | null;
  eff_ts: string;
}

export interface UtilityError {
  err_code: string;
  err_msg?: string;
}

const ACCT_NO = "^[GEW][0-9]{10}$";
const ORDER_REF = "^SO[0-9A-F]{16}$";
const ADDR_SEPARATOR = ", ";

const acctNo = { type: "string", pattern: ACCT_NO } as const;
const svcCode = { enum: ["G", "E", "W"] } as const;
const timestamp = { type: "string", format: "date-time" } as const;
const text = (max: number) => ({ type: "string", minLength: 1, maxLength: max, pattern: "^[^\\u0000-\\u001f\\u007f]+$" }) as const;

const premiseSchema = {
  type: "object",
  properties: { addr_line: text(420), post_code: { type: "string", pattern: "^[0-9]{6}$" } },
  required: ["addr_line", "post_code"],
  additionalProperties: false,
} as const;

const newHolderSchema = {
  type: "object",
  properties: { id_no: { type: "string", format: "resident-id" }, holder_nm: text(100) },
  required: ["id_no", "holder_nm"],
  additionalProperties: false,
} as const;

const accountSchema = {
  type: "object",
  properties: {
    acct_no: acctNo,
    svc_code: svcCode,
    acct_status: { enum: ["ACT", "SUS"] },
    holder_nm: text(100),
    holder_id: { type: "string", format: "resident-id" },
    premise: premiseSchema,
    susp_reason: { anyOf: [text(200), { type: "null" }] },
    status_chg_ts: timestamp,
  },
  required: ["acct_no", "svc_code", "acct_status", "holder_nm", "holder_id", "premise", "susp_reason", "status_chg_ts"],
} as const;

export const isAccountList = ajv.compile<AccountList>({
  type: "object",
  properties: { rec_cnt: { type: "integer", minimum: 0 }, acct_list: { type: "array", items: accountSchema } },
  required: ["rec_cnt", "acct_list"],
});

export const isServiceOrder = ajv.compile<ServiceOrder>({
  type: "object",
  properties: {
    order_ref: { type: "string", pattern: ORDER_REF },
    order_type: { enum: ["SUSPEND", "RESTORE", "TRANSFER"] },
    svc_code: { anyOf: [svcCode, { type: "null" }] },
    premise: premiseSchema,
    acct_results: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        properties: { acct_no: acctNo, svc_code: svcCode, acct_status: { enum: ["ACT", "SUS"] }, chg_flag: { enum: ["Y", "N"] }, prev_holder: newHolderSchema },
        required: ["acct_no", "svc_code", "acct_status", "chg_flag"],
      },
    },
    new_holder: { anyOf: [newHolderSchema, { type: "null" }] },
    eff_ts: timestamp,
  },
  required: ["order_ref", "order_type", "svc_code", "premise", "acct_results", "new_holder", "eff_ts"],
});

export const isUtilityError = ajv.compile<UtilityError>({
  type: "object",
  properties: { err_code: { type: "string", minLength: 1 }, err_msg: { type: "string" } },
  required: ["err_code"],
});

/** A structured address as the utility's one-line form: `street, district, city, province`. */
export function formatAddrLine(a: { province: string; city: string; district: string; street: string }): string {
  return [a.street, a.district, a.city, a.province].join(ADDR_SEPARATOR);
}

/** The parts of an address line, or undefined when it does not have exactly four. */
export function parseAddrLine(line: string): { province: string; city: string; district: string; street: string } | undefined {
  const parts = line.split(ADDR_SEPARATOR);
  if (parts.length !== 4 || parts.some((p) => p.length === 0)) return undefined;
  const [street, district, city, province] = parts as [string, string, string, string];
  return { province, city, district, street };
}
