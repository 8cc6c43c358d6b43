/**
 * Between the hub's contract and the emergency services system: what an alert says about
 * its incident, which incident it belongs to, the hub's own all-clear alert, and the
 * system's answers (receipts, dispatches, errors), each checked against its format first.
 */
import type { AgencyAnswer, AgencyClient } from "../../platform/agency-client";
import { HubError } from "../../platform/errors";
import { nameBasedUuid } from "../../platform/ids";
import type { components } from "../../contracts/generated/types";
import { isCadDispatch, isCadError, isCadReceipt, type CadReceipt } from "./agency-format";
import type { CapAlert } from "./cap";

type Schemas = components["schemas"];
export type Incident = Schemas["Incident"];
export type IncidentState = Pick<Incident, "event" | "category" | "severity" | "urgency" | "certainty" | "headline" | "areaDesc" | "address">;

/** The CAP sender of alerts the hub itself issues (the all-clear). */
export const HUB_CAP_SENDER = "linkage-hub";

export const incidentIdOf = (sender: string, firstIdentifier: string) => nameBasedUuid(`incident:${sender}:${firstIdentifier}`);

/** The alert's own identity, and the one of the earliest alert it references (its incident's first, as far as it knows). */
export function firstAlertOf(alert: CapAlert): { sender: string; identifier: string } {
  const refs = alert.references ?? [];
  if (!refs.length) return { sender: alert.sender, identifier: alert.identifier };
  const { sender, identifier } = [...refs].sort((a, b) => Date.parse(a.sent) - Date.parse(b.sent))[0]!;
  return { sender, identifier };
}

/** How an alert ends its incident, if it does: a Cancel cancels it, an AllClear response clears it. */
export function closingStatus(alert: CapAlert): "CANCELLED" | "CLEARED" | undefined {
  if (alert.msgType === "Cancel") return "CANCELLED";
  if (alert.info.some((i) => i.responseType?.includes("AllClear"))) return "CLEARED";
  return undefined;
}

const ADDRESS_FIELDS = { province: 50, city: 50, district: 50, street: 200, postcode: 6 } as const;

/** The address an alert carries in `address.*` parameters or geocodes, the fields that fit the contract. */
export function addressOf(alert: CapAlert): Schemas["IncidentAddress"] | undefined {
  const address: Record<string, string> = {};
  for (const info of alert.info) {
    const pairs = [...(info.parameter ?? []), ...(info.area ?? []).flatMap((a) => a.geocode ?? [])];
    for (const { valueName, value } of pairs) {
      const field = /^address\.(\w+)$/.exec(valueName)?.[1] as keyof typeof ADDRESS_FIELDS | undefined;
      if (!field || !(field in ADDRESS_FIELDS) || address[field] !== undefined || value.length > ADDRESS_FIELDS[field]) continue;
      if (field === "postcode" && !/^[0-9]{6}$/.test(value)) continue;
      address[field] = value;
    }
  }
  return Object.keys(address).length ? address : undefined;
}

/** What the incident is, by the alert's first `info` block. */
export function stateOf(alert: CapAlert): IncidentState {
  const info = alert.info[0]!;
  const state: IncidentState = {
    event: info.event,
    category: info.category[0]!,
    severity: info.severity,
    urgency: info.urgency,
    certainty: info.certainty,
  };
  if (info.headline) state.headline = info.headline;
  const areaDesc = alert.info.flatMap((i) => i.area ?? [])[0]?.areaDesc;
  if (areaDesc) state.areaDesc = areaDesc;
  const address = addressOf(alert);
  if (address) state.address = address;
  return state;
}

/** CAP date-time of now: seconds and an explicit offset. */
export const capNow = (now = new Date()) => now.toISOString().replace(/\.\d{3}Z$/, "+00:00");

/** The hub's all-clear for an incident: a CAP Update with responseType AllClear, referencing every alert seen. */
export function allClearAlert(incident: Incident, references: { sender: string; identifier: string; sent: string }[], note?: string): CapAlert {
  const info: CapAlert["info"][number] = {
    category: [incident.category],
    event: incident.event,
    responseType: ["AllClear"],
    urgency: "Past",
    severity: "Minor",
    certainty: "Observed",
    senderName: "Linkage Hub",
    headline: `All clear: ${incident.event}`.slice(0, 200).trimEnd(),
  };
  if (note) info.description = note;
  const geocode = Object.entries(incident.address ?? {}).map(([k, v]) => ({ valueName: `address.${k}`, value: v }));
  if (incident.areaDesc) info.area = [geocode.length ? { areaDesc: incident.areaDesc, geocode } : { areaDesc: incident.areaDesc }];
  return {
    identifier: `hub-allclear-${incident.id}`,
    sender: HUB_CAP_SENDER,
    sent: capNow(),
    status: "Actual",
    msgType: "Update",
    scope: "Public",
    references: references.slice(-50),
    info: [info],
  };
}

export function fromReceipt(client: AgencyClient, answer: AgencyAnswer, alert: CapAlert): CadReceipt {
  if ((answer.status === 200 || answer.status === 201) && isCadReceipt(answer.body)) {
    if (answer.body.sender !== alert.sender || answer.body.alertIdentifier !== alert.identifier) throw client.badAnswer("the receipt is for another alert");
    return answer.body;
  }
  throw unexpected(client, answer);
}

/** Business refusals the system may give for a dispatch, and what they mean to a caller. */
const DISPATCH_REFUSALS: Record<string, string> = {
  INCIDENT_CLOSED: "the incident is closed",
  NO_UNITS_AVAILABLE: "not enough units of a requested type",
  INCIDENT_NOT_FOUND: "the emergency services system does not know the incident",
};

export function fromDispatch(client: AgencyClient, answer: AgencyAnswer, incidentId: string, incidentNo: string): Schemas["Dispatch"] {
  if ((answer.status === 200 || answer.status === 201) && isCadDispatch(answer.body)) {
    const { dispatchId, units, dispatchedAt } = answer.body;
    if (answer.body.incidentNo !== incidentNo) throw client.badAnswer("the dispatch is for another incident");
    return { dispatchId, incidentId, units: units.map(({ unitId, type }) => ({ unitId, type })), dispatchedAt };
  }
  if (isCadError(answer.body) && DISPATCH_REFUSALS[answer.body.errorCode])
    throw new HubError("HUB_ERR_AGENCY_REFUSED", `${client.agency} refused: ${DISPATCH_REFUSALS[answer.body.errorCode]}`, {
      agency: client.agency,
      reason: answer.body.errorCode,
    });
  throw unexpected(client, answer);
}

function unexpected(client: AgencyClient, answer: AgencyAnswer): HubError {
  const code = isCadError(answer.body) ? ` (${answer.body.errorCode})` : "";
  return client.badAnswer(`unexpected ${answer.status} answer${code}`);
}
