/**
 * Between the hub's contract (`service: gas|power|water`, `status: ACTIVE|SUSPENDED`, a
 * structured address) and the utility's own format (`svc_code: G|E|W`, `acct_status:
 * ACT|SUS`, a one-line address plus post code, errors as `{err_code, err_msg}`). Every answer
 * is checked against the utility's format before it is mapped: a malformed one never passes on.
 */
import type { AgencyAnswer, AgencyClient } from "../../platform/agency-client";
import { HubError } from "../../platform/errors";
import type { components } from "../../contracts/generated/types";
import {
  formatAddrLine,
  isAccountList,
  isServiceOrder,
  isUtilityError,
  parseAddrLine,
  type AcctStatus,
  type OrderType,
  type Premise,
  type ServiceOrder,
  type SvcCode,
  type UtilityAccount,
} from "./agency-format";

type Schemas = components["schemas"];
type Service = Schemas["UtilityService"];
type Address = Schemas["Address"];

const SVC_CODE: Record<Service, SvcCode> = { gas: "G", power: "E", water: "W" };
const SERVICE: Record<SvcCode, Service> = { G: "gas", E: "power", W: "water" };
const STATUS: Record<AcctStatus, "ACTIVE" | "SUSPENDED"> = { ACT: "ACTIVE", SUS: "SUSPENDED" };

export const toSvcCode = (service: Service): SvcCode => SVC_CODE[service];
export const toPremise = (a: Address): Premise => ({ addr_line: formatAddrLine(a), post_code: a.postcode });

function fromPremise(client: AgencyClient, p: Premise): Address {
  const parts = parseAddrLine(p.addr_line);
  if (!parts) throw client.badAnswer("an address line without its four parts");
  return { ...parts, postcode: p.post_code };
}

/** The target of an order in the utility's format: a premise or one account. */
export const toTarget = (p: { address?: Address; accountNo?: string }) => (p.accountNo ? { acct_no: p.accountNo } : { premise: toPremise(p.address!) });

function fromAccount(client: AgencyClient, a: UtilityAccount): Schemas["UtilityAccount"] {
  return {
    accountNo: a.acct_no,
    service: SERVICE[a.svc_code],
    status: STATUS[a.acct_status],
    address: fromPremise(client, a.premise),
    holderName: a.holder_nm,
    suspensionReason: a.acct_status === "SUS" ? (a.susp_reason ?? null) : null,
    statusChangedAt: a.status_chg_ts,
  };
}

export function fromAccountList(client: AgencyClient, answer: AgencyAnswer, asked: { postcode: string; street: string }): Schemas["UtilityAccountList"] {
  if (answer.status !== 200 || !isAccountList(answer.body)) throw unexpected(client, answer);
  const accounts = answer.body.acct_list.map((a) => fromAccount(client, a));
  if (accounts.some((a) => a.address.postcode !== asked.postcode || a.address.street !== asked.street)) throw client.badAnswer("accounts at another address");
  return { accounts };
}

/** Business refusals the utility may give for an order, and what they mean to a caller. */
const REFUSALS: Record<string, { reason: string; detail: string }> = {
  E_PREMISE_NF: { reason: "ADDRESS_NOT_FOUND", detail: "the utility supplies no such address" },
  E_ACCT_NF: { reason: "ACCOUNT_NOT_FOUND", detail: "the utility has no such account" },
  E_SVC_MISMATCH: { reason: "SERVICE_MISMATCH", detail: "the account is for another service" },
  E_NO_SVC: { reason: "SERVICE_NOT_SUPPLIED", detail: "the utility supplies no such service at this address" },
  E_ACCT_SUSPENDED: { reason: "ACCOUNT_SUSPENDED", detail: "a suspended account cannot change holder until its service is restored" },
  E_ORDER_NF: { reason: "ORDER_NOT_FOUND", detail: "the utility has no such order" },
  E_IDEM_REUSE: { reason: "IDEMPOTENCY_KEY_REUSED", detail: "this idempotency key was used for another order" },
};

/** A confirmed order (201, or 200 when read again by its number), checked to be the order asked for. */
export function fromOrder(client: AgencyClient, answer: AgencyAnswer, type: OrderType, status = 201): ServiceOrder & { address: Address } {
  if (answer.status === status && isServiceOrder(answer.body)) {
    if (answer.body.order_type !== type) throw client.badAnswer(`a ${answer.body.order_type} order answering a ${type}`);
    return { ...answer.body, address: fromPremise(client, answer.body.premise) };
  }
  if (isUtilityError(answer.body) && REFUSALS[answer.body.err_code]) {
    const refusal = REFUSALS[answer.body.err_code]!;
    throw new HubError("HUB_ERR_AGENCY_REFUSED", `${client.agency} refused: ${refusal.detail}`, { agency: client.agency, reason: refusal.reason });
  }
  if (answer.status === 409)
    throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${client.agency} is still carrying out this order; retry`, { agency: client.agency });
  throw unexpected(client, answer);
}

export function fromServiceChange(order: ServiceOrder & { address: Address }, service: Service): Schemas["UtilityServiceChange"] {
  return {
    orderNo: order.order_ref,
    service,
    address: order.address,
    accounts: order.acct_results.map((r) => ({
      accountNo: r.acct_no,
      service: SERVICE[r.svc_code],
      status: STATUS[r.acct_status],
      changed: r.chg_flag === "Y",
    })),
    effectiveAt: order.eff_ts,
  };
}

export function fromTransfer(order: ServiceOrder & { address: Address }, newHolder: Schemas["UtilityHolder"]): Schemas["UtilityAccountTransfer"] {
  return {
    orderNo: order.order_ref,
    address: order.address,
    newHolder,
    accounts: order.acct_results.map((r) => ({
      accountNo: r.acct_no,
      service: SERVICE[r.svc_code],
      status: STATUS[r.acct_status],
      changed: r.chg_flag === "Y",
      ...(r.prev_holder ? { previousHolder: { idNumber: r.prev_holder.id_no, name: r.prev_holder.holder_nm } } : {}),
    })),
    effectiveAt: order.eff_ts,
  };
}

function unexpected(client: AgencyClient, answer: AgencyAnswer): HubError {
  const code = isUtilityError(answer.body) ? ` (${answer.body.err_code})` : "";
  return client.badAnswer(`unexpected ${answer.status} answer${code}`);
}
