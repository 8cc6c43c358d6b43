/**
 * The venues the catalogue agencies' sandboxes (public security, fire safety) both know, under
 * the same ids, and the officers each seeds: synthetic places in Shanghai, each area a GeoJSON
 * Polygon in WGS 84 (longitude, latitude), its ring closed and counterclockwise.
 */
import type { Queryable } from "../platform/db";

export interface Polygon {
  type: "Polygon";
  coordinates: [number, number][][];
}

export interface Venue {
  venueId: string;
  name: string;
  address: string;
  /** The capacity the venue is registered for. */
  capacity: number;
  area: Polygon;
}

export interface Officer {
  id: string;
  name: string;
}

/** A rectangle from its south-west to its north-east corner. */
export const rectangle = (west: number, south: number, east: number, north: number): Polygon => ({
  type: "Polygon",
  coordinates: [
    [
      [west, south],
      [east, south],
      [east, north],
      [west, north],
      [west, south],
    ],
  ],
});

export const VENUES: readonly Venue[] = [
  {
    venueId: "VEN-0001",
    name: "City Stadium",
    address: "666 Tianyaoqiao Road, Xuhui District, Shanghai",
    capacity: 40000,
    area: rectangle(121.4355, 31.181, 121.44, 31.1845),
  },
  {
    venueId: "VEN-0002",
    name: "Riverside Park",
    address: "1 Binjiang Avenue, Pudong New Area, Shanghai",
    capacity: 20000,
    area: rectangle(121.496, 31.238, 121.504, 31.242),
  },
  {
    venueId: "VEN-0003",
    name: "Exhibition Hall",
    address: "1000 Yan'an Middle Road, Jing'an District, Shanghai",
    capacity: 8000,
    area: rectangle(121.445, 31.225, 121.448, 31.227),
  },
  {
    venueId: "VEN-0004",
    name: "Old Town Square",
    address: "218 Anren Street, Huangpu District, Shanghai",
    capacity: 5000,
    area: rectangle(121.49, 31.227, 121.492, 31.2285),
  },
  {
    venueId: "VEN-0005",
    name: "Harbour Arena",
    address: "500 Dongdaming Road, Hongkou District, Shanghai",
    capacity: 12000,
    area: rectangle(121.515, 31.245, 121.518, 31.247),
  },
];

/**
 * Seeds `schema`.venue and `schema`.officer when empty (officers in turn over the venues);
 * answers how many venues were seeded.
 */
export async function seedVenues(db: Queryable, schema: string, officers: readonly Officer[]): Promise<number> {
  const [row] = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${schema}.venue) AS any`);
  if (row?.any) return 0;
  for (const o of officers) await db.query(`INSERT INTO ${schema}.officer (officer_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING`, [o.id, o.name]);
  for (const [i, v] of VENUES.entries())
    await db.query(`INSERT INTO ${schema}.venue (venue_id, name, address, capacity, area, officer_id) VALUES ($1, $2, $3, $4, $5, $6)`, [
      v.venueId,
      v.name,
      v.address,
      v.capacity,
      JSON.stringify(v.area),
      officers[i % officers.length]!.id,
    ]);
  return VENUES.length;
}

const VENUE_COLUMNS = 'venue_id AS "venueId", name, address, capacity, area';

export async function listVenues(db: Queryable, schema: string): Promise<Venue[]> {
  return db.query<Venue>(`SELECT ${VENUE_COLUMNS} FROM ${schema}.venue ORDER BY venue_id`);
}

/** A venue and its officer, or undefined. */
export async function findVenue(db: Queryable, schema: string, venueId: string): Promise<(Venue & { officer: Officer }) | undefined> {
  const [row] = await db.query<Venue & { officer: Officer }>(
    `SELECT v.venue_id AS "venueId", v.name, v.address, v.capacity, v.area, json_build_object('id', o.officer_id, 'name', o.name) AS officer
     FROM ${schema}.venue v JOIN ${schema}.officer o USING (officer_id) WHERE v.venue_id = $1`,
    [venueId],
  );
  return row;
}
