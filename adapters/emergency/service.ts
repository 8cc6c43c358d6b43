/**
 * The emergency services adapter: incidents arrive as OASIS CAP 1.2 alerts (XML, or the
 * contract's JSON form), are forwarded to the emergency services system as CAP XML and kept
 * by the hub as incidents; dispatch requests and all-clears go to the same system.
 */
import type { Context, ServiceSchema } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { AgencyClient, agencyAction, agencyService } from "../../platform/agency-client";
import { metaOf } from "../../platform/call-meta";
import type { Db } from "../../platform/db";
import { HubError } from "../../platform/errors";
import type { OutboxRelay } from "../../platform/events/outbox";
import type { HubNode } from "../../platform/hub-node";
import { buildCap, capViolations, CapError, parseCap, type CapAlert } from "./cap";
import { alertReferences, incidentOfAlert, loadIncident, recordAlert } from "./incidents";
import { allClearAlert, fromDispatch, fromReceipt, type Incident } from "./mapping";

type Schemas = components["schemas"];
/** `IncidentReportParams`: the alert as XML text, or in its JSON form. */
type ReportParams = Schemas["CapAlertXml"] | CapAlert;

/** What the actions stand on: the emergency services system, and the hub's incident record with the outbox of its events. */
interface Emergency {
  client: AgencyClient;
  db: Db;
  outbox: OutboxRelay;
}

export function emergencyService(node: HubNode): ServiceSchema {
  const { emergencyUrl, emergencyTimeoutMs, emergencyToken } = node.config;
  const client = new AgencyClient("emergency", emergencyUrl, emergencyTimeoutMs, { token: emergencyToken });
  const emergency: Emergency = { client, db: node.db, outbox: node.outbox };
  return agencyService(
    client,
    node.config.agencyProbeMs,
    {
      name: "emergency",
      actions: {
        "incident.report": {
          ...agencyAction("change", "IncidentReportParams", "Incident"),
          handler: (ctx: Context<ReportParams>) => reportIncident(emergency, ctx),
        },
        "incident.get": {
          ...agencyAction("read", "IncidentRef", "Incident"),
          handler: (ctx: Context<Schemas["IncidentRef"]>) => getIncident(emergency, ctx),
        },
        "incident.dispatch": {
          ...agencyAction("change", "IncidentDispatchParams", "Dispatch"),
          handler: (ctx: Context<Schemas["IncidentDispatchParams"]>) => dispatchUnits(emergency, ctx),
        },
        "incident.allClear": {
          ...agencyAction("change", "IncidentAllClearParams", "Incident"),
          handler: (ctx: Context<Schemas["IncidentAllClearParams"]>) => sendAllClear(emergency, ctx),
        },
      },
    },
    node.tally,
  );
}

async function reportIncident(emergency: Emergency, ctx: Context<ReportParams>): Promise<Incident> {
  let alert: CapAlert;
  if ("xml" in ctx.params) {
    try {
      alert = parseCap(ctx.params.xml);
    } catch (err) {
      if (!(err instanceof CapError)) throw err;
      throw new HubError("HUB_ERR_REQUEST_INVALID", err.message, { errors: capViolations(err) });
    }
  } else {
    alert = ctx.params;
  }
  return take(emergency, ctx, alert);
}

async function getIncident(emergency: Emergency, ctx: Context<Schemas["IncidentRef"]>): Promise<Incident> {
  return publicView(await incident(emergency.db, ctx.params.id));
}

async function dispatchUnits(emergency: Emergency, ctx: Context<Schemas["IncidentDispatchParams"]>): Promise<Schemas["Dispatch"]> {
  const { client, db } = emergency;
  const { incidentId, units, idempotencyKey } = ctx.params;
  const found = await incident(db, incidentId);
  if (!found.agencyIncidentNo) throw new HubError("HUB_ERR_INTERNAL", `incident ${incidentId} has no number at the emergency services system`);
  const answer = await client.call({
    method: "POST",
    path: `/cad/v1/incidents/${encodeURIComponent(found.agencyIncidentNo)}/dispatches`,
    body: { units },
    idempotencyKey,
    retry: true,
    ctx,
  });
  return fromDispatch(client, answer, incidentId, found.agencyIncidentNo);
}

async function sendAllClear(emergency: Emergency, ctx: Context<Schemas["IncidentAllClearParams"]>): Promise<Incident> {
  const found = publicView(await incident(emergency.db, ctx.params.incidentId));
  // Always the same alert identifier for one incident: a repeated all-clear is the same alert.
  const alert = allClearAlert(found, await alertReferences(emergency.db, found.id), ctx.params.note);
  return take(emergency, ctx, alert);
}

/**
 * An alert the hub has not taken yet goes to the emergency services system first (its
 * identity as the idempotency key, so a retry is taken once), then into the hub's record.
 */
async function take({ client, db, outbox }: Emergency, ctx: Context, alert: CapAlert): Promise<Incident> {
  const known = await incidentOfAlert(db, alert.sender, alert.identifier);
  if (known) return publicView(await incident(db, known));
  const answer = await client.call({
    method: "POST",
    path: "/cad/v1/alerts",
    body: buildCap(alert),
    contentType: "application/cap+xml",
    idempotencyKey: `${alert.sender},${alert.identifier}`,
    retry: true,
    ctx,
  });
  const receipt = fromReceipt(client, answer, alert);
  const meta = metaOf(ctx);
  const caller = { requestId: ctx.requestID, linkageId: meta.linkageId, partnerId: meta.partner };
  const { incidentId, recorded } = await recordAlert(db, alert, receipt.incidentNo, caller);
  if (recorded) outbox.kick();
  return publicView(await incident(db, incidentId));
}

type KnownIncident = Incident & { agencyIncidentNo: string | null };

async function incident(db: Db, id: string): Promise<KnownIncident> {
  const found = await loadIncident(db, id);
  if (!found) throw new HubError("HUB_ERR_INCIDENT_NOT_FOUND", `No incident ${id}`);
  return found;
}

/** The incident as the contract shows it: the agency's incident number stays inside the hub. */
const publicView = ({ agencyIncidentNo: _internal, ...rest }: KnownIncident): Incident => rest;
