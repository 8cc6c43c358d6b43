/**
 * Civil registry activities: each calls the adapter's action through the broker, so the
 * workflow reaches the agency exactly as any other hub caller does. An error the agency or
 * the contract will give again (a 4xx) is final; anything else Temporal retries.
 */
import { Context } from "@temporalio/activity";
import { ApplicationFailure } from "@temporalio/common";
import { nameBasedUuid } from "../../platform/ids";
import type { ServiceBroker } from "moleculer";
import type { components } from "../../contracts/generated/types";

type Schemas = components["schemas"];

/** Calls an action on behalf of the running linkage, whose id travels in the call's meta. */
export async function callAction<T>(broker: ServiceBroker, action: string, params: object): Promise<T> {
  // A linkage's id is derived from its workflow id (the business key), see workflows/service.ts.
  const { workflowExecution, activityType, attempt } = Context.current().info;
  const linkageId = workflowExecution?.workflowId ? nameBasedUuid(workflowExecution.workflowId) : undefined;
  const line = { linkageId, activity: activityType, attempt, action };
  try {
    const result = await broker.call<T, object>(action, params, { meta: linkageId ? { linkageId } : {} });
    broker.logger.info({ ...line, outcome: "ok" }, "activity called");
    return result;
  } catch (err) {
    const e = err as { code?: number; type?: string; message: string; data?: unknown };
    broker.logger.info({ ...line, outcome: e.type ?? "error" }, "activity call failed");
    if (typeof e.code === "number" && e.code >= 400 && e.code < 500) throw ApplicationFailure.nonRetryable(e.message, e.type ?? "HUB_ERR_INTERNAL", e.data);
    throw err;
  }
}

export function civilRegistryActivities(broker: ServiceBroker) {
  return {
    async verifyIdentity(params: Schemas["IdentityVerificationRequest"]): Promise<Schemas["IdentityVerificationResult"]> {
      return callAction(broker, "civil-registry.identity.verify", params);
    },
    async issueEid(params: Schemas["EidIssueParams"]): Promise<Schemas["Eid"]> {
      return callAction(broker, "civil-registry.eid.issue", params);
    },
    async revokeEid(params: Schemas["EidRevokeParams"]): Promise<Schemas["EidRevocation"]> {
      return callAction(broker, "civil-registry.eid.revoke", params);
    },
    async maritalStatus(params: Schemas["MaritalStatusParams"]): Promise<Schemas["MaritalStatus"]> {
      return callAction(broker, "civil-registry.marital-status.get", params);
    },
    async registerMarriage(params: Schemas["MarriageRegisterParams"]): Promise<Schemas["Marriage"]> {
      return callAction(broker, "civil-registry.marriage.register", params);
    },
    async changeAddress(params: Schemas["AddressChangeParams"]): Promise<Schemas["AddressChange"]> {
      return callAction(broker, "civil-registry.household.change-address", params);
    },
  };
}
