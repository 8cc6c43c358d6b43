/**
 * The hub's record of incidents (hub.incident, hub.incident_alert): an alert is recorded
 * once under its CAP identity, joins the incident its references name (or opens one keyed
 * by its first alert), moves the incident's state when it is the latest word, and ends it
 * when it is a Cancel or an all-clear. The events it causes go into the outbox in the same
 * transaction.
 */
import { createHash } from "node:crypto";
import type { Db, Queryable } from "../../platform/db";
import { createEvent, type CloudEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import type { CapAlert } from "./cap";
import { closingStatus, firstAlertOf, incidentIdOf, stateOf, type Incident, type IncidentState } from "./mapping";

interface IncidentRow {
  id: string;
  sender: string;
  first_identifier: string;
  status: Incident["status"];
  state: IncidentState;
  state_sent: string;
  agency_incident_no: string | null;
}

export async function loadIncident(q: Queryable, id: string): Promise<(Incident & { agencyIncidentNo: string | null }) | undefined> {
  const [row] = await q.query<IncidentRow>("SELECT * FROM hub.incident WHERE id = $1", [id]);
  if (!row) return undefined;
  const alerts = await q.query<{ identifier: string; msgType: Incident["alerts"][number]["msgType"]; sent: string }>(
    `SELECT identifier, msg_type AS "msgType", sent FROM hub.incident_alert WHERE incident_id = $1 ORDER BY seq`,
    [id],
  );
  return {
    id: row.id,
    sender: row.sender,
    firstIdentifier: row.first_identifier,
    status: row.status,
    ...row.state,
    updatedAt: row.state_sent,
    alerts,
    agencyIncidentNo: row.agency_incident_no,
  };
}

/** Every alert of an incident as CAP references (`sender,identifier,sent`), oldest first. */
export const alertReferences = (q: Queryable, id: string) =>
  q.query<{ sender: string; identifier: string; sent: string }>("SELECT sender, identifier, sent FROM hub.incident_alert WHERE incident_id = $1 ORDER BY seq", [
    id,
  ]);

/** The incident an alert was already recorded under, if it was. */
export async function incidentOfAlert(q: Queryable, sender: string, identifier: string): Promise<string | undefined> {
  const [row] = await q.query<{ incident_id: string }>("SELECT incident_id FROM hub.incident_alert WHERE sender = $1 AND identifier = $2", [
    sender,
    identifier,
  ]);
  return row?.incident_id;
}

export interface Recorded {
  incidentId: string;
  /** False when the alert was known already: nothing changed. */
  recorded: boolean;
}

/** Records an alert the emergency services system has taken (its incident number `agencyIncidentNo`). */
export async function recordAlert(
  db: Db,
  alert: CapAlert,
  agencyIncidentNo: string,
  ctx: { requestId?: string | null; linkageId?: string; partnerId?: string },
): Promise<Recorded> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`hub:incident-alert:${alert.sender},${alert.identifier}`]);
    const known = await incidentOfAlert(tx, alert.sender, alert.identifier);
    if (known) return { incidentId: known, recorded: false };

    const first = firstAlertOf(alert);
    const incidentId = (await referencedIncident(tx, alert)) ?? incidentIdOf(first.sender, first.identifier);

    const state = stateOf(alert);
    const closing = closingStatus(alert);
    // As an instant for PostgreSQL, which refuses offsets past ±15:59 that CAP's syntax allows.
    const sentAt = new Date(alert.sent).toISOString();
    const informs = alert.msgType !== "Ack" && alert.msgType !== "Error";
    const created = await tx.query(
      `INSERT INTO hub.incident (id, sender, first_identifier, status, state, state_sent, state_sent_at, agency_incident_no)
       VALUES ($1, $2, $3, $4, $5, $6::text, $8::timestamptz, $7) ON CONFLICT (id) DO NOTHING RETURNING id`,
      [incidentId, first.sender, first.identifier, closing ?? "OPEN", JSON.stringify(state), alert.sent, agencyIncidentNo, sentAt],
    );
    let before: IncidentRow | undefined;
    if (created.length === 0) {
      [before] = await tx.query<IncidentRow>("SELECT * FROM hub.incident WHERE id = $1 FOR UPDATE", [incidentId]);
      // The latest word sets the state; an original arriving after its update does not undo it.
      await tx.query(
        `UPDATE hub.incident SET
           state = CASE WHEN $2 AND $4::timestamptz >= state_sent_at THEN $3::jsonb ELSE state END,
           state_sent = CASE WHEN $2 AND $4::timestamptz >= state_sent_at THEN $7::text ELSE state_sent END,
           state_sent_at = CASE WHEN $2 AND $4::timestamptz >= state_sent_at THEN $4::timestamptz ELSE state_sent_at END,
           status = CASE WHEN status = 'OPEN' AND $5::text IS NOT NULL THEN $5::text ELSE status END,
           agency_incident_no = COALESCE(agency_incident_no, $6),
           updated_at = now()
         WHERE id = $1`,
        // The CAP `sent` twice: as given (text, for the contract) and as a timestamp (to compare).
        [incidentId, informs, JSON.stringify(state), sentAt, closing ?? null, agencyIncidentNo, alert.sent],
      );
    }
    await tx.query("INSERT INTO hub.incident_alert (sender, identifier, incident_id, msg_type, sent) VALUES ($1, $2, $3, $4, $5)", [
      alert.sender,
      alert.identifier,
      incidentId,
      alert.msgType,
      alert.sent,
    ]);

    const after = (await loadIncident(tx, incidentId))!;
    for (const type of eventTypes(before, after)) await enqueue(tx, incidentEvent(type, after, alert, ctx));
    return { incidentId, recorded: true };
  });
}

/** The incident a recorded alert among the references belongs to, if any. */
async function referencedIncident(q: Queryable, alert: CapAlert): Promise<string | undefined> {
  if (!alert.references?.length) return undefined;
  const [hit] = await q.query<{ incident_id: string }>(
    `SELECT a.incident_id FROM hub.incident_alert a JOIN jsonb_to_recordset($1::jsonb) AS r(sender text, identifier text)
       ON a.sender = r.sender AND a.identifier = r.identifier ORDER BY a.seq LIMIT 1`,
    [JSON.stringify(alert.references)],
  );
  return hit?.incident_id;
}

/** What recording an alert did to its incident: opened it, ended it, or else updated it. */
function eventTypes(before: IncidentRow | undefined, after: Incident): string[] {
  const types: string[] = [];
  if (!before) types.push("emergency.incident.reported");
  if (after.status !== "OPEN" && before?.status !== after.status) types.push("emergency.incident.cleared");
  else if (before) types.push("emergency.incident.updated");
  return types;
}

function incidentEvent(
  type: string,
  incident: Incident,
  alert: CapAlert,
  ctx: { requestId?: string | null; linkageId?: string; partnerId?: string },
): CloudEvent {
  const data: Record<string, unknown> = {
    incidentId: incident.id,
    sender: incident.sender,
    firstIdentifier: incident.firstIdentifier,
    alertIdentifier: alert.identifier,
    msgType: alert.msgType,
    status: incident.status,
    event: incident.event,
    category: incident.category,
    severity: incident.severity,
  };
  if (incident.address) data.address = incident.address;
  // One alert causes each kind of event once: a retried recording yields the same event id.
  return createEvent(type, data, {
    source: "emergency",
    subject: incident.id,
    id: `${type}:${incident.id}:${createHash("sha256").update(`${alert.sender},${alert.identifier}`).digest("hex").slice(0, 32)}`,
    requestId: ctx.requestId,
    linkageId: ctx.linkageId,
    partnerId: ctx.partnerId,
  });
}
