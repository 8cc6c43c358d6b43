/**
 * What linkages announce as events, through the outbox: a step that missed its deadline
 * (`linkages.linkage.escalated`, also counted in `hub_linkage_escalations_total`, which the
 * ops team alerts on) and the end of a linkage (`linkages.linkage.ended`, which partners'
 * webhooks receive). Event ids are stable, so a retried activity is one event.
 */
import client from "prom-client";
import type { components } from "../../contracts/generated/types";
import type { HubNode } from "../../platform/hub-node";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import { maskedText } from "../../platform/redact";
import { storeOutcome, type Ending } from "../service/outcomes";
import { linkageDuration, linkagesEnded, outcomeOf } from "../metrics";

type Schemas = components["schemas"];

const escalations = new client.Counter({
  name: "hub_linkage_escalations_total",
  help: "Linkage steps that missed their deadline and were escalated, by linkage type and step",
  labelNames: ["linkage_type", "step"] as const,
});
// The steps that escalate today (workflows/linkages/incident-utilities.ts, crowd-dispatch.ts), at zero from start-up.
escalations.inc({ linkage_type: "incident-utilities", step: "suspend-supply" }, 0);
escalations.inc({ linkage_type: "crowd-dispatch", step: "request-units" }, 0);

export function announcementActivities(node: HubNode) {
  return {
    async escalate(escalation: Schemas["LinkageEscalatedEvent"]): Promise<void> {
      const event = createEvent("linkages.linkage.escalated", escalation, {
        source: "linkages",
        subject: escalation.linkageId,
        id: `linkage-escalated:${escalation.linkageId}:${escalation.step}`,
        linkageId: escalation.linkageId,
      });
      // A retried activity publishes the same event id again: JetStream keeps one.
      await node.db.transaction((tx) => enqueue(tx, event));
      escalations.inc({ linkage_type: escalation.linkageType, step: escalation.step });
      node.outbox.kick();
    },

    /**
     * The linkage of this workflow ended: told to whoever started it, and its outcome stored (outcomes.ts) in the same
     * transaction, before the workflow closes (so before Temporal may drop its history).
     */
    async announceEnd(end: { workflowId: string; compensated?: boolean } & Ending): Promise<void> {
      const [row] = await node.db.query<{
        id: string;
        type: Schemas["LinkageType"];
        business_key: string;
        partner_id: string | null;
        created_at: Date | string;
      }>("SELECT id, type, business_key, partner_id, created_at FROM hub.linkage WHERE workflow_id = $1", [end.workflowId]);
      if (!row) return; // started outside the hub (a test, an operator): nobody to tell
      // The reason may quote a partner's own words (a withdrawal, a cancellation): no id number or credential passes on.
      const reason = end.reason === undefined ? undefined : maskedText(end.reason).slice(0, 2000);
      const data: Schemas["LinkageEndedEvent"] = {
        linkageId: row.id,
        linkageType: row.type,
        businessKey: row.business_key,
        status: end.status,
        ...(reason ? { reason } : {}),
      };
      const event = createEvent("linkages.linkage.ended", data, {
        source: "linkages",
        subject: row.id,
        id: `linkage-ended:${row.id}`,
        linkageId: row.id,
        partnerId: row.partner_id,
      });
      await node.db.transaction(async (tx) => {
        await enqueue(tx, event);
        await storeOutcome(tx, row.id, { ...end, reason });
      });
      node.outbox.kick();
      const outcome = outcomeOf(end.status, end.compensated);
      linkagesEnded.inc({ linkage_type: row.type, outcome });
      node.broker.logger.info({ linkageId: row.id, linkageType: row.type, outcome }, "linkage ended");
      const ms = Date.now() - new Date(row.created_at).getTime();
      linkageDuration.observe({ linkage_type: row.type }, ms / 1000);
      // The catalogue's completion rate of the type: counted at the end, on the day it ended.
      node.tally.linkageEnded(row.type, end.status === "COMPLETED", ms);
    },
  };
}
