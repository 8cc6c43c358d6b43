/**
 * Event permit activities that touch the hub's own records: the venue capacity a permit holds
 * (hub.venue_reservation: the permits whose hours overlap share the venue's registered
 * capacity, checked and taken in one transaction under a lock per venue, so two permits
 * issued at once cannot both take the last of it), and the permit's events, published
 * through the outbox with stable ids (a retried activity is one event), carrying the
 * organiser's partner so its webhook receives the decision.
 */
import client from "prom-client";
import type { components } from "../../contracts/generated/types";
import type { HubNode } from "../../platform/hub-node";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";

type Schemas = components["schemas"];

export interface VenueHold {
  linkageId: string;
  venueId: string;
  venueCapacity: number;
  capacity: number;
  start: string;
  end: string;
}

export type PermitEventType =
  | "permits.application.awaiting-document"
  | "permits.permit.issued"
  | "permits.permit.refused"
  | "permits.permit.lapsed"
  | "permits.permit.cancelled"
  | "permits.key-place.opened"
  | "permits.key-place.closed";

const DECISIONS = ["issued", "refused", "lapsed", "capacity_taken", "cancelled"] as const;
const decided = new client.Counter({
  name: "hub_event_permits_total",
  help: "Event permit decisions, by decision: issued, refused (by an agency), lapsed (no document in time), capacity_taken (the venue's capacity for those hours is held by other permits), cancelled",
  labelNames: ["decision"] as const,
});
for (const decision of DECISIONS) decided.inc({ decision }, 0);

const DECISION_OF: Partial<Record<PermitEventType, (data: Schemas["PermitEvent"]) => (typeof DECISIONS)[number]>> = {
  "permits.permit.issued": () => "issued",
  "permits.permit.refused": (d) => (d.code === "VENUE_CAPACITY_TAKEN" ? "capacity_taken" : "refused"),
  "permits.permit.lapsed": () => "lapsed",
  "permits.permit.cancelled": () => "cancelled",
};

export function permitActivities(node: HubNode) {
  const { db } = node;
  return {
    /** Takes `capacity` of the venue for the event's hours, unless overlapping permits leave less; `held` is what they hold. */
    async holdVenue(hold: VenueHold): Promise<{ held: boolean; heldByOthers: number }> {
      return db.transaction(async (tx) => {
        await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`linkage-hub:venue:${hold.venueId}`]);
        const [mine] = await tx.query("SELECT 1 FROM hub.venue_reservation WHERE linkage_id = $1 AND released_at IS NULL", [hold.linkageId]);
        const [others] = await tx.query<{ sum: string | null }>(
          `SELECT sum(capacity) AS sum FROM hub.venue_reservation
            WHERE venue_id = $1 AND released_at IS NULL AND linkage_id <> $2 AND starts_at < $4 AND ends_at > $3`,
          [hold.venueId, hold.linkageId, hold.start, hold.end],
        );
        const heldByOthers = Number(others?.sum ?? 0);
        // Held already (a retried activity): the first answer stands.
        if (mine) return { held: true, heldByOthers };
        if (heldByOthers + hold.capacity > hold.venueCapacity) return { held: false, heldByOthers };
        await tx.query(
          `INSERT INTO hub.venue_reservation (linkage_id, venue_id, capacity, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (linkage_id) DO UPDATE SET capacity = $3, starts_at = $4, ends_at = $5, released_at = NULL`,
          [hold.linkageId, hold.venueId, hold.capacity, hold.start, hold.end],
        );
        return { held: true, heldByOthers };
      });
    },

    /** Gives the venue's capacity back (the event ended, or the permit was cancelled); releasing twice changes nothing. */
    async releaseVenue({ linkageId }: { linkageId: string }): Promise<void> {
      await db.query("UPDATE hub.venue_reservation SET released_at = now() WHERE linkage_id = $1 AND released_at IS NULL", [linkageId]);
    },

    /** Publishes a change of the permit (through the outbox); `id` makes it one event however often the activity runs. */
    async announcePermit({ type, data, id }: { type: PermitEventType; data: Schemas["PermitEvent"] | Schemas["KeyPlaceEvent"]; id: string }): Promise<void> {
      const [row] = await db.query<{ partner_id: string | null }>("SELECT partner_id FROM hub.linkage WHERE id = $1", [data.linkageId]);
      const event = createEvent(type, data, { source: "permits", subject: data.linkageId, id, linkageId: data.linkageId, partnerId: row?.partner_id });
      await db.transaction((tx) => enqueue(tx, event));
      node.outbox.kick();
      const decision = DECISION_OF[type]?.(data as Schemas["PermitEvent"]);
      if (decision) decided.inc({ decision });
    },
  };
}
