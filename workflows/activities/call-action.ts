/**
 * How every activity reaches an agency: it calls the adapter's action through the broker, so a
 * workflow reaches the agency exactly as any other hub caller does, its linkage id in the call's
 * meta (for the call log and the audit record). An error the agency or the contract will give
 * again (a 4xx) is final; anything else Temporal retries, per the workflow's retry policy:
 * also Moleculer's own retryable 404s (no node offers the action just now, as while the
 * adapters' nodes restart), which the next attempt may find served.
 */
import { Context } from "@temporalio/activity";
import { ApplicationFailure } from "@temporalio/common";
import type { ServiceBroker } from "moleculer";
import { linkageIdOf } from "../workflow-ids";

/**
 * Calls an action on behalf of the running linkage, whose id travels in the call's meta, with
 * the purpose the linkage states where the action reads personal data for one.
 */
export async function callAction<T>(broker: ServiceBroker, action: string, params: object, purpose?: string): Promise<T> {
  const { workflowExecution, activityType, attempt } = Context.current().info;
  const linkageId = workflowExecution?.workflowId ? linkageIdOf(workflowExecution.workflowId) : undefined;
  const line = { linkageId, activity: activityType, attempt, action };
  try {
    const meta = { ...(linkageId ? { linkageId } : {}), ...(purpose ? { purpose } : {}) };
    const result = await broker.call<T, object>(action, params, { meta });
    broker.logger.info({ ...line, outcome: "ok" }, "activity called");
    return result;
  } catch (err) {
    const e = err as { code?: number; type?: string; message: string; data?: unknown; retryable?: boolean };
    broker.logger.info({ ...line, outcome: e.type ?? "error" }, "activity call failed");
    if (typeof e.code === "number" && e.code >= 400 && e.code < 500 && !e.retryable)
      throw ApplicationFailure.nonRetryable(e.message, e.type ?? "HUB_ERR_INTERNAL", e.data);
    throw err;
  }
}
