/**
 * The emergency services adapter: incidents arrive as OASIS CAP 1.2 alerts (XML, or the
 * contract's JSON form), are forwarded to the emergency services system as CAP XML and kept
 * by the hub as incidents; dispatch requests and all-clears go to the same system.
 */
import type { Context, ServiceSchema } from "moleculer";
import { contractSchema } from "../../contracts";
import type { components } from "../../contracts/generated/types";
import { ACTION_TIMEOUT_MS, AgencyClient, agencyService } from "../../platform/agency-client";
import { metaOf } from "../../platform/call-meta";
import { HubError } from "../../platform/errors";
import type { HubNode } from "../../platform/hub-node";
import { buildCap, capViolations, CapError, parseCap, type CapAlert } from "./cap";
import { alertReferences, incidentOfAlert, loadIncident, recordAlert } from "./incidents";
import { allClearAlert, fromDispatch, fromReceipt, type Incident } from "./mapping";

type Schemas = components["schemas"];
/** `IncidentReportParams`: the alert as XML text, or in its JSON form. */
type ReportParams = Schemas["CapAlertXml"] | CapAlert;

export function emergencyService(node: HubNode): ServiceSchema {
  const { emergencyUrl, emergencyTimeoutMs, emergencyToken } = node.config;
  const client = new AgencyClient("emergency", emergencyUrl, emergencyTimeoutMs, { token: emergencyToken });
  const callerOf = (ctx: Context) => {
    const meta = metaOf(ctx);
    return { requestId: ctx.requestID, linkageId: meta.linkageId, partnerId: meta.partner };
  };

  async function incident(id: string): Promise<Incident & { agencyIncidentNo: string | null }> {
    const found = await loadIncident(node.db, id);
    if (!found) throw new HubError("HUB_ERR_INCIDENT_NOT_FOUND", `No incident ${id}`);
    return found;
  }
  const publicView = ({ agencyIncidentNo: _internal, ...rest }: Incident & { agencyIncidentNo: string | null }): Incident => rest;

  /**
   * An alert the hub has not taken yet goes to the emergency services system first (its
   * identity as the idempotency key, so a retry is taken once), then into the hub's record.
   */
  async function take(ctx: Context, alert: CapAlert): Promise<Incident> {
    const known = await incidentOfAlert(node.db, alert.sender, alert.identifier);
    if (known) return publicView(await incident(known));
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
    const { incidentId, recorded } = await recordAlert(node.db, alert, receipt.incidentNo, callerOf(ctx));
    if (recorded) node.outbox.kick();
    return publicView(await incident(incidentId));
  }

  return agencyService(client, node.config.agencyProbeMs, {
    name: "emergency",
    actions: {
      "incident.report": {
        timeout: ACTION_TIMEOUT_MS.change,
        params: contractSchema("IncidentReportParams"),
        result: contractSchema("Incident"),
        async handler(ctx: Context<ReportParams>): Promise<Incident> {
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
          return take(ctx, alert);
        },
      },
      "incident.get": {
        timeout: ACTION_TIMEOUT_MS.read,
        params: contractSchema("IncidentRef"),
        result: contractSchema("Incident"),
        async handler(ctx: Context<Schemas["IncidentRef"]>): Promise<Incident> {
          return publicView(await incident(ctx.params.id));
        },
      },
      "incident.dispatch": {
        timeout: ACTION_TIMEOUT_MS.change,
        params: contractSchema("IncidentDispatchParams"),
        result: contractSchema("Dispatch"),
        async handler(ctx: Context<Schemas["IncidentDispatchParams"]>): Promise<Schemas["Dispatch"]> {
          const { incidentId, units, idempotencyKey } = ctx.params;
          const found = await incident(incidentId);
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
        },
      },
      "incident.allClear": {
        timeout: ACTION_TIMEOUT_MS.change,
        params: contractSchema("IncidentAllClearParams"),
        result: contractSchema("Incident"),
        async handler(ctx: Context<Schemas["IncidentAllClearParams"]>): Promise<Incident> {
          const found = publicView(await incident(ctx.params.incidentId));
          // Always the same alert identifier for one incident: a repeated all-clear is the same alert.
          const alert = allClearAlert(found, await alertReferences(node.db, found.id), ctx.params.note);
          return take(ctx, alert);
        },
      },
    },
  });
}
