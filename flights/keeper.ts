/**
 * Keeps a flights node's airspace in step: the aviation authority's zones and public security's
 * open event areas read (every FLIGHTS_SYNC_MS), and the `permits.key-place.*` events handled
 * (the area read from public security, recorded, and the accepted flights it crosses withdrawn).
 */
import type { ServiceBroker } from "moleculer";
import type { components } from "../contracts/generated/types";
import type { Db, Queryable } from "../platform/db";
import type { CloudEvent } from "../platform/events/envelope";
import { eventAreaOf, type Agencies } from "./agencies";
import { saveEventArea, type Airspace } from "./airspace";
import { withdrawCrossed } from "./reports";

type Schemas = components["schemas"];

/** Announced to every flights node after an event area changed: each reloads the areas. */
export const AIRSPACE_CHANGED = "flights.airspace.changed";

export class AirspaceKeeper {
  /** Whether the zones have been read once: no report is answered before. */
  zonesRead = false;

  constructor(private readonly deps: { db: Db; broker: ServiceBroker; airspace: Airspace; agencies: Agencies; kick: () => void }) {}

  /** The aviation authority's zones and public security's open event areas, into memory. */
  async read(): Promise<void> {
    const { db, airspace, agencies } = this.deps;
    airspace.setZones(await agencies.noFlyZones());
    this.zonesRead = true;
    for (const area of await agencies.openEventAreas()) {
      await saveEventArea(db, area);
      await db.transaction((tx) => withdrawCrossed(tx, area));
    }
    await airspace.loadEventAreas(db);
    this.deps.kick();
  }

  /** An event's venue opened as a key place (its area read from public security), or closed. */
  async keyPlaceEvent(event: CloudEvent, tx: Queryable): Promise<void> {
    const { airspace, agencies } = this.deps;
    const data = event.data as Schemas["KeyPlaceEvent"];
    if (event.type === "permits.key-place.closed") {
      await tx.query("UPDATE hub.flight_event_area SET open = false, updated_at = now() WHERE place_id = $1", [data.placeId]);
      airspace.closeEventArea(data.placeId);
    } else {
      const place = await agencies.keyPlace(data.placeId);
      if (!place) throw new Error(`public security has no key place ${data.placeId}`);
      const area = eventAreaOf({ ...place, opensAt: data.opensAt, closesAt: data.closesAt, status: "OPEN" });
      await saveEventArea(tx, area);
      airspace.setEventArea(area);
      await withdrawCrossed(tx, area);
    }
    setImmediate(() => {
      this.deps.kick();
      void this.deps.broker.broadcast(AIRSPACE_CHANGED, {}).catch(() => undefined);
    });
  }
}
