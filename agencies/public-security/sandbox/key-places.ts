/**
 * Key places: standing attractions (seeded) and events' venues for their hours, registered and
 * closed under Idempotency-Keys; `GET /key-places` by status and by a time they are in force.
 */
import { randomBytes } from "node:crypto";
import type { Db, Queryable } from "../../../platform/db";
import type { Answer } from "../../../sandbox-kit/errors";
import { idempotency } from "../../../sandbox-kit/idempotency";
import { ProblemError, problemDialect } from "../../../sandbox-kit/problem";
import { findVenue, rectangle, type Polygon } from "../../../sandbox-kit/venues";

export const AGENCY = "public-security";
export const SCHEMA = "public_security";

export interface KeyPlaceRequest {
  reference: string;
  kind: "event";
  name: string;
  venueId: string;
  capacity: number;
  area: Polygon;
  opensAt: string;
  closesAt: string;
}

export interface KeyPlace {
  placeId: string;
  reference: string;
  kind: "event" | "attraction";
  name: string;
  venueId?: string;
  capacity: number;
  area: Polygon;
  opensAt?: string;
  closesAt?: string;
  status: "OPEN" | "CLOSED";
  closedAt?: string;
  closureReason?: string;
}

const ATTRACTIONS = [
  { placeId: "KP-ATTR-0001", name: "Bund Riverside Promenade", capacity: 25000, area: rectangle(121.489, 31.234, 121.492, 31.242) },
  { placeId: "KP-ATTR-0002", name: "Yu Garden Bazaar", capacity: 10000, area: rectangle(121.4895, 31.2255, 121.494, 31.229) },
];

const idempotent = idempotency(SCHEMA, problemDialect(AGENCY));
const problem = (status: number, code: string, detail: string, pointer?: string) =>
  new ProblemError(AGENCY, status, code, detail, pointer ? [{ pointer, detail }] : undefined);

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `json_strip_nulls(json_build_object('placeId', place_id, 'reference', reference, 'kind', kind, 'name', name,
  'venueId', venue_id, 'capacity', capacity, 'area', area, 'opensAt', ${iso("opens_at")}, 'closesAt', ${iso("closes_at")},
  'status', status, 'closedAt', ${iso("closed_at")}, 'closureReason', closure_reason)) AS place`;

/** Seeds the standing attractions when there are none; answers how many. */
export async function seedAttractions(db: Queryable): Promise<number> {
  const [row] = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.key_place WHERE kind = 'attraction') AS any`);
  if (row?.any) return 0;
  for (const a of ATTRACTIONS)
    await db.query(`INSERT INTO ${SCHEMA}.key_place (place_id, reference, kind, name, capacity, area) VALUES ($1, $1, 'attraction', $2, $3, $4)`, [
      a.placeId,
      a.name,
      a.capacity,
      JSON.stringify(a.area),
    ]);
  return ATTRACTIONS.length;
}

async function place(db: Queryable, placeId: string): Promise<KeyPlace> {
  const [row] = await db.query<{ place: KeyPlace }>(`SELECT ${COLUMNS} FROM ${SCHEMA}.key_place WHERE place_id = $1`, [placeId]);
  if (!row) throw problem(404, "NOT_FOUND", `no key place ${placeId}`);
  return row.place;
}
export const getKeyPlace = place;

export async function listKeyPlaces(db: Queryable, query: URLSearchParams): Promise<{ keyPlaces: KeyPlace[] }> {
  for (const name of query.keys()) if (name !== "status" && name !== "at") throw problem(400, "INVALID_REQUEST", `unknown parameter ${name}`);
  const status = query.get("status");
  const at = query.get("at");
  if (status !== null && status !== "OPEN" && status !== "CLOSED") throw problem(400, "INVALID_REQUEST", "status is OPEN or CLOSED", "/status");
  if (at !== null && (!/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(at) || Number.isNaN(Date.parse(at))))
    throw problem(400, "INVALID_REQUEST", "at is a time in ISO 8601 with its offset", "/at");
  const rows = await db.query<{ place: KeyPlace }>(
    `SELECT ${COLUMNS} FROM ${SCHEMA}.key_place
     WHERE ($1::text IS NULL OR status = $1) AND ($2::timestamptz IS NULL OR opens_at IS NULL OR (opens_at <= $2 AND $2 < closes_at))
     ORDER BY created_at, place_id`,
    [status, at],
  );
  return { keyPlaces: rows.map((r) => r.place) };
}

export function registerKeyPlace(db: Db, key: string, r: KeyPlaceRequest): Promise<Answer> {
  return idempotent(db, key, "register", r, async (tx) => {
    if (Date.parse(r.closesAt) <= Date.parse(r.opensAt)) throw problem(422, "INVALID_PERIOD", "the key place closes before it opens", "/closesAt");
    if (!(await findVenue(tx, SCHEMA, r.venueId))) throw problem(422, "UNKNOWN_VENUE", `no venue ${r.venueId}`, "/venueId");
    const open = r.area.coordinates.findIndex((ring) => JSON.stringify(ring[0]) !== JSON.stringify(ring.at(-1)));
    if (open >= 0) throw problem(422, "INVALID_AREA", "the area's ring is not closed (its last position must be its first)", `/area/coordinates/${open}`);
    const placeId = `KP-${randomBytes(6).toString("hex").toUpperCase()}`;
    await tx.query(
      `INSERT INTO ${SCHEMA}.key_place (place_id, reference, kind, name, venue_id, capacity, area, opens_at, closes_at) VALUES ($1, $2, 'event', $3, $4, $5, $6, $7, $8)`,
      [placeId, r.reference, r.name, r.venueId, r.capacity, JSON.stringify(r.area), r.opensAt, r.closesAt],
    );
    return { status: 201, body: await place(tx, placeId) };
  });
}

/** Closes a key place; one closed already is answered as it is. */
export function closeKeyPlace(db: Db, key: string, placeId: string, reason: string | undefined): Promise<Answer> {
  return idempotent(db, key, "close", { placeId, reason }, async (tx) => {
    await place(tx, placeId);
    await tx.query(`UPDATE ${SCHEMA}.key_place SET status = 'CLOSED', closed_at = now(), closure_reason = $2 WHERE place_id = $1 AND status = 'OPEN'`, [
      placeId,
      reason ?? null,
    ]);
    return { status: 200, body: await place(tx, placeId) };
  });
}
