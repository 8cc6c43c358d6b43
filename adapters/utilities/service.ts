/** The utilities adapter: the hub's contract on one side, the utility's system on the other. */
import type { Context, ServiceSchema } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { AgencyClient, agencyAction, agencyService } from "../../platform/agency-client";
import { assertPurpose, linkageIdOf } from "../../platform/call-meta";
import { HubError } from "../../platform/errors";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import type { HubNode } from "../../platform/hub-node";
import { fromAccountList, fromOrder, fromServiceChange, fromTransfer, toSvcCode, toTarget } from "./mapping";

type Schemas = components["schemas"];
type ChangeParams = Schemas["UtilityServiceChangeParams"];
type TransferParams = Schemas["UtilityAccountTransferParams"];

/** What the actions stand on: the utility's system, and the outbox the facts it confirms are published through. */
interface Utilities {
  client: AgencyClient;
  publish: (ctx: Context, type: string, data: object, orderNo: string) => Promise<void>;
}

export function utilitiesService(node: HubNode): ServiceSchema {
  const { utilitiesUrl, utilitiesTimeoutMs, utilitiesToken } = node.config;
  const client = new AgencyClient("utilities", utilitiesUrl, utilitiesTimeoutMs, { token: utilitiesToken });
  const utilities: Utilities = { client, publish: publisher(node) };
  return agencyService(
    client,
    node.config.agencyProbeMs,
    {
      name: "utilities",
      actions: {
        "account.lookup": {
          ...agencyAction("read", "UtilityAccountLookupParams", "UtilityAccountList"),
          audit: () => [],
          handler: (ctx: Context<Schemas["UtilityAccountLookupParams"]>) => lookupAccounts(utilities, ctx),
        },
        "service.suspend": {
          ...agencyAction("change", "UtilityServiceChangeParams", "UtilityServiceChange"),
          handler: (ctx: Context<ChangeParams>) => changeService(utilities, ctx, "suspend"),
        },
        "service.restore": {
          ...agencyAction("change", "UtilityServiceChangeParams", "UtilityServiceChange"),
          handler: (ctx: Context<ChangeParams>) => changeService(utilities, ctx, "restore"),
        },
        "account.transfer": {
          ...agencyAction("change", "UtilityAccountTransferParams", "UtilityAccountTransfer"),
          audit: transferSubjects,
          handler: (ctx: Context<TransferParams>) => transferAccounts(utilities, ctx),
        },
        "transfer.get": {
          ...agencyAction("read", "UtilityTransferGetParams", "UtilityAccountTransfer"),
          audit: (_p: unknown, r?: { newHolder: { idNumber: string }; accounts: { previousHolder?: { idNumber: string } }[] }) =>
            r ? transferSubjects({ newHolder: r.newHolder }, r) : [],
          handler: (ctx: Context<Schemas["UtilityTransferGetParams"]>) => getTransfer(utilities, ctx),
        },
      },
    },
    node.tally,
  );
}

/** Publishes a fact through the outbox; a replayed order yields the same event id (de-duplicated). */
function publisher(node: HubNode): Utilities["publish"] {
  return async (ctx, type, data, orderNo) => {
    const event = createEvent(type, data, {
      source: "utilities",
      subject: orderNo,
      id: `${type}:${orderNo}`,
      requestId: ctx.requestID,
      linkageId: linkageIdOf(ctx),
    });
    await node.db.transaction((tx) => enqueue(tx, event));
    node.outbox.kick();
  };
}

/** A transfer concerns its new holder and every previous one. */
const transferSubjects = (p: { newHolder: { idNumber: string } }, r?: { accounts: { previousHolder?: { idNumber: string } }[] }) => [
  p.newHolder.idNumber,
  ...(r?.accounts ?? []).map((a) => a.previousHolder?.idNumber),
];

async function lookupAccounts({ client }: Utilities, ctx: Context<Schemas["UtilityAccountLookupParams"]>): Promise<Schemas["UtilityAccountList"]> {
  const { postcode, street } = ctx.params;
  const query = new URLSearchParams({ post_code: postcode, street });
  const answer = await client.call({ method: "GET", path: `/utility/v1/accounts?${query}`, retry: true, ctx });
  return fromAccountList(client, answer, { postcode, street });
}

/** A suspension or restoration: one order at the utility, retried under the caller's idempotency key. */
async function changeService(
  { client, publish }: Utilities,
  ctx: Context<ChangeParams>,
  kind: "suspend" | "restore",
): Promise<Schemas["UtilityServiceChange"]> {
  const p = ctx.params;
  const type = kind === "suspend" ? "SUSPEND" : "RESTORE";
  const answer = await client.call({
    method: "POST",
    path: kind === "suspend" ? "/utility/v1/suspensions" : "/utility/v1/restorations",
    body: { ...toTarget(p), svc_code: toSvcCode(p.service), reason_txt: p.reason, ...(p.incidentId ? { incident_ref: p.incidentId } : {}) },
    idempotencyKey: p.idempotencyKey,
    retry: true,
    ctx,
  });
  const order = fromOrder(client, answer, type);
  if (order.svc_code !== toSvcCode(p.service) || order.acct_results.some((r) => r.svc_code !== order.svc_code))
    throw client.badAnswer("an order for another service");
  const result = fromServiceChange(order, p.service);
  const changed = result.accounts.filter((a) => a.changed).map((a) => a.accountNo);
  if (changed.length)
    await publish(
      ctx,
      kind === "suspend" ? "utilities.service.suspended" : "utilities.service.restored",
      {
        orderNo: result.orderNo,
        service: p.service,
        address: result.address,
        accountNos: changed,
        reason: p.reason,
        ...(p.incidentId ? { incidentId: p.incidentId } : {}),
        effectiveAt: result.effectiveAt,
      },
      result.orderNo,
    );
  return result;
}

async function transferAccounts({ client, publish }: Utilities, ctx: Context<TransferParams>): Promise<Schemas["UtilityAccountTransfer"]> {
  const p = ctx.params;
  const answer = await client.call({
    method: "POST",
    path: "/utility/v1/transfers",
    body: { ...toTarget(p), new_holder: { id_no: p.newHolder.idNumber, holder_nm: p.newHolder.name } },
    idempotencyKey: p.idempotencyKey,
    retry: true,
    ctx,
  });
  const order = fromOrder(client, answer, "TRANSFER");
  if (order.new_holder?.id_no !== p.newHolder.idNumber) throw client.badAnswer("a transfer to another holder");
  const result = fromTransfer(order, p.newHolder);
  const changed = result.accounts.filter((a) => a.changed).map((a) => a.accountNo);
  if (changed.length)
    await publish(
      ctx,
      "utilities.account.transferred",
      { orderNo: result.orderNo, accountNos: changed, effectiveAt: result.effectiveAt } satisfies Schemas["UtilityAccountTransferredEvent"],
      result.orderNo,
    );
  return result;
}

/** The purposes a transfer is read for (the reference `utilities.account.transferred` carries): supplying the accounts, registering the move. */
export const TRANSFER_READ_PURPOSES = ["utility-service", "civil-registration"] as const;

/** A transfer order by its number, with its new holder and the previous ones. */
async function getTransfer({ client }: Utilities, ctx: Context<Schemas["UtilityTransferGetParams"]>): Promise<Schemas["UtilityAccountTransfer"]> {
  assertPurpose(ctx, TRANSFER_READ_PURPOSES, "utilities.transfer.get");
  const { orderNo } = ctx.params;
  const answer = await client.call({ method: "GET", path: `/utility/v1/orders/${orderNo}`, ctx, retry: true });
  if (answer.status === 404)
    throw new HubError("HUB_ERR_RECORD_NOT_FOUND", `${client.agency}: no order ${orderNo}`, { agency: client.agency, reason: "ORDER_NOT_FOUND" });
  const order = fromOrder(client, answer, "TRANSFER", 200);
  if (order.order_ref !== orderNo || !order.new_holder) throw client.badAnswer("the answer is of another order");
  return fromTransfer(order, { idNumber: order.new_holder.id_no, name: order.new_holder.holder_nm });
}
