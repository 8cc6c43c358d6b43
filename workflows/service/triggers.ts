/**
 * Linkages that events start or steer: a household's address change starts a resident
 * relocation and an address-change notification (both in the event's one handling; the event
 * names the change only, and each linkage reads it, audited, for its own purpose); an
 * incident reported with a supply at risk starts the emergency-to-utilities linkage, and the
 * incident's later alerts reach it as signals. Each event is handled once,
 * in the consumer's transaction (platform/events/consumer.ts).
 */
import { WorkflowNotFoundError, type Client } from "@temporalio/client";
import type { components } from "../../contracts/generated/types";
import type { Queryable } from "../../platform/db";
import type { CloudEvent } from "../../platform/events/envelope";
import type { Config } from "../../platform/config";
import { servicesAtRisk } from "../linkages/hazards";
import type { IncidentInput } from "../linkages/incident-utilities";
import type { RelocationInput } from "../linkages/resident-relocation";
import type { AddressChangeNotificationInput } from "../linkages/address-change-notification";
import { incidentAlert } from "../linkages/signals";
import { incidentKeyOf, workflowIdOf } from "../workflow-ids";
import { launch } from "./launch";
import { recordLinkage, type Caller } from "./store";

type Schemas = components["schemas"];

/** The event types the linkages consumer group takes. */
export const TRIGGERS = ["emergency.incident.reported", "emergency.incident.updated", "emergency.incident.cleared", "civil-registry.household.address-changed"];

interface Deps {
  client: Client;
  config: Config;
}

const callerOfEvent = (event: CloudEvent): Caller => ({ requestId: event.requestid, partnerId: event.partnerid });

/** Starts the linkage an event calls for, or passes the event to the running one. */
export function linkageTriggers(deps: Deps) {
  return (event: CloudEvent, tx: Queryable): Promise<void> => {
    if (event.type === "civil-registry.household.address-changed") return relocate(deps, event, tx);
    if (event.type === "emergency.incident.reported") return protectSupplies(deps, event, tx);
    return passAlertOn(deps.client, event.data as Schemas["IncidentEvent"]);
  };
}

/**
 * The household's move starts the relocation and the notification, each with the change's
 * number only: no personal data passes here (each linkage reads the change, audited).
 */
async function relocate({ client, config }: Deps, event: CloudEvent, tx: Queryable): Promise<void> {
  const { changeNo, effectiveAt } = event.data as Schemas["HouseholdAddressChangedEvent"];
  const change = { changeNo, effectiveAt };
  const caller = callerOfEvent(event);
  const row = await recordLinkage(tx, "resident-relocation", changeNo, caller);
  await launch(client, config, row, "residentRelocation", change satisfies Omit<RelocationInput, "linkageId">, event.requestid);
  // The schedule is fixed at the start: a later change of the setting leaves running linkages as they are.
  const notification = await recordLinkage(tx, "address-change-notification", changeNo, caller);
  const input: Omit<AddressChangeNotificationInput, "linkageId"> = { ...change, retryScheduleMs: config.notifyRetryMs };
  await launch(client, config, notification, "addressChangeNotification", input, event.requestid);
}

async function protectSupplies({ client, config }: Deps, event: CloudEvent, tx: Queryable): Promise<void> {
  const incident = event.data as Schemas["IncidentEvent"];
  if (servicesAtRisk(incident).length === 0) return;
  const row = await recordLinkage(tx, "incident-utilities", incidentKeyOf(incident), callerOfEvent(event));
  const { incidentId, sender, firstIdentifier, event: what, category, address } = incident;
  const input: Omit<IncidentInput, "linkageId"> = {
    incidentId,
    sender,
    firstIdentifier,
    event: what,
    category,
    suspensionDeadlineMs: config.suspensionDeadlineMs,
    ...(address ? { address } : {}),
  };
  await launch(client, config, row, "incidentUtilities", input, event.requestid);
}

/** An update, cancel or all-clear alert reaches the incident's linkage, if it has one running. */
async function passAlertOn(client: Client, incident: Schemas["IncidentEvent"]): Promise<void> {
  try {
    await client.workflow.getHandle(workflowIdOf("incident-utilities", incidentKeyOf(incident))).signal(incidentAlert, incident);
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
}
