/**
 * What a call carries besides its params, in Moleculer's `ctx.meta`, across NATS and back: who
 * asked and why (set by the gateway from the partner's token and `Data-Purpose`), and the
 * linkage the call belongs to (set by the linkages service and by workflow activities). The
 * audit log, the call log and the services read it from here; nothing else names these fields.
 */
import type { Context } from "moleculer";

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
