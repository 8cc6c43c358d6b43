/**
 * What a flight may not cross, held in memory by each flights node: the aviation authority's
 * no-fly zones (read whole every FLIGHTS_SYNC_MS) and the event areas (public security's key
 * places of kind event: the venue's area for the event's hours), kept in hub.flight_event_area
 * from the `permits.key-place.*` events and public security's list, and read into memory.
 */
import type { components } from "../contracts/generated/types";
import type { Queryable } from "../platform/db";
import { intersects, shapeOf, type Polygon, type Shape } from "./geometry";

type Conflict = components["schemas"]["FlightConflict"];

export interface NoFlyZone {
  zoneId: string;
  name: string;
  kind: string;
  area: Polygon;
  from?: string;
  until?: string;
}

export interface EventArea {
  placeId: string;
  name: string;
  area: Polygon;
  opensAt: string;
  closesAt: string;
  open: boolean;
}

interface Held {
  conflict: Conflict;
  shape: Shape;
  /** Epoch ms; a permanent zone from -Infinity to Infinity. */
  from: number;
  until: number;
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export const heldEventArea = (a: EventArea): Held => ({
  conflict: { kind: "event-area", id: a.placeId, name: a.name, from: a.opensAt, until: a.closesAt },
  shape: shapeOf(a.area),
  from: Date.parse(a.opensAt),
  until: Date.parse(a.closesAt),
});

export class Airspace {
  private zones: Held[] = [];
  private events = new Map<string, Held>();

  get zoneCount(): number {
    return this.zones.length;
  }

  setZones(zones: NoFlyZone[]): void {
    this.zones = zones.map((z) => ({
      conflict: { kind: "no-fly-zone", id: z.zoneId, name: z.name, ...(z.from ? { from: z.from, until: z.until } : {}) },
      shape: shapeOf(z.area),
      from: z.from ? Date.parse(z.from) : -Infinity,
      until: z.until ? Date.parse(z.until) : Infinity,
    }));
  }

  /** An event area opened (or its hours changed). */
  setEventArea(a: EventArea): void {
    if (a.open) this.events.set(a.placeId, heldEventArea(a));
    else this.events.delete(a.placeId);
  }

  closeEventArea(placeId: string): void {
    this.events.delete(placeId);
  }

  /** Every zone and event area the shape intersects while their times overlap [start, end). */
  conflicts(shape: Shape, start: number, end: number): Conflict[] {
    const out: Conflict[] = [];
    for (const held of [...this.zones, ...this.events.values()])
      if (start < held.until && held.from < end && intersects(shape, held.shape)) out.push(held.conflict);
    return out;
  }

  /** Reads the open event areas recorded in the database (at start, and after a sync). */
  async loadEventAreas(db: Queryable): Promise<void> {
    const rows = await db.query<EventArea>(
      `SELECT place_id AS "placeId", name, area, ${iso("opens_at")} AS "opensAt", ${iso("closes_at")} AS "closesAt", open FROM hub.flight_event_area WHERE open`,
    );
    this.events = new Map(rows.map((a) => [a.placeId, heldEventArea(a)]));
  }
}

/** Records an event area (opened, its hours changed, or closed). */
export async function saveEventArea(db: Queryable, a: EventArea): Promise<void> {
  await db.query(
    `INSERT INTO hub.flight_event_area (place_id, name, area, opens_at, closes_at, open) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (place_id) DO UPDATE SET name = $2, area = $3, opens_at = $4, closes_at = $5, open = $6, updated_at = now()`,
    [a.placeId, a.name, JSON.stringify(a.area), a.opensAt, a.closesAt, a.open],
  );
}
