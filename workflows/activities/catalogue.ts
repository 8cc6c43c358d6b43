/**
 * Catalogue activities: a linkage calls any registered catalogue service, by service id,
 * method, path (with its query) and body, through `catalogue.linkageCall` on the node that holds
 * the catalogue (the api role), where the call gets every check of a mediated call: the access
 * right of the linkage's partner's subsystem (the hub's own linkages subsystem for a linkage
 * without partner), the purpose, the quota, the Idempotency-Key, the provider's document on
 * the request and the answer, the audit record (naming the linkage) and the metrics.
 *
 * Retried (per the workflow's retry policy) only where a repeat cannot do a thing twice: a
 * GET, HEAD or OPTIONS, or a call with an Idempotency-Key. A refusal (the hub's 4xx: no right,
 * a service disabled or unknown, an invalid request) and a provider's 4xx are final, with
 * the reason; so is every failure of an unsafe call without a key.
 */
import { Context } from "@temporalio/activity";
import { ApplicationFailure } from "@temporalio/common";
import type { ServiceBroker } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { linkageIdOf } from "../workflow-ids";

type Schemas = components["schemas"];
export type ServiceCall = Omit<Schemas["CatalogueLinkageCallParams"], "linkageId">;

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
/** Refusals that say "later", not "no": retried like a technical failure where retrying is safe. */
const TRANSIENT_REFUSALS = new Set(["HUB_ERR_QUOTA_EXCEEDED", "HUB_ERR_IDEMPOTENCY_IN_PROGRESS"]);
/** Moleculer's own: the call never left for the catalogue (no node runs it yet), so it is safe to repeat. */
const NOT_SENT = new Set(["SERVICE_NOT_FOUND", "SERVICE_NOT_AVAILABLE"]);
/** Above the longest call a provider may take (timeoutMs at most 60 s). */
const CALL_TIMEOUT_MS = 70_000;

/** Whether a failed call is final: a refusal, or an unsafe call without an Idempotency-Key. */
export function isFinal(call: Pick<ServiceCall, "method" | "headers">, error: { code?: number; type?: string }): boolean {
  if (error.type && NOT_SENT.has(error.type)) return false;
  const keyed = Object.keys(call.headers ?? {}).some((h) => h.toLowerCase() === "idempotency-key");
  if (!SAFE.has(call.method) && !keyed) return true;
  if (error.type === "HUB_ERR_PROVIDER_ADDRESS") return true;
  const refusal = typeof error.code === "number" && error.code >= 400 && error.code < 500;
  return refusal && !TRANSIENT_REFUSALS.has(error.type ?? "");
}

export function catalogueActivities(broker: ServiceBroker) {
  return {
    /** The enabled services with an operation for `linkage` (`x-linkage` in their documents). */
    async linkedServices(params: Schemas["LinkedServiceQuery"]): Promise<Schemas["LinkedServiceList"]> {
      return broker.call("catalogue.services.linked", params);
    },

    /** One call to a catalogue service for the running linkage; a provider's 4xx is a final failure. */
    async callService(call: ServiceCall): Promise<Schemas["CatalogueCallResult"]> {
      const { workflowExecution, activityType, attempt } = Context.current().info;
      const linkageId = linkageIdOf(workflowExecution?.workflowId ?? "");
      const line = { linkageId, activity: activityType, attempt, service: call.service, method: call.method };
      let answer: Schemas["CatalogueCallResult"];
      try {
        answer = await broker.call("catalogue.linkageCall", { ...call, linkageId }, { meta: { linkageId }, timeout: CALL_TIMEOUT_MS });
      } catch (err) {
        const e = err as { code?: number; type?: string; message: string; data?: unknown };
        broker.logger.info({ ...line, outcome: e.type ?? "error" }, "catalogue call failed");
        const type = e.type ?? "HUB_ERR_INTERNAL";
        if (isFinal(call, e)) throw ApplicationFailure.nonRetryable(e.message, type, e.data);
        throw ApplicationFailure.retryable(e.message, type, e.data);
      }
      broker.logger.info({ ...line, outcome: answer.status }, "catalogue called");
      if (answer.status >= 400)
        throw ApplicationFailure.nonRetryable(`${call.service} answered ${answer.status}${detailOf(answer.body)}`, "HUB_ERR_AGENCY_REFUSED", {
          status: answer.status,
        });
      return answer;
    },
  };
}

/** What a provider's refusal says, briefly (its problem+json detail or title, or its text). */
function detailOf(body: unknown): string {
  if (body === undefined) return "";
  const said =
    typeof body === "object" && body !== null ? ((body as { detail?: unknown; title?: unknown }).detail ?? (body as { title?: unknown }).title) : body;
  const text = typeof said === "string" ? said : JSON.stringify(body);
  return `: ${text.slice(0, 300)}`;
}
