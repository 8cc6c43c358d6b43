/**
 * Flight reports: checked (hours, area) before anything is asked, answered at once against the
 * airspace and the agencies, recorded with their event in one transaction (the event carries the
 * report id, never the operator); the police's view of accepted flights near a key place; and
 * the withdrawal of accepted flights an event area opened across.
 */
import { randomBytes } from "node:crypto";
import type { components } from "../contracts/generated/types";
import type { Db, Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import { createEvent } from "../platform/events/envelope";
import { enqueue } from "../platform/events/outbox";
import { heldEventArea, type Airspace, type EventArea } from "./airspace";
import type { Agencies } from "./agencies";
import { flightArea, grown, intersects, shapeOf, type AreaProblem } from "./geometry";
import { answers, answerSeconds, withdrawals } from "./metrics";

type Schemas = components["schemas"];
type Request = Schemas["FlightReportRequest"];
type Report = Schemas["FlightReport"];

/** The longest flight a report covers. */
export const MAX_FLIGHT_MS = 24 * 3600 * 1000;
/** A start this much before now still counts as now (clocks differ). */
const START_GRACE_MS = 60_000;

const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
const COLUMNS = `report_id AS "reportId", outcome, drone_registration AS "droneRegistration", area, max_altitude_m AS "maxAltitudeM",
  ${iso("starts_at")} AS start, ${iso("ends_at")} AS "end", conflicts, ineligible, withdrawn_because AS "withdrawnBecause",
  ${iso("answered_at")} AS "answeredAt", ${iso("withdrawn_at")} AS "withdrawnAt"`;

type Answer = Pick<Report, "outcome" | "conflicts" | "ineligible">;

/** The report and its event, in `tx`. */
async function recordReport(
  tx: Queryable,
  req: Request,
  polygon: Schemas["GeoPolygon"],
  [west, south, east, north]: number[],
  { outcome, conflicts, ineligible }: Answer,
  caller: { partnerId?: string; requestId?: string },
): Promise<Report> {
  const reportId = `FR-${randomBytes(8).toString("hex").toUpperCase()}`;
  const [row] = await tx.query<Report>(
    `INSERT INTO hub.flight_report (report_id, partner_id, drone_registration, area, west, south, east, north,
       max_altitude_m, starts_at, ends_at, outcome, conflicts, ineligible)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ${COLUMNS}`,
    [
      reportId,
      caller.partnerId ?? null,
      req.droneRegistration,
      JSON.stringify(polygon),
      west,
      south,
      east,
      north,
      req.maxAltitudeM,
      req.start,
      req.end,
      outcome,
      JSON.stringify(conflicts),
      JSON.stringify(ineligible),
    ],
  );
  const data = {
    reportId,
    outcome,
    droneRegistration: req.droneRegistration,
    start: row!.start,
    end: row!.end,
    conflicts,
    ineligible: ineligible.map((i) => i.reason),
  };
  const type = outcome === "ACCEPTED" ? "flights.report.accepted" : "flights.report.refused";
  await enqueue(
    tx,
    createEvent(type, data, { source: "flights", subject: reportId, id: `${type}:${reportId}`, requestId: caller.requestId, partnerId: caller.partnerId }),
  );
  return shown(row!);
}

/** A row as the contract shows it (no nulls). */
const shown = (row: Report): Report => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== null)) as Report;

/** What is wrong with the hours and the area, each naming its field: a 400 when the GeoJSON is invalid, else a 422. */
export function requestProblems(req: Request, now: number): { problems: AreaProblem[]; polygon?: Schemas["GeoPolygon"] } {
  const problems: AreaProblem[] = [];
  const start = Date.parse(req.start);
  const end = Date.parse(req.end);
  if (start < now - START_GRACE_MS) problems.push({ status: 422, pointer: "/start", detail: "must not be in the past" });
  if (!(end > start)) problems.push({ status: 422, pointer: "/end", detail: "must be after start" });
  else if (end - start > MAX_FLIGHT_MS) problems.push({ status: 422, pointer: "/end", detail: "must be at most 24 hours after start" });
  const area = flightArea(req.area);
  if ("problems" in area) return { problems: [...area.problems, ...problems] };
  return { problems, polygon: area.polygon };
}

function refuse(problems: AreaProblem[]): never {
  const invalid = problems.some((p) => p.status === 400);
  const errors = problems.filter((p) => !invalid || p.status === 400).map((p) => ({ in: "body" as const, pointer: p.pointer, detail: p.detail }));
  throw invalid
    ? new HubError("HUB_ERR_REQUEST_INVALID", "The flight's area is not valid GeoJSON", { errors })
    : new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", "The flight is not one a report covers", { errors });
}

export async function submitReport(
  deps: { db: Db; airspace: Airspace; agencies: Agencies; kick: () => void },
  req: Request,
  caller: { partnerId?: string; requestId?: string },
): Promise<Report> {
  const began = performance.now();
  const { problems, polygon } = requestProblems(req, Date.now());
  if (problems.length || !polygon) refuse(problems);
  const start = Date.parse(req.start);
  const end = Date.parse(req.end);
  const shape = shapeOf(polygon);
  const conflicts = deps.airspace.conflicts(shape, start, end);
  const ineligible = await deps.agencies.ineligibility(req.operator, req.droneRegistration, caller.requestId);
  const outcome: Report["outcome"] = conflicts.length || ineligible.length ? "REFUSED" : "ACCEPTED";
  const report = await deps.db.transaction((tx) => recordReport(tx, req, polygon, shape.box, { outcome, conflicts, ineligible }, caller));
  deps.kick();
  answers.inc({ outcome });
  answerSeconds.observe({ outcome }, (performance.now() - began) / 1000);
  return report;
}

const cursorOf = (reportId: string) => Buffer.from(reportId).toString("base64url");
const reportOfCursor = (cursor: string) => Buffer.from(cursor, "base64url").toString();
/** Metres to degrees of latitude, and of longitude at `lat` (for the box a radius grows by; generous, the exact check follows). */
const degrees = (metres: number, lat: number) => ({
  lat: metres / 111_000 + 1e-6,
  lon: metres / (111_000 * Math.max(Math.cos((lat * Math.PI) / 180), 0.01)) + 1e-6,
});

/** Accepted flights whose area comes within `radius` metres of the key place's area while they fly at `at`. */
export async function listNear(
  db: Queryable,
  agencies: Agencies,
  params: Schemas["FlightReportListParams"],
  requestId?: string,
): Promise<Schemas["FlightReportPage"]> {
  const { near, radius = 1000, at, limit = 20, cursor } = params;
  const after = cursor ? reportOfCursor(cursor) : "";
  if (cursor && !/^FR-[0-9A-F]{16}$/.test(after))
    throw new HubError("HUB_ERR_PAGE_NOT_FOUND", "No such page: the cursor is not the `next` of a page of this list");
  const place = await agencies.keyPlace(near, requestId);
  if (!place) throw new HubError("HUB_ERR_KEY_PLACE_NOT_FOUND", `No key place ${near} at public security`);
  const around = grown(shapeOf(place.area), radius);
  const d = degrees(radius, (around.box[1] + around.box[3]) / 2);
  const [west, south, east, north] = [around.box[0] - d.lon, around.box[1] - d.lat, around.box[2] + d.lon, around.box[3] + d.lat];
  const items: Report[] = [];
  let from = after;
  // Candidates by hours and box, a batch at a time, each checked exactly.
  for (;;) {
    const rows = await db.query<Report>(
      `SELECT ${COLUMNS} FROM hub.flight_report
        WHERE outcome = 'ACCEPTED' AND starts_at <= $1 AND $1 < ends_at AND report_id > $2
          AND west <= $5 AND east >= $3 AND south <= $6 AND north >= $4
        ORDER BY report_id LIMIT 200`,
      [at, from, west, south, east, north],
    );
    for (const row of rows) {
      if (!intersects(shapeOf(row.area), around)) continue;
      if (items.length === limit) return { items, next: cursorOf(items[items.length - 1]!.reportId) };
      items.push(shown(row));
    }
    if (rows.length < 200) return { items, next: null };
    from = rows[rows.length - 1]!.reportId;
  }
}

/**
 * An event area opened: the accepted flights it crosses in its hours are withdrawn, each with
 * `flights.report.withdrawn` (to its partner's webhook), in the event's transaction `tx`.
 */
export async function withdrawCrossed(tx: Queryable, area: EventArea): Promise<string[]> {
  const held = heldEventArea(area);
  const [west, south, east, north] = held.shape.box;
  const rows = await tx.query<Report & { partnerId: string | null }>(
    `SELECT ${COLUMNS}, partner_id AS "partnerId" FROM hub.flight_report
      WHERE outcome = 'ACCEPTED' AND starts_at < $1 AND $2 < ends_at AND west <= $5 AND east >= $3 AND south <= $6 AND north >= $4
      ORDER BY report_id FOR UPDATE`,
    [area.closesAt, area.opensAt, west, south, east, north],
  );
  const withdrawn: string[] = [];
  for (const row of rows) {
    if (!intersects(shapeOf(row.area), held.shape)) continue;
    await tx.query(`UPDATE hub.flight_report SET outcome = 'WITHDRAWN', withdrawn_because = $2, withdrawn_at = now() WHERE report_id = $1`, [
      row.reportId,
      JSON.stringify(held.conflict),
    ]);
    const data = {
      reportId: row.reportId,
      outcome: "WITHDRAWN",
      droneRegistration: row.droneRegistration,
      start: row.start,
      end: row.end,
      withdrawnBecause: held.conflict,
    };
    const type = "flights.report.withdrawn";
    await enqueue(tx, createEvent(type, data, { source: "flights", subject: row.reportId, id: `${type}:${row.reportId}`, partnerId: row.partnerId }));
    withdrawals.inc();
    withdrawn.push(row.reportId);
  }
  return withdrawn;
}
