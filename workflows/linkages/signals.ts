/**
 * The signals linkages take, shared by the workflows and the `linkages` service (which
 * sends them for REST callers and for events), with the linkage types that take each.
 */
import { defineSignal } from "@temporalio/workflow";
import type { components } from "../../contracts/generated/types";

type Schemas = components["schemas"];
export type SignalName = Schemas["LinkageSignal"]["signal"];
export type LinkageType = Schemas["LinkageType"];

/** An applicant withdraws consent; a marriage registration stops unless already registered. */
export const consentWithdrawn = defineSignal<[{ reason?: string }]>("consent-withdrawn");
/** The emergency is over: an incident linkage restores what it suspended. */
export const allClear = defineSignal<[{ reason?: string }]>("all-clear");
/** A later CAP alert of the incident (`Update`, `Cancel`, the all-clear alert), as its event says it. */
export const incidentAlert = defineSignal<[Schemas["IncidentEvent"]]>("incident-alert");

/** The document an agency asked an event permit application for (`name` as it named it), sent by the organiser. */
export const documentSent = defineSignal<[{ name: string; reference: string }]>("document");

/** A later level change of the key place a crowd-dispatch linkage is for, as its `crowd.level.changed` event says it. */
export const crowdLevel = defineSignal<[Schemas["CrowdLevelChangedEvent"]]>("crowd-level");

/** The signals a partner may send, by the linkage types that wait for them. */
export const PARTNER_SIGNALS: Partial<Record<LinkageType, SignalName[]>> = {
  "marriage-registration": ["consent-withdrawn"],
  "incident-utilities": ["all-clear"],
  "event-permit": ["document"],
};
