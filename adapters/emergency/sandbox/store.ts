/**
 * What the emergency services system does with its records: the seeded fleet, alerts taken
 * into incidents, units dispatched, every change under its idempotency key. Everything lives
 * in schema sandbox_emergency; reading requests is format.ts's, HTTP routes.ts's.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Db, Queryable } from "../../../platform/db";
import type { Answer } from "../../../sandbox-kit/errors";
import { idempotency } from "../../../sandbox-kit/idempotency";
import { AgencyError, EMERGENCY, type CadAlert, type UnitType } from "./format";

/** The CAD's receipt for an alert (the same receipt again when it had taken the alert already). */
interface Receipt {
  receiptId: string;
  incidentNo: string;
  sender: string;
  alertIdentifier: string;
  incidentStatus: "ACTIVE" | "CLOSED";
  receivedAt: string;
}

/** Units sent to an incident. */
interface Dispatch {
  dispatchId: string;
  incidentNo: string;
  units: { unitId: string; type: UnitType }[];
  dispatchedAt: string;
}

export const SCHEMA = "sandbox_emergency";

/** The seeded fleet: the same units on every fresh database. */
export const FLEET: Record<UnitType, { prefix: string; count: number }> = {
  FIRE_ENGINE: { prefix: "FE", count: 12 },
  AMBULANCE: { prefix: "AMB", count: 10 },
  POLICE: { prefix: "POL", count: 8 },
  HAZMAT: { prefix: "HZ", count: 4 },
};

/** An incident's number, from its first alert: an incident opened again by a retry gets the same number. */
export const incidentNoOf = (sender: string, firstIdentifier: string) =>
  "INC-" + createHash("sha256").update(`${sender},${firstIdentifier}`).digest("hex").slice(0, 12).toUpperCase();

/** Seeds the fleet when there are no units; returns how many were added. */
export async function seedIfEmpty(db: Db): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:seed`]);
    const [row] = await tx.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${SCHEMA}.unit) AS any`);
    if (row?.any) return 0;
    const units = Object.entries(FLEET).flatMap(([type, f]) =>
      Array.from({ length: f.count }, (_, i) => ({ unitId: `${f.prefix}-${String(i + 1).padStart(2, "0")}`, type })),
    );
    await tx.query(`INSERT INTO ${SCHEMA}.unit (unit_id, type) SELECT "unitId", type FROM jsonb_to_recordset($1::jsonb) AS t("unitId" text, type text)`, [
      JSON.stringify(units),
    ]);
    return units.length;
  });
}

/** Runs a change once per idempotency key (sandbox-kit/idempotency.ts). */
const once = idempotency(SCHEMA, EMERGENCY);

const RECEIPT_COLUMNS = `a.receipt_id AS "receiptId", a.incident_no AS "incidentNo", a.sender, a.identifier AS "alertIdentifier",
  CASE i.status WHEN 'CLOSED' THEN 'CLOSED' ELSE 'ACTIVE' END AS "incidentStatus",
  to_char(a.received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "receivedAt"`;

async function receipt(q: Queryable, sender: string, identifier: string): Promise<Receipt | undefined> {
  const [row] = await q.query<Receipt>(
    `SELECT ${RECEIPT_COLUMNS} FROM ${SCHEMA}.alert a JOIN ${SCHEMA}.incident i USING (incident_no) WHERE a.sender = $1 AND a.identifier = $2`,
    [sender, identifier],
  );
  return row;
}

/** The incident an alert belongs to: the one its references name, else the one of its first alert, opened if need be. */
async function incidentOf(tx: Queryable, alert: CadAlert): Promise<string> {
  const refs = alert.references;
  if (refs.length) {
    const [hit] = await tx.query<{ incident_no: string }>(
      `SELECT a.incident_no FROM ${SCHEMA}.alert a JOIN jsonb_to_recordset($1::jsonb) AS r(sender text, identifier text) ON a.sender = r.sender AND a.identifier = r.identifier LIMIT 1`,
      [JSON.stringify(refs)],
    );
    if (hit) return hit.incident_no;
  }
  const first = refs.length ? [...refs].sort((a, b) => Date.parse(a.sent) - Date.parse(b.sent))[0]! : alert;
  const incidentNo = incidentNoOf(first.sender, first.identifier);
  await tx.query(`INSERT INTO ${SCHEMA}.incident (incident_no, sender, first_identifier) VALUES ($1, $2, $3) ON CONFLICT (incident_no) DO NOTHING`, [
    incidentNo,
    first.sender,
    first.identifier,
  ]);
  return incidentNo;
}

/** Takes a CAP alert (`xml`, read as `alert`) into its incident; a Cancel or an all-clear closes the incident. */
export async function receiveAlert(db: Db, key: string, alert: CadAlert, xml: string): Promise<Answer> {
  // CAP identifiers are unique per sender: the same sender and identifier are the same alert.
  return once(db, key, "alert.receive", { sender: alert.sender, identifier: alert.identifier, msgType: alert.msgType }, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`${SCHEMA}:alert:${alert.sender},${alert.identifier}`]);
    const known = await receipt(tx, alert.sender, alert.identifier);
    if (known) return { status: 200, body: known };

    const incidentNo = await incidentOf(tx, alert);
    const closes = alert.msgType === "Cancel" || alert.responseTypes.includes("AllClear");
    if (closes) await tx.query(`UPDATE ${SCHEMA}.incident SET status = 'CLOSED' WHERE incident_no = $1`, [incidentNo]);
    await tx.query(`INSERT INTO ${SCHEMA}.alert (sender, identifier, incident_no, msg_type, sent, xml, receipt_id) VALUES ($1, $2, $3, $4, $5, $6, $7)`, [
      alert.sender,
      alert.identifier,
      incidentNo,
      alert.msgType,
      alert.sent,
      xml,
      "RCPT-" + randomBytes(8).toString("hex").toUpperCase(),
    ]);
    return { status: 201, body: (await receipt(tx, alert.sender, alert.identifier))! };
  });
}

export async function findIncident(db: Db, incidentNo: string) {
  const [incident] = await db.query<{ incidentNo: string; sender: string; firstIdentifier: string; status: string }>(
    `SELECT incident_no AS "incidentNo", sender, first_identifier AS "firstIdentifier", status FROM ${SCHEMA}.incident WHERE incident_no = $1`,
    [incidentNo],
  );
  if (!incident) return undefined;
  const alerts = await db.query(`SELECT identifier, msg_type AS "msgType", sent FROM ${SCHEMA}.alert WHERE incident_no = $1 ORDER BY received_at, identifier`, [
    incidentNo,
  ]);
  const dispatches = await db.query(`SELECT dispatch_id AS "dispatchId", units FROM ${SCHEMA}.dispatch WHERE incident_no = $1 ORDER BY dispatched_at`, [
    incidentNo,
  ]);
  return { ...incident, alerts, dispatches };
}

/** Sends the longest-idle units of each requested type to an active incident. */
export async function dispatchUnits(db: Db, key: string, incidentNo: string, request: { type: UnitType; count: number }[]): Promise<Answer> {
  return once(db, key, "incident.dispatch", { incidentNo, request }, async (tx) => {
    const [incident] = await tx.query<{ status: string }>(`SELECT status FROM ${SCHEMA}.incident WHERE incident_no = $1 FOR UPDATE`, [incidentNo]);
    if (!incident) throw new AgencyError(404, "INCIDENT_NOT_FOUND", "no incident with this number");
    if (incident.status === "CLOSED") throw new AgencyError(409, "INCIDENT_CLOSED", "the incident is closed; nothing is dispatched to it");
    const units: Dispatch["units"] = [];
    for (const { type, count } of request) {
      const rows = await tx.query<{ unit_id: string }>(
        `SELECT unit_id FROM ${SCHEMA}.unit WHERE type = $1 ORDER BY last_dispatched_at NULLS FIRST, unit_id LIMIT $2 FOR UPDATE`,
        [type, count],
      );
      if (rows.length < count) throw new AgencyError(409, "NO_UNITS_AVAILABLE", `only ${rows.length} units of type ${type}`);
      units.push(...rows.map((r) => ({ unitId: r.unit_id, type })));
    }
    const dispatchedAt = new Date(Math.floor(Date.now() / 1000) * 1000).toISOString();
    await tx.query(`UPDATE ${SCHEMA}.unit SET last_dispatched_at = $2 WHERE unit_id = ANY($1::text[])`, [units.map((u) => u.unitId), dispatchedAt]);
    const record: Dispatch = { dispatchId: "DSP-" + randomBytes(8).toString("hex").toUpperCase(), incidentNo, units, dispatchedAt };
    await tx.query(`INSERT INTO ${SCHEMA}.dispatch (dispatch_id, incident_no, units, dispatched_at) VALUES ($1, $2, $3, $4)`, [
      record.dispatchId,
      incidentNo,
      JSON.stringify(units),
      dispatchedAt,
    ]);
    return { status: 201, body: record };
  });
}
