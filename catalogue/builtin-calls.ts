/**
 * Calls to the built-in agencies' operations, counted for the catalogue's figures by a broker
 * middleware on the agency's own actions. Counted there, and not in the gateway's pipeline,
 * because that is the one place every caller passes: REST requests, partners calling over
 * NATS and linkage activities alike, each call once, on the node that runs the agency.
 */
import type { Context, Middleware } from "moleculer";
import type { ServiceTally } from "../platform/hub-node";
import { serviceCalls } from "./metrics";
import { builtinServiceId } from "./builtin-ids";
import { completedDespite, isBuiltinOperation } from "./service-days";

export function countedOperations(tally: ServiceTally, instance: string): Middleware {
  return {
    name: "CountedOperations",
    localAction(handler: (ctx: Context) => Promise<unknown>, action: { name: string }) {
      if (!isBuiltinOperation(action.name)) return handler;
      // The operation's series at zero from start-up, so the first call shows in a rate.
      const service = builtinServiceId(instance, action.name)!;
      for (const outcome of ["completed", "failed"]) serviceCalls.inc({ service, outcome }, 0);
      return async (ctx: Context) => {
        const started = performance.now();
        let completed = false;
        try {
          const result = await handler(ctx);
          completed = true;
          return result;
        } catch (err) {
          completed = completedDespite(err);
          throw err;
        } finally {
          tally.called(service, completed, performance.now() - started);
        }
      };
    },
  } as Middleware;
}
