/**
 * A linkage's identifiers, derived rather than drawn, so the same case always has the same
 * ones: its workflow id is the business key (`<linkage type>:<business key>`, so a repeated
 * start never runs a linkage twice) and its linkage id, the UUID partners see, is derived from
 * the workflow id. Used by the linkages service and the activities (not by workflow code).
 */
import type { components } from "../contracts/generated/types";
import { nameBasedUuid } from "../platform/ids";

type LinkageType = components["schemas"]["LinkageType"];

export const workflowIdOf = (type: LinkageType, businessKey: string) => `${type}:${businessKey}`;

/** The linkage type and business key a workflow id was made of. */
export function parseWorkflowId(workflowId: string): { type: LinkageType; businessKey: string } {
  const colon = workflowId.indexOf(":");
  return { type: workflowId.slice(0, colon) as LinkageType, businessKey: workflowId.slice(colon + 1) };
}

export const linkageIdOf = (workflowId: string) => nameBasedUuid(workflowId);

/** An incident linkage's business key: the CAP sender and its first alert's identifier (every later alert names both). */
export const incidentKeyOf = (incident: { sender: string; firstIdentifier: string }) => `${incident.sender},${incident.firstIdentifier}`;
