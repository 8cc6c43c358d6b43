/**
 * The police's decisions, the same every time for a venue (agencies/public-security/README.md);
 * no review is decided without the event's security plan (a document named "security-plan").
 */
import type { Decision, Ruling } from "../../../sandbox-kit/reviews";

export const OFFICERS = [
  { id: "PSO-0001", name: "Li Wei" },
  { id: "PSO-0002", name: "Chen Jing" },
];

const approved = (maxCapacity: number): Decision => ({ decision: "APPROVED", maxCapacity });

export const policeRuling: Ruling = (venue, documents) => {
  if (!documents.has("security-plan")) return { decision: "NEEDS_DOCUMENT", document: "security-plan" };
  switch (venue.venueId) {
    case "VEN-0001":
      return approved(30000);
    case "VEN-0002":
      return { decision: "REFUSED", reasons: ["The park's exits cannot clear a crowd of this size: one footbridge serves the whole riverbank."] };
    case "VEN-0003":
      return {
        decision: "APPROVED_WITH_CONDITIONS",
        maxCapacity: 8000,
        conditions: "Bag checks at every entrance; no entry after 21:00; one steward per 100 visitors.",
      };
    case "VEN-0005":
      return approved(12000);
    default:
      // Old Town Square (VEN-0004) and any venue registered later: approved for its registered capacity.
      return approved(venue.capacity);
  }
};
