/**
 * The aviation authority's records: operators and drones (the owners and operators are citizens
 * of the civil registry sandbox's seed, so the hub's identity check finds them) and the no-fly
 * zones of Shanghai, the city the venues of sandbox-kit/venues.ts are in.
 */
import type { Queryable } from "../../../platform/db";
import { ProblemError } from "../../../sandbox-kit/problem";
import { rectangle, type Polygon } from "../../../sandbox-kit/venues";

export const AGENCY = "aviation";
export const SCHEMA = "aviation";

export interface Operator {
  idNumber: string;
  name: string;
  licenceClass: "A" | "B" | "C";
  status: "ACTIVE" | "SUSPENDED";
}

export interface Drone {
  registrationNo: string;
  model: string;
  ownerIdNumber: string;
  status: "ACTIVE" | "SUSPENDED" | "DEREGISTERED";
}

export interface NoFlyZone {
  zoneId: string;
  name: string;
  kind: "AIRPORT" | "GOVERNMENT" | "TEMPORARY";
  area: Polygon;
  from?: string;
  until?: string;
}

/**
 * The document's examples: an operator registered here but no citizen of the civil registry
 * sandbox, so the copy of the document the hub's catalogue keeps names nobody the registry holds.
 */
export const EXAMPLE_OPERATOR: Operator = { idNumber: "110101190001010014", name: "示例", licenceClass: "A", status: "ACTIVE" };

/** The first two citizens of the civil registry sandbox's seed (sandbox-kit/synthetic-people.ts, SEED 1), and the example. */
export const OPERATORS: readonly Operator[] = [
  { idNumber: "370102198307059794", name: "马涛", licenceClass: "B", status: "ACTIVE" },
  { idNumber: "350102200609041393", name: "高一军", licenceClass: "A", status: "ACTIVE" },
  EXAMPLE_OPERATOR,
];

export const DRONES: readonly Drone[] = [
  { registrationNo: "UA-2026-000001", model: "DJI Mini 4 Pro", ownerIdNumber: "370102198307059794", status: "ACTIVE" },
  { registrationNo: "UA-2026-000002", model: "DJI Air 3", ownerIdNumber: "350102200609041393", status: "ACTIVE" },
  { registrationNo: "UA-2026-000003", model: "Autel EVO Lite+", ownerIdNumber: "370102198307059794", status: "SUSPENDED" },
  { registrationNo: "UA-2026-000090", model: "DJI Mini 4 Pro", ownerIdNumber: EXAMPLE_OPERATOR.idNumber, status: "ACTIVE" },
  { registrationNo: "UA-2026-000091", model: "Autel EVO Lite+", ownerIdNumber: EXAMPLE_OPERATOR.idNumber, status: "SUSPENDED" },
];

/** Shanghai's airports (ICAO codes) and two government sites, as rectangles around them. */
export const ZONES: readonly NoFlyZone[] = [
  { zoneId: "NFZ-ZSSS", name: "Shanghai Hongqiao International Airport", kind: "AIRPORT", area: rectangle(121.3, 31.175, 121.365, 31.225) },
  { zoneId: "NFZ-ZSPD", name: "Shanghai Pudong International Airport", kind: "AIRPORT", area: rectangle(121.76, 31.11, 121.84, 31.19) },
  { zoneId: "NFZ-GOV-0001", name: "Municipal government, People's Square", kind: "GOVERNMENT", area: rectangle(121.47, 31.229, 121.476, 31.2335) },
  { zoneId: "NFZ-GOV-0002", name: "Xijiao State Guest Hotel", kind: "GOVERNMENT", area: rectangle(121.392, 31.196, 121.4, 31.203) },
];

const problem = (status: number, code: string, detail: string, pointer?: string) =>
  new ProblemError(AGENCY, status, code, detail, pointer ? [{ pointer, detail }] : undefined);

/** Seeds operators, drones and zones when there are none; answers how many rows. */
export async function seedRegistry(db: Queryable): Promise<number> {
  const [row] = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.operator) AS any`);
  if (row?.any) return 0;
  for (const o of OPERATORS)
    await db.query(`INSERT INTO ${SCHEMA}.operator (id_number, name, licence_class, status) VALUES ($1, $2, $3, $4)`, [
      o.idNumber,
      o.name,
      o.licenceClass,
      o.status,
    ]);
  for (const d of DRONES)
    await db.query(`INSERT INTO ${SCHEMA}.drone (registration_no, model, owner_id_number, status) VALUES ($1, $2, $3, $4)`, [
      d.registrationNo,
      d.model,
      d.ownerIdNumber,
      d.status,
    ]);
  await addZones(db, ZONES);
  return OPERATORS.length + DRONES.length + ZONES.length;
}

/** Adds zones (one statement however many); a zone id held already is replaced. */
export async function addZones(db: Queryable, zones: readonly NoFlyZone[]): Promise<void> {
  if (!zones.length) return;
  await db.query(
    `INSERT INTO ${SCHEMA}.no_fly_zone (zone_id, name, kind, area, from_at, until_at)
       SELECT z.zone_id, z.name, z.kind, z.area::jsonb, z.from_at, z.until_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[]) AS z(zone_id, name, kind, area, from_at, until_at)
     ON CONFLICT (zone_id) DO UPDATE SET name = excluded.name, kind = excluded.kind, area = excluded.area, from_at = excluded.from_at, until_at = excluded.until_at`,
    [
      zones.map((z) => z.zoneId),
      zones.map((z) => z.name),
      zones.map((z) => z.kind),
      zones.map((z) => JSON.stringify(z.area)),
      zones.map((z) => z.from ?? null),
      zones.map((z) => z.until ?? null),
    ],
  );
}

/** Removes the zones whose id starts with `prefix` (zones a test or the bench loaded); answers how many. */
export async function removeZones(db: Queryable, prefix: string): Promise<number> {
  const rows = await db.query(`DELETE FROM ${SCHEMA}.no_fly_zone WHERE starts_with(zone_id, $1) RETURNING 1`, [prefix]);
  return rows.length;
}

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export async function getOperator(db: Queryable, idNumber: string): Promise<Operator> {
  const [row] = await db.query<Operator>(
    `SELECT id_number AS "idNumber", name, licence_class AS "licenceClass", status FROM ${SCHEMA}.operator WHERE id_number = $1`,
    [idNumber],
  );
  if (!row) throw problem(404, "NOT_FOUND", "no operator is registered under that identity number");
  return row;
}

const DRONE_COLUMNS = `registration_no AS "registrationNo", model, owner_id_number AS "ownerIdNumber", status`;

export async function ownersDrones(db: Queryable, query: URLSearchParams): Promise<{ drones: Drone[] }> {
  for (const name of query.keys()) if (name !== "owner") throw problem(400, "INVALID_REQUEST", `unknown parameter ${name}`);
  const owner = query.get("owner");
  if (owner === null || !/^[0-9]{17}[0-9X]$/.test(owner)) throw problem(400, "INVALID_REQUEST", "owner is an 18-character identity number", "/owner");
  return { drones: await db.query<Drone>(`SELECT ${DRONE_COLUMNS} FROM ${SCHEMA}.drone WHERE owner_id_number = $1 ORDER BY registration_no`, [owner]) };
}

export async function getDrone(db: Queryable, registrationNo: string): Promise<Omit<Drone, "ownerIdNumber">> {
  const [row] = await db.query<Drone>(`SELECT ${DRONE_COLUMNS} FROM ${SCHEMA}.drone WHERE registration_no = $1`, [registrationNo]);
  if (!row) throw problem(404, "NOT_FOUND", `no drone ${registrationNo} is registered`);
  const { ownerIdNumber: _, ...shown } = row;
  return shown;
}

const ZONE_COLUMNS = `json_strip_nulls(json_build_object('zoneId', zone_id, 'name', name, 'kind', kind, 'area', area,
  'from', ${iso("from_at")}, 'until', ${iso("until_at")})) AS zone`;

export async function listZones(db: Queryable): Promise<{ zones: NoFlyZone[] }> {
  const rows = await db.query<{ zone: NoFlyZone }>(`SELECT ${ZONE_COLUMNS} FROM ${SCHEMA}.no_fly_zone ORDER BY zone_id`);
  return { zones: rows.map((r) => r.zone) };
}

export async function getZone(db: Queryable, zoneId: string): Promise<NoFlyZone> {
  const [row] = await db.query<{ zone: NoFlyZone }>(`SELECT ${ZONE_COLUMNS} FROM ${SCHEMA}.no_fly_zone WHERE zone_id = $1`, [zoneId]);
  if (!row) throw problem(404, "NOT_FOUND", `no no-fly zone ${zoneId}`);
  return row.zone;
}
