/**
 * The fire service's decisions, the same every time for a venue (agencies/fire-safety/README.md):
 * the Exhibition Hall needs its evacuation plan before it is approved.
 */
import type { Decision, Ruling } from "../../../sandbox-kit/reviews";

export const OFFICERS = [
  { id: "FSO-0001", name: "Wang Fang" },
  { id: "FSO-0002", name: "Zhao Lei" },
];

const approved = (maxCapacity: number): Decision => ({ decision: "APPROVED", maxCapacity });

export const fireRuling: Ruling = (venue, documents) => {
  switch (venue.venueId) {
    case "VEN-0001":
      return approved(36000);
    case "VEN-0002":
      return { decision: "REFUSED", reasons: ["The park has no fire lane reaching its stage area: engines cannot get within 200 m."] };
    case "VEN-0003":
      return documents.has("evacuation-plan") ? approved(7000) : { decision: "NEEDS_DOCUMENT", document: "evacuation-plan" };
    case "VEN-0005":
      return approved(10000);
    default:
      // Old Town Square (VEN-0004) and any venue registered later: approved for its registered capacity.
      return approved(venue.capacity);
  }
};
