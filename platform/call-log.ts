/**
 * One JSON log line per action this node handles, carrying the request id and, when the call
 * is part of a linkage, the linkage id (`ctx.meta.linkageId`): one case can be followed across
 * gateway, adapter and worker processes with a single filter. Params and results are never
 * logged (they hold personal data); the caller's node, the time taken and the outcome are.
 */
import type { Context, Middleware } from "moleculer";
import { linkageIdOf } from "./call-meta";

export function callLog(): Middleware {
  return {
    name: "CallLog",
    localAction(handler: (ctx: Context) => Promise<unknown>, action: { name: string }) {
      // Moleculer's own ($node.*) actions are chatter, not cases.
      if (action.name.startsWith("$")) return handler;
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
