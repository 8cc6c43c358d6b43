/**
 * A linkage's identifiers, derived rather than drawn, so the same case always has the same
 * ones: its workflow id is the business key (`<linkage type>:<business key>`, or the type's own
 * prefix: `dispatch:<placeId>:<critical-episode start>` for a crowd dispatch; so a repeated
 * start never runs a linkage twice) and its linkage id, the UUID partners see, is derived from
 * the workflow id. Used by the linkages service and the activities (not by workflow code).
 */
import type { components } from "../contracts/generated/types";
import { nameBasedUuid } from "../platform/ids";

type LinkageType = components["schemas"]["LinkageType"];

/** Linkage types whose workflow ids start with a prefix of their own rather than the type's name. */
const PREFIXES: Partial<Record<LinkageType, string>> = { "crowd-dispatch": "dispatch" };
const TYPE_OF_PREFIX = new Map(Object.entries(PREFIXES).map(([type, prefix]) => [prefix, type as LinkageType]));

export const workflowIdOf = (type: LinkageType, businessKey: string) => `${PREFIXES[type] ?? type}:${businessKey}`;

/** The linkage type and business key a workflow id was made of. */
export function parseWorkflowId(workflowId: string): { type: LinkageType; businessKey: string } {
  const colon = workflowId.indexOf(":");
  const prefix = workflowId.slice(0, colon);
  return { type: TYPE_OF_PREFIX.get(prefix) ?? (prefix as LinkageType), businessKey: workflowId.slice(colon + 1) };
}

export const linkageIdOf = (workflowId: string) => nameBasedUuid(workflowId);

/** An incident linkage's business key: the CAP sender and its first alert's identifier (every later alert names both). */
export const incidentKeyOf = (incident: { sender: string; firstIdentifier: string }) => `${incident.sender},${incident.firstIdentifier}`;

/** A crowd-dispatch linkage's business key: the key place and the start of its critical episode (the `at` of the event that made it critical). */
export const dispatchKeyOf = (placeId: string, episodeStart: string) => `${placeId}:${episodeStart}`;
