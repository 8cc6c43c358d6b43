/**
 * Event permit applications as the `linkages` service takes them: checked before anything is
 * recorded (the event's hours, and its venue at the fire service, read through the catalogue
 * for the hub's own linkages subsystem), then recorded with the organiser's contact (kept
 * here, not in the workflow's history nor in events) and `permits.application.received` in one
 * transaction, and started. The same application number again is the same linkage, whatever
 * its body: the first one's, answered without a second check.
 */
import { WorkflowNotFoundError, type Client } from "@temporalio/client";
import type { Context, ServiceBroker } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { metaOf } from "../../platform/call-meta";
import type { Config } from "../../platform/config";
import { HubError } from "../../platform/errors";
import { createEvent } from "../../platform/events/envelope";
import { enqueue } from "../../platform/events/outbox";
import type { HubNode } from "../../platform/hub-node";
import type { EventPermitInput } from "../linkages/event-permit";
import type { Progress } from "../linkages/visibility";
import { linkageIdOf, workflowIdOf } from "../workflow-ids";
import { launch } from "./launch";
import { linkageStatus } from "./status";
import { callerOf, findLinkage, recordLinkage } from "./store";

type Schemas = components["schemas"];
type Application = Schemas["EventPermitRequest"];

/** The longest event a permit covers. */
export const MAX_EVENT_MS = 14 * 24 * 3600 * 1000;

/** The two agencies' services in the catalogue (agencies/<agency>/openapi.yaml, registered at start). */
export const permitServices = (instance: string): EventPermitInput["services"] => ({
  "public-security": `${instance}/GOV/public-security/police/event-security`,
  "fire-safety": `${instance}/GOV/fire-safety/inspections/venue-inspections`,
});

const invalid = (pointer: string, detail: string) => ({ in: "body" as const, pointer, detail });

/** What is wrong with the event's hours (ISO 8601 with offsets, checked by the contract), each naming its field: a 422, the contract being met. */
export function hoursProblems(app: Pick<Application, "start" | "end">, now: number): { in: "body"; pointer: string; detail: string }[] {
  const start = Date.parse(app.start);
  const end = Date.parse(app.end);
  const problems = [];
  if (!(start > now)) problems.push(invalid("/start", "must be in the future"));
  if (!(end > start)) problems.push(invalid("/end", "must be after start"));
  else if (end - start > MAX_EVENT_MS) problems.push(invalid("/end", "must be at most 14 days after start"));
  return problems;
}

interface Venue {
  venueId: string;
  name: string;
  capacity: number;
  area: object;
}

/** The venue as the fire service registers it; an unknown one is a 422 naming `venueId`. */
async function venueOf(broker: ServiceBroker, config: Config, venueId: string, requestId?: string | null): Promise<Venue> {
  // A node that has just started may not know the catalogue's node yet: a few seconds, then a 503, never a 404 of Moleculer's.
  await broker.waitForServices(["catalogue"], 5000).catch(() => {
    throw new HubError("HUB_ERR_SERVICE_UNAVAILABLE", "The catalogue, through which venues are checked, is not reachable now; try again");
  });
  const answer = await broker.call<Schemas["CatalogueCallResult"], Schemas["CatalogueLinkageCallParams"]>(
    "catalogue.linkageCall",
    {
      service: permitServices(config.instance)["fire-safety"],
      client: "hub",
      method: "GET",
      path: `/venues/${encodeURIComponent(venueId)}`,
      headers: { "data-purpose": "event-safety" },
    },
    { requestID: requestId ?? undefined },
  );
  if (answer.status === 404)
    throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", `No venue ${venueId} is registered at the fire service`, {
      errors: [invalid("/venueId", "is not a venue registered at the fire service")],
    });
  if (answer.status >= 400) throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `The fire service answered ${answer.status} for venue ${venueId}`);
  return answer.body as Venue;
}

async function started(client: Client, workflowId: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(workflowId).describe();
    return true;
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

export async function startPermit(node: HubNode, client: Client, ctx: Context<Application>): Promise<Schemas["Linkage"]> {
  const app = ctx.params;
  const caller = callerOf(ctx);
  const known = await findLinkage(node.db, linkageIdOf(workflowIdOf("event-permit", app.applicationNo)), caller).catch(() => undefined);
  // Returned to the caller with the answer (Moleculer merges meta back): its log line and audit record name the linkage.
  // Recorded but never started (a node stopped in between): this request starts it, checked as a first one.
  if (known && (await started(client, known.workflow_id))) {
    metaOf(ctx).linkageId = known.id;
    return linkageStatus(client, known);
  }
  const problems = hoursProblems(app, Date.now());
  if (problems.length) throw new HubError("HUB_ERR_REQUEST_UNPROCESSABLE", "The event's hours are not ones a permit covers", { errors: problems });
  const venue = await venueOf(node.broker, node.config, app.venueId, ctx.requestID);
  const { organiser, ...rest } = app;
  const row = await node.db.transaction(async (tx) => {
    const row = await recordLinkage(tx, "event-permit", app.applicationNo, caller);
    const kept = await tx.query(
      "INSERT INTO hub.permit_application (linkage_id, application_no, organiser) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
      [row.id, app.applicationNo, JSON.stringify(organiser)],
    );
    if (kept.length) {
      const data = { linkageId: row.id, applicationNo: app.applicationNo, venueId: app.venueId, start: app.start, end: app.end };
      const event = createEvent(
        "permits.application.received",
        { ...data, expectedAttendance: app.expectedAttendance },
        { source: "permits", subject: row.id, id: `permit-received:${row.id}`, requestId: caller.requestId, partnerId: caller.partnerId, linkageId: row.id },
      );
      await enqueue(tx, event);
    }
    return row;
  });
  metaOf(ctx).linkageId = row.id;
  node.outbox.kick();
  const input: Omit<EventPermitInput, "linkageId"> = {
    ...rest,
    documentDeadlineMs: node.config.permitDocumentDeadlineMs,
    services: permitServices(node.config.instance),
    venue: { name: venue.name, capacity: venue.capacity, area: venue.area },
  };
  await launch(client, node.config, row, "eventPermit", input, ctx.requestID);
  return linkageStatus(client, row);
}

/** A `document` signal names the document and its reference, and the linkage must be waiting for that document (else 409). */
export function checkDocumentSignal(params: Schemas["LinkageSignalParams"], progress: Progress | undefined): { name: string; reference: string } {
  const { name, reference } = params;
  const missing = [...(name ? [] : ["/name"]), ...(reference ? [] : ["/reference"])];
  if (missing.length)
    throw new HubError("HUB_ERR_REQUEST_INVALID", "A document signal names the document and its reference", {
      errors: missing.map((pointer) => invalid(pointer, "is required with the signal document")),
    });
  const waiting = progress?.permit?.awaitingDocuments ?? [];
  if (!waiting.some((w) => w.name === name))
    throw new HubError(
      "HUB_ERR_LINKAGE_SIGNAL",
      waiting.length
        ? `The application waits for ${waiting.map((w) => `"${w.name}"`).join(" and ")}, not "${name}"`
        : "The application is not waiting for a document",
    );
  return { name: name!, reference: reference! };
}
