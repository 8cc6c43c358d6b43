/**
 * Escalation: a linkage step that missed its deadline is announced as a
 * `linkages.linkage.escalated` event (once per linkage and step: its id says so) and counted
 * in `hub_linkage_escalations_total`, which the ops team alerts on.
 */
import client from "prom-client";
import type { components } from "../../contracts/generated/types";
import type { HubNode } from "../../platform/node";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";

type Escalation = components["schemas"]["LinkageEscalatedEvent"];

const escalations = new client.Counter({
  name: "hub_linkage_escalations_total",
  help: "Linkage steps that missed their deadline and were escalated, by linkage type and step",
  labelNames: ["linkage_type", "step"] as const,
});

export function escalationActivities(node: HubNode) {
  return {
    async escalate(escalation: Escalation): Promise<void> {
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
  };
}
