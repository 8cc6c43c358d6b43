/** The civil registry adapter: the hub's contract on one side, the registry's system on the other. */
import type { Context, ServiceSchema } from "moleculer";
import { contractSchema } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { AgencyClient } from "../../platform/agency-client";
import type { HubNode } from "../../platform/node";
import { fromEidIssue, fromPersonCheck, toPersonCheck } from "./mapping";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";

type Schemas = components["schemas"];

export function civilRegistryService(node: HubNode): ServiceSchema {
  const { civilRegistryUrl, civilRegistryTimeoutMs, civilRegistryToken } = node.config;
  const client = new AgencyClient("civil-registry", civilRegistryUrl, civilRegistryTimeoutMs, { token: civilRegistryToken });
  return {
    name: "civil-registry",
    actions: {
      "identity.verify": {
        params: contractSchema("IdentityVerificationRequest"),
        result: contractSchema("IdentityVerificationResult"),
        async handler(ctx: Context<Schemas["IdentityVerificationRequest"]>): Promise<Schemas["IdentityVerificationResult"]> {
          const answer = await client.call({ method: "POST", path: "/registry/v2/person-checks", body: toPersonCheck(ctx.params), requestId: ctx.requestID ?? undefined, retry: true });
          return fromPersonCheck(client, answer);
        },
      },
      "eid.issue": {
        params: contractSchema("EidIssueParams"),
        result: contractSchema("Eid"),
        async handler(ctx: Context<Schemas["EidIssueParams"]>): Promise<Schemas["Eid"]> {
          const { idNumber, idempotencyKey } = ctx.params;
          const answer = await client.call({
            method: "POST",
            path: "/registry/v2/eids",
            body: { citizenNo: idNumber },
            idempotencyKey,
            retry: true,
            requestId: ctx.requestID ?? undefined,
          });
          const eid = fromEidIssue(client, answer, idNumber);
          // The registry owns the fact; a retried issuance yields the same event id (de-duplicated).
          const event = createEvent(
            "civil-registry.eid.issued",
            { eidNo: eid.eidNo, idNumber, issuedAt: eid.issuedAt, expiresAt: eid.expiresAt },
            { source: "civil-registry", subject: eid.eidNo, id: `eid-issued:${eid.eidNo}`, requestId: ctx.requestID, linkageId: (ctx.meta as { linkageId?: string }).linkageId },
          );
          await node.db.transaction((tx) => enqueue(tx, event));
          node.outbox.kick();
          return eid;
        },
      },
    },
  };
}
