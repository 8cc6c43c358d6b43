/**
 * Linkage metrics: started, ended by outcome, and how long a citizen waited, per linkage
 * type; the completion rate and the waiting time are read off these directly. Every series
 * exists from start-up at zero, for every type the contract names.
 */
import client from "prom-client";
import { openapi } from "../contracts";

const TYPES = (openapi.components as { schemas: Record<string, { "x-extensible-enum": string[] }> }).schemas.LinkageType!["x-extensible-enum"];
const OUTCOMES = ["COMPLETED", "REFUSED", "CANCELLED", "FAILED"] as const;

export const linkagesStarted = new client.Counter({ name: "hub_linkages_started_total", help: "Linkages started, by type", labelNames: ["linkage_type"] as const });
export const linkagesEnded = new client.Counter({ name: "hub_linkages_ended_total", help: "Linkages ended, by type and outcome (COMPLETED, REFUSED, CANCELLED, FAILED)", labelNames: ["linkage_type", "outcome"] as const });
export const linkageDuration = new client.Histogram({
  name: "hub_linkage_duration_seconds",
  help: "From a linkage's start to its end, by type",
  labelNames: ["linkage_type"] as const,
  buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
});

for (const type of TYPES) {
  linkagesStarted.inc({ linkage_type: type }, 0);
  linkageDuration.zero({ linkage_type: type });
  for (const outcome of OUTCOMES) linkagesEnded.inc({ linkage_type: type, outcome }, 0);
}
