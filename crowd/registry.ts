/**
 * The crowd watch's records (hub.crowd_place, hub.device): read whole into memory at start and
 * after a change, written in bulk; never a query per reading.
 */
import type { components } from "../contracts/generated/types";
import type { Db, Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import type { Level } from "./state";

type Schemas = components["schemas"];
export type Device = Schemas["CrowdDevices"]["devices"][number];

export interface PlaceRecord {
  placeId: string;
  name: string;
  capacity: number;
  warningAt: number | null;
  criticalAt: number | null;
  source: "attraction" | "event" | "registered";
  open: boolean;
  lastLevel: Level;
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export async function loadPlaces(db: Queryable): Promise<PlaceRecord[]> {
  return db.query<PlaceRecord>(
    `SELECT place_id AS "placeId", name, capacity, warning_at AS "warningAt", critical_at AS "criticalAt", source, open, last_level AS "lastLevel"
       FROM hub.crowd_place ORDER BY place_id`,
  );
}

export async function loadDevices(db: Queryable): Promise<Device[]> {
  return db.query<Device>(
    `SELECT device_id AS "deviceId", place_id AS "placeId", kind, ${iso("created_at")} AS "createdAt" FROM hub.device ORDER BY device_id`,
  );
}

/** Registers devices (one statement however many); a registered one moves to its new place. */
export async function addDevices(db: Queryable, devices: Device[]): Promise<void> {
  if (!devices.length) return;
  await db.query(
    `INSERT INTO hub.device (device_id, place_id, kind)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
     ON CONFLICT (device_id) DO UPDATE SET place_id = excluded.place_id, kind = excluded.kind`,
    [devices.map((d) => d.deviceId), devices.map((d) => d.placeId), devices.map((d) => d.kind ?? "counter")],
  );
}

/** Removes devices; answers those there were. */
export async function removeDevices(db: Queryable, deviceIds: string[]): Promise<Device[]> {
  return db.query<Device>(
    `DELETE FROM hub.device WHERE device_id = ANY($1::text[])
     RETURNING device_id AS "deviceId", place_id AS "placeId", kind, ${iso("created_at")} AS "createdAt"`,
    [deviceIds],
  );
}

export async function setThresholds(db: Queryable, p: Schemas["CrowdPlaceThresholds"]): Promise<void> {
  const warning = p.warningAt === undefined ? null : p.warningAt;
  const critical = p.criticalAt === undefined ? null : p.criticalAt;
  if ((warning ?? 0.8) >= (critical ?? 1.0))
    throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", "The warning threshold must be below the critical one", {
      errors: [{ in: "params", pointer: "/warningAt", detail: "must be below criticalAt (default 1.0)" }],
    });
  const rows = await db.query("UPDATE hub.crowd_place SET warning_at = $2, critical_at = $3, updated_at = now() WHERE place_id = $1 RETURNING 1", [
    p.placeId,
    warning,
    critical,
  ]);
  if (!rows.length) throw new HubError("HUB_ERR_KEY_PLACE_NOT_FOUND", `No key place ${p.placeId}`);
}

/** A key place as public security has it (its list, or a permit's event): added, or its capacity and hours brought up to date. */
export async function upsertPlace(
  db: Queryable,
  p: { placeId: string; name: string; capacity: number; source: "attraction" | "event"; open: boolean; opensAt?: string; closesAt?: string },
): Promise<void> {
  await db.query(
    `INSERT INTO hub.crowd_place (place_id, name, capacity, source, open, opens_at, closes_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (place_id) DO UPDATE SET name = $2, capacity = $3, source = $4, open = $5, opens_at = $6, closes_at = $7, updated_at = now()`,
    [p.placeId, p.name, p.capacity, p.source, p.open, p.opensAt ?? null, p.closesAt ?? null],
  );
}

/** Places registered by hand (one statement): new ones added; a place public security lists keeps its capacity from there. */
export async function registerPlaces(db: Queryable, places: Schemas["CrowdPlaces"]["places"]): Promise<void> {
  if (!places.length) return;
  await db.query(
    `INSERT INTO hub.crowd_place (place_id, name, capacity, source)
       SELECT place_id, name, capacity, 'registered' FROM unnest($1::text[], $2::text[], $3::int[]) AS p(place_id, name, capacity)
     ON CONFLICT (place_id) DO UPDATE SET name = excluded.name, capacity = excluded.capacity, updated_at = now()
       WHERE crowd_place.source = 'registered'`,
    [places.map((p) => p.placeId), places.map((p) => p.name ?? p.placeId), places.map((p) => p.capacity)],
  );
}

/** Records the levels published (in one statement), so a restart does not publish them again. */
export async function saveLevels(db: Db, levels: Map<string, { level: Level; at: string }>): Promise<void> {
  if (!levels.size) return;
  const ids = [...levels.keys()];
  await db.query(
    `UPDATE hub.crowd_place p SET last_level = l.level, last_level_at = l.at
       FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS l(place_id, level, at) WHERE p.place_id = l.place_id`,
    [ids, ids.map((id) => levels.get(id)!.level), ids.map((id) => levels.get(id)!.at)],
  );
}
