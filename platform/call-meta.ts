/**
 * What a call carries besides its params, in Moleculer's `ctx.meta`, across NATS and back: who
 * asked and why (set by the gateway from the partner's token and `Data-Purpose`), and the
 * linkage the call belongs to (set by the linkages service and by workflow activities). The
 * audit log, the call log and the services read it from here; nothing else names these fields.
 */
import type { Context } from "moleculer";
import { HubError } from "./errors";

export interface CallMeta {
  /** The contract operation a REST or NATS caller invoked. */
  operationId?: string;
  /** The partner whose token authorised the call (none for internal callers). */
  partner?: string;
  /** The legal basis the partner stated (`Data-Purpose`). */
  purpose?: string;
  /** The hash binding the answer to the partner's request (`Request-Hash`). */
  requestHash?: string;
  /** The linkage this call is a step of. Merged back into the caller's meta by Moleculer. */
  linkageId?: string;
}

export const metaOf = (ctx: Context) => ctx.meta as CallMeta;
export const linkageIdOf = (ctx: Context) => metaOf(ctx).linkageId;

/**
 * An action that hands out personal data to whoever asks over NATS (an event's consumer, a
 * linkage) answers only for a purpose it serves: the caller names it in `meta.purpose` (the
 * gateway sets it from `Data-Purpose`, checked against the partner's grants first). Refused
 * otherwise, and the refusal is audited like the call would have been.
 */
export function assertPurpose(ctx: Context, allowed: readonly string[], what: string): void {
  const purpose = metaOf(ctx).purpose;
  if (purpose && allowed.includes(purpose)) return;
  throw new HubError(
    "HUB_ERR_FORBIDDEN",
    purpose
      ? `${what} does not answer for the purpose ${purpose} (it does for: ${allowed.join(", ")})`
      : `${what} touches personal data: state the purpose in the call's meta.purpose (one of: ${allowed.join(", ")})`,
  );
}
