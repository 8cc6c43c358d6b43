/** The civil registry adapter: the hub's contract on one side, the registry's system on the other. */
import type { Context, ServiceSchema } from "moleculer";
import { contractSchema } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { AgencyClient } from "../../platform/agency-client";
import type { HubNode } from "../../platform/node";
import { fromEidIssue, fromPersonCheck, toPersonCheck } from "./mapping";

type Schemas = components["schemas"];

export function civilRegistryService(node: HubNode): ServiceSchema {
  const client = new AgencyClient("civil-registry", node.config.civilRegistryUrl, node.config.civilRegistryTimeoutMs);
  return {
    name: "civil-registry",
    actions: {
      "identity.verify": {
        params: contractSchema("IdentityVerificationRequest"),
        async handler(ctx: Context<Schemas["IdentityVerificationRequest"]>): Promise<Schemas["IdentityVerificationResult"]> {
          const answer = await client.call({ method: "POST", path: "/registry/v2/person-checks", body: toPersonCheck(ctx.params), requestId: ctx.requestID ?? undefined });
          return fromPersonCheck(client, answer);
        },
      },
      "eid.issue": {
        params: contractSchema("EidIssueParams"),
        async handler(ctx: Context<Schemas["EidIssueParams"]>): Promise<Schemas["Eid"]> {
          const { idNumber, idempotencyKey } = ctx.params;
          const answer = await client.call({
            method: "POST",
            path: "/registry/v2/eids",
            body: { citizenNo: idNumber },
            idempotencyKey,
            requestId: ctx.requestID ?? undefined,
          });
          return fromEidIssue(client, answer, idNumber);
        },
      },
    },
  };
}
