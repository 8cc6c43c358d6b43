/**
 * One JSON log line per action this node handles, carrying the request id and, when the call
 * is part of a linkage, the linkage id (`ctx.meta.linkageId`): one case can be followed across
 * gateway, adapter and worker processes with a single filter. Params and results are never
 * logged (they hold personal data); the caller's node, the time taken and the outcome are.
 */
import type { Context, Middleware, ServiceBroker } from "moleculer";
import { linkageIdOf } from "./call-meta";
import { logsAt } from "./log-level";

export function callLog(): Middleware {
  let writes = true;
  return {
    name: "CallLog",
    created(broker: ServiceBroker) {
      writes = logsAt(broker, "info");
    },
    localAction(handler: (ctx: Context) => Promise<unknown>, action: { name: string; visibility?: string }) {
      // Moleculer's own ($node.*) actions are chatter, not cases; moleculer-web's private `rest`
      // action is the REST request itself, which has the gateway's line (request answered).
      if (!writes || action.name.startsWith("$") || action.visibility === "private") return handler;
      return async (ctx: Context) => {
        const started = performance.now();
        const line = () => ({
          requestId: ctx.requestID,
          linkageId: linkageIdOf(ctx),
          action: action.name,
          caller: ctx.nodeID,
          ms: Math.round(performance.now() - started),
        });
        try {
          const result = await handler(ctx);
          ctx.service?.logger.info({ ...line(), outcome: "ok" }, "action handled");
          return result;
        } catch (err) {
          ctx.service?.logger.info({ ...line(), outcome: (err as { type?: string }).type ?? "error" }, "action failed");
          throw err;
        }
      };
    },
  } as Middleware;
}
