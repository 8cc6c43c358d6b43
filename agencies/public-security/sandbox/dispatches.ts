/**
 * Police units and dispatches to key places. A dispatch is REQUESTED, then, as the sandbox's
 * dispatching mode says (`/_sandbox/dispatching`, for tests): CONFIRMED with the longest-idle
 * available units once `confirmAfterMs` has passed since the request (`confirm`, the default,
 * at once), never (`never`: it stays REQUESTED), or NO_UNITS (`unavailable`, and whenever no
 * unit is available). The mode is applied when a dispatch is read, so a change of mode reaches
 * the dispatches still REQUESTED. Releasing a dispatch makes its units available again.
 */
import { randomBytes } from "node:crypto";
import type { Db, Queryable } from "../../../platform/db";
import type { Answer } from "../../../sandbox-kit/errors";
import { idempotency } from "../../../sandbox-kit/idempotency";
import { ProblemError, problemDialect } from "../../../sandbox-kit/problem";
import { AGENCY, SCHEMA } from "./key-places";

export interface DispatchRequest {
  reference: string;
  placeId: string;
  units: number;
  reason?: string;
}

export type DispatchStatus = "REQUESTED" | "CONFIRMED" | "NO_UNITS" | "RELEASED";

export interface Dispatch {
  dispatchId: string;
  reference: string;
  placeId: string;
  unitsRequested: number;
  status: DispatchStatus;
  unitIds: string[];
  requestedAt: string;
  confirmedAt?: string;
  releasedAt?: string;
}

/** How the sandbox answers dispatches (`PUT /_sandbox/dispatching`). */
export type Dispatching = { mode: "confirm"; confirmAfterMs: number } | { mode: "never" } | { mode: "unavailable" };
export const DEFAULT_DISPATCHING: Dispatching = { mode: "confirm", confirmAfterMs: 0 };

/** The seeded units: eight on duty, two off duty. */
const UNITS = Array.from({ length: 10 }, (_, i) => ({
  unitId: `PU-${String(i + 1).padStart(4, "0")}`,
  callSign: `Patrol ${i + 1}`,
  status: i < 8 ? "available" : "off-duty",
}));

const idempotent = idempotency(SCHEMA, problemDialect(AGENCY));
const problem = (status: number, code: string, detail: string, pointer?: string) =>
  new ProblemError(AGENCY, status, code, detail, pointer ? [{ pointer, detail }] : undefined);

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `json_strip_nulls(json_build_object('dispatchId', dispatch_id, 'reference', reference, 'placeId', place_id,
  'unitsRequested', units_requested, 'status', status, 'unitIds', unit_ids, 'requestedAt', ${iso("requested_at")},
  'confirmedAt', ${iso("confirmed_at")}, 'releasedAt', ${iso("released_at")})) AS dispatch`;

/** Seeds the units when there are none; answers how many. */
export async function seedUnits(db: Queryable): Promise<number> {
  const [row] = await db.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.unit) AS any`);
  if (row?.any) return 0;
  for (const u of UNITS) await db.query(`INSERT INTO ${SCHEMA}.unit (unit_id, call_sign, status) VALUES ($1, $2, $3)`, [u.unitId, u.callSign, u.status]);
  return UNITS.length;
}

/** Reads the sandbox's dispatching mode from a `PUT /_sandbox/dispatching` body. */
export function parseDispatching(body: unknown): Dispatching {
  const b = (body ?? {}) as Record<string, unknown>;
  const bad = (detail: string, pointer: string) => problem(400, "INVALID_REQUEST", detail, pointer);
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw bad("a JSON object {mode, confirmAfterMs?}", "");
  for (const k of Object.keys(b)) if (k !== "mode" && k !== "confirmAfterMs") throw bad(`unknown field ${k}`, `/${k}`);
  if (b.mode === "confirm") {
    const after = b.confirmAfterMs ?? 0;
    if (typeof after !== "number" || !Number.isInteger(after) || after < 0 || after > 86_400_000)
      throw bad("an integer of milliseconds, 0 to 86400000", "/confirmAfterMs");
    return { mode: "confirm", confirmAfterMs: after };
  }
  if (b.mode === "never" || b.mode === "unavailable") {
    if (b.confirmAfterMs !== undefined) throw bad("only with mode confirm", "/confirmAfterMs");
    return { mode: b.mode };
  }
  throw bad("confirm, never or unavailable", "/mode");
}

async function read(db: Queryable, dispatchId: string): Promise<Dispatch> {
  const [row] = await db.query<{ dispatch: Dispatch }>(`SELECT ${COLUMNS} FROM ${SCHEMA}.dispatch WHERE dispatch_id = $1`, [dispatchId]);
  if (!row) throw problem(404, "NOT_FOUND", `no dispatch ${dispatchId}`);
  return row.dispatch;
}

/** A REQUESTED dispatch as the mode decides it now: confirmed with the longest-idle available units, NO_UNITS, or as it is. */
async function decide(tx: Queryable, dispatchId: string, mode: Dispatching): Promise<Dispatch> {
  const [row] = await tx.query<{ status: DispatchStatus; units_requested: number; waited_ms: number }>(
    `SELECT status, units_requested, extract(epoch FROM now() - requested_at) * 1000 AS waited_ms FROM ${SCHEMA}.dispatch WHERE dispatch_id = $1 FOR UPDATE`,
    [dispatchId],
  );
  if (!row) throw problem(404, "NOT_FOUND", `no dispatch ${dispatchId}`);
  if (row.status !== "REQUESTED" || mode.mode === "never") return read(tx, dispatchId);
  if (mode.mode === "confirm" && Number(row.waited_ms) < mode.confirmAfterMs) return read(tx, dispatchId);
  const units =
    mode.mode === "unavailable"
      ? []
      : await tx.query<{ unit_id: string }>(
          `SELECT unit_id FROM ${SCHEMA}.unit WHERE status = 'available' ORDER BY available_since, unit_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          [row.units_requested],
        );
  if (units.length === 0) {
    await tx.query(`UPDATE ${SCHEMA}.dispatch SET status = 'NO_UNITS' WHERE dispatch_id = $1`, [dispatchId]);
    return read(tx, dispatchId);
  }
  const ids = units.map((u) => u.unit_id);
  await tx.query(`UPDATE ${SCHEMA}.unit SET status = 'dispatched', dispatch_id = $2 WHERE unit_id = ANY($1::text[])`, [ids, dispatchId]);
  await tx.query(`UPDATE ${SCHEMA}.dispatch SET status = 'CONFIRMED', unit_ids = $2, confirmed_at = now() WHERE dispatch_id = $1`, [
    dispatchId,
    JSON.stringify(ids),
  ]);
  return read(tx, dispatchId);
}

export function requestDispatch(db: Db, key: string, r: DispatchRequest, mode: Dispatching): Promise<Answer> {
  return idempotent(db, key, "dispatch", r, async (tx) => {
    const [place] = await tx.query<{ status: string }>(`SELECT status FROM ${SCHEMA}.key_place WHERE place_id = $1`, [r.placeId]);
    if (!place) throw problem(422, "UNKNOWN_PLACE", `no key place ${r.placeId}`, "/placeId");
    const dispatchId = `DP-${randomBytes(6).toString("hex").toUpperCase()}`;
    await tx.query(`INSERT INTO ${SCHEMA}.dispatch (dispatch_id, reference, place_id, units_requested, reason) VALUES ($1, $2, $3, $4, $5)`, [
      dispatchId,
      r.reference,
      r.placeId,
      r.units,
      r.reason ?? null,
    ]);
    return { status: 201, body: await decide(tx, dispatchId, mode) };
  });
}

export function getDispatch(db: Db, dispatchId: string, mode: Dispatching): Promise<Dispatch> {
  return db.transaction((tx) => decide(tx, dispatchId, mode));
}

/** Releases the dispatch's units (a request not yet confirmed is withdrawn); releasing a released one changes nothing. */
export function releaseDispatch(db: Db, key: string, dispatchId: string, reason: string | undefined): Promise<Answer> {
  return idempotent(db, key, "release", { dispatchId, reason }, async (tx) => {
    const [row] = await tx.query<{ status: DispatchStatus }>(`SELECT status FROM ${SCHEMA}.dispatch WHERE dispatch_id = $1 FOR UPDATE`, [dispatchId]);
    if (!row) throw problem(404, "NOT_FOUND", `no dispatch ${dispatchId}`);
    if (row.status !== "RELEASED") {
      await tx.query(`UPDATE ${SCHEMA}.unit SET status = 'available', dispatch_id = NULL, available_since = now() WHERE dispatch_id = $1`, [dispatchId]);
      await tx.query(`UPDATE ${SCHEMA}.dispatch SET status = 'RELEASED', released_at = now(), release_reason = $2 WHERE dispatch_id = $1`, [
        dispatchId,
        reason ?? null,
      ]);
    }
    return { status: 200, body: await read(tx, dispatchId) };
  });
}

export async function listUnits(db: Queryable): Promise<{ units: { unitId: string; callSign: string; status: string; dispatchId?: string }[] }> {
  const rows = await db.query<{ unit: { unitId: string; callSign: string; status: string; dispatchId?: string } }>(
    `SELECT json_strip_nulls(json_build_object('unitId', unit_id, 'callSign', call_sign, 'status', status, 'dispatchId', dispatch_id)) AS unit
       FROM ${SCHEMA}.unit ORDER BY unit_id`,
  );
  return { units: rows.map((r) => r.unit) };
}
