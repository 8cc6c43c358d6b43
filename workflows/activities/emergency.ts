/**
 * Emergency services activities: the hub's own CAP 1.2 alerts, sent through the emergency
 * adapter's actions as any hub caller would (`emergency.incident.report` with the alert in the
 * contract's JSON form, `emergency.incident.allClear` for the CAP Update that carries the
 * all-clear). The alert's identity is derived from the linkage's case, so a retried activity is
 * the same alert, which the adapter takes once.
 */
import { createHash } from "node:crypto";
import type { ServiceBroker } from "moleculer";
import type { components } from "../../contracts/generated/types";
import { callAction } from "./call-action";

type Schemas = components["schemas"];

/** The CAP sender of the alerts the hub itself issues (the emergency adapter's all-clear is sent as it too). */
export const HUB_CAP_SENDER = "linkage-hub";

export interface CrowdAlert {
  placeId: string;
  /** The start of the place's critical episode (the `at` of the event that made it critical). */
  episodeStart: string;
  count: number;
  capacity: number;
}

/** CAP date-time: seconds and an explicit offset, no fractions. */
const capTime = (at: Date) => at.toISOString().replace(/\.\d{3}Z$/, "+00:00");

/** One CAP identifier per critical episode of a place: readable when it fits CAP's 100 characters, else a digest. */
export function crowdAlertIdentifier(placeId: string, episodeStart: string): string {
  const readable = `hub-crowd-${placeId}-${Date.parse(episodeStart)}`;
  return readable.length <= 100 ? readable : `hub-crowd-${createHash("sha256").update(`${placeId}:${episodeStart}`).digest("hex").slice(0, 40)}`;
}

export function emergencyActivities(broker: ServiceBroker) {
  return {
    /** Alerts the emergency services to a key place over capacity (a CAP `Alert`); answers the incident it opened. */
    async raiseCrowdAlert(alert: CrowdAlert): Promise<{ incidentId: string }> {
      const { placeId, episodeStart, count, capacity } = alert;
      const cap: Schemas["CapAlert"] = {
        identifier: crowdAlertIdentifier(placeId, episodeStart),
        sender: HUB_CAP_SENDER,
        sent: capTime(new Date()),
        status: "Actual",
        msgType: "Alert",
        scope: "Public",
        info: [
          {
            category: ["Safety"],
            event: "Crowd over capacity",
            responseType: ["Monitor"],
            urgency: "Immediate",
            severity: "Severe",
            certainty: "Observed",
            senderName: "Linkage Hub",
            headline: `Key place ${placeId} over capacity`.slice(0, 200),
            description: `${count} people counted at key place ${placeId}, whose capacity is ${capacity}; police units are requested.`,
            onset: capTime(new Date(episodeStart)),
            parameter: [
              { valueName: "keyPlace.id", value: placeId },
              { valueName: "crowd.count", value: String(count) },
              { valueName: "crowd.capacity", value: String(capacity) },
            ],
            area: [{ areaDesc: `Key place ${placeId}` }],
          },
        ],
      };
      const incident = await callAction<Schemas["Incident"]>(broker, "emergency.incident.report", cap);
      return { incidentId: incident.id };
    },

    /** The all-clear for the incident (a CAP `Update` with responseType `AllClear`, the same alert however often sent). */
    async sendAllClear(params: Schemas["IncidentAllClearParams"]): Promise<void> {
      await callAction<Schemas["Incident"]>(broker, "emergency.incident.allClear", params);
    },
  };
}
