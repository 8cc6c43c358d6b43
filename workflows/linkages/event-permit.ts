/**
 * Large-event safety permit: one application, the police's security review and the fire
 * service's venue inspection in parallel (permit-reviews.ts, with the documents they ask
 * for), then one decision. Refused: every reason of both agencies (AGENCY_REFUSED), or no
 * document in time (DOCUMENT_NOT_RECEIVED). Approved by both: the permit's capacity is the
 * least of the two agencies' and the venue's registered capacity, taken from the venue's
 * capacity for the event's hours, which overlapping permits share (VENUE_CAPACITY_TAKEN when
 * they leave too little). Issued: the venue is a key place at public security for the
 * event's hours, closed by a durable timer when the event ends, after which the venue's
 * capacity is released and the linkage completes. Cancelled by the organiser: the key place
 * is closed at once and the capacity released (compensation).
 */
import { CancellationScope, isCancellation, proxyActivities, sleep } from "@temporalio/workflow";
import type { catalogueActivities } from "../activities/catalogue";
import type { permitActivities } from "../activities/permits";
import type { components } from "../../contracts/generated/types";
import { cancellable, linkageSteps, type Ended, type Steps } from "./steps";
import type { LinkageOutcome } from "./visibility";
import { reviewBoth, type PermitApplication, type Reviewed } from "./permit-reviews";
import { PERMIT_AGENCY_CALLS, PERMIT_RECORDS } from "./retry-policies";

type Schemas = components["schemas"];
type Permit = Schemas["EventPermit"];

export interface EventPermitInput extends PermitApplication {
  /** The venue as the fire service registers it, read when the application was made. */
  venue: { name: string; capacity: number; area: object };
}

export interface EventPermitOutcome extends LinkageOutcome {
  result?: { capacity: number; capacityLowered: boolean; conditions: string[]; keyPlaceId: string };
}

interface KeyPlace {
  placeId: string;
}

const calls = proxyActivities<ReturnType<typeof catalogueActivities>>(PERMIT_AGENCY_CALLS);
const records = proxyActivities<ReturnType<typeof permitActivities>>(PERMIT_RECORDS);

export async function eventPermit(input: EventPermitInput): Promise<EventPermitOutcome | Ended> {
  const steps = linkageSteps();
  const permit: Permit = {
    applicationNo: input.applicationNo,
    venueId: input.venueId,
    status: "UNDER_REVIEW",
    expectedAttendance: input.expectedAttendance,
    venueCapacity: input.venue.capacity,
    reviews: [],
  };
  steps.progress.permit = permit;
  return cancellable(steps, async () => {
    try {
      return await decide(input, steps, permit);
    } catch (err) {
      // The key place closes and the capacity is released before the cancellation is told.
      if (isCancellation(err)) await CancellationScope.nonCancellable(() => cancelled(input, steps, permit));
      throw err;
    }
  });
}

const facts = (input: EventPermitInput) => ({ linkageId: input.linkageId, applicationNo: input.applicationNo, venueId: input.venueId });

async function decide(input: EventPermitInput, steps: Steps, permit: Permit): Promise<EventPermitOutcome> {
  const reviewed = await steps.run("review", () => reviewBoth(input, steps, permit));
  const refusals = (["public-security", "fire-safety"] as const).flatMap((agency) =>
    reviewed.reviews[agency]?.decision === "REFUSED" ? (reviewed.reviews[agency]!.reasons ?? ["refused"]).map((reason) => ({ agency, reason })) : [],
  );
  if (refusals.length) return refuse(input, steps, permit, "AGENCY_REFUSED", refusals);
  if (reviewed.lapsed) {
    const { agency, document } = reviewed.lapsed;
    const why = `asked for the document ${document}, which did not come within ${input.documentDeadlineMs} ms`;
    return refuse(input, steps, permit, "DOCUMENT_NOT_RECEIVED", [{ agency, reason: why }]);
  }
  const { capacity, conditions } = terms(input, reviewed);
  Object.assign(permit, { capacity, capacityLowered: capacity < input.expectedAttendance, conditions });
  const hold = { linkageId: input.linkageId, venueId: input.venueId, venueCapacity: input.venue.capacity, capacity, start: input.start, end: input.end };
  const taken = await steps.run(
    "hold-venue-capacity",
    () => records.holdVenue(hold),
    () => records.releaseVenue({ linkageId: input.linkageId }),
  );
  if (!taken.held) {
    const why = `permits for overlapping hours hold ${taken.heldByOthers} of the venue's ${input.venue.capacity}; this permit needs ${capacity}`;
    return refuse(input, steps, permit, "VENUE_CAPACITY_TAKEN", [{ agency: "hub", reason: why }]);
  }
  permit.status = "ISSUED";
  steps.show();
  const issued = { ...facts(input), start: input.start, end: input.end, expectedAttendance: input.expectedAttendance, capacity };
  const told = { ...issued, capacityLowered: permit.capacityLowered!, conditions: conditions.map((c) => `${c.agency}: ${c.text}`) };
  await records.announcePermit({ type: "permits.permit.issued", data: told, id: `permit-issued:${input.linkageId}` });
  const place = await steps.run(
    "open-key-place",
    () => openKeyPlace(input, capacity),
    (p) => closeKeyPlace(input, permit, p, capacity, "PERMIT_CANCELLED"),
  );
  permit.keyPlace = { placeId: place.placeId, status: "OPEN", opensAt: input.start, closesAt: input.end };
  steps.finish("ISSUED");
  steps.show();
  await records.announcePermit({ type: "permits.key-place.opened", data: keyPlaceFacts(input, place, capacity), id: `key-place-opened:${input.linkageId}` });
  await steps.run("await-event-end", () => sleep(Math.max(0, Date.parse(input.end) - Date.now())));
  await steps.run("close-key-place", () => closeKeyPlace(input, permit, place, capacity, "EVENT_ENDED"));
  steps.finish("COMPLETED");
  const result = { capacity, capacityLowered: permit.capacityLowered!, conditions: told.conditions, keyPlaceId: place.placeId };
  return { ...steps.progress, currentStep: null, status: "COMPLETED", result };
}

/** The permit's capacity, the least of both agencies' and the venue's; each agency's conditions. */
function terms(input: EventPermitInput, { reviews }: Reviewed): { capacity: number; conditions: { agency: Schemas["PermitAgency"]; text: string }[] } {
  const approved = Object.entries(reviews) as [Schemas["PermitAgency"], NonNullable<Reviewed["reviews"]["fire-safety"]>][];
  const capacity = Math.min(input.venue.capacity, ...approved.map(([, r]) => r.maxCapacity ?? input.venue.capacity));
  const conditions = approved.flatMap(([agency, r]) => (r.conditions ? [{ agency, text: r.conditions }] : []));
  return { capacity, conditions };
}

async function refuse(
  input: EventPermitInput,
  steps: Steps,
  permit: Permit,
  code: "AGENCY_REFUSED" | "DOCUMENT_NOT_RECEIVED" | "VENUE_CAPACITY_TAKEN",
  reasons: { agency: string; reason: string }[],
): Promise<EventPermitOutcome> {
  const lapsed = code === "DOCUMENT_NOT_RECEIVED";
  Object.assign(permit, { status: lapsed ? "LAPSED" : "REFUSED", refusal: { code, reasons } });
  const told = reasons.map((r) => `${r.agency}: ${r.reason}`);
  const type = lapsed ? "permits.permit.lapsed" : "permits.permit.refused";
  await records.announcePermit({ type, data: { ...facts(input), code, reasons: told }, id: `permit-${lapsed ? "lapsed" : "refused"}:${input.linkageId}` });
  steps.finish("REFUSED");
  return { ...steps.progress, currentStep: null, status: "REFUSED", reason: `${code}: ${told.join("; ")}`.slice(0, 2000) };
}

async function openKeyPlace(input: EventPermitInput, capacity: number): Promise<KeyPlace> {
  const answer = await calls.callService({
    service: input.services["public-security"],
    client: "hub",
    method: "POST",
    path: "/key-places",
    headers: { "data-purpose": "event-safety", "idempotency-key": `permit:${input.applicationNo}:key-place` },
    body: {
      reference: input.applicationNo,
      kind: "event",
      name: input.eventName,
      venueId: input.venueId,
      capacity,
      area: input.venue.area,
      opensAt: input.start,
      closesAt: input.end,
    },
  });
  return { placeId: (answer.body as KeyPlace).placeId };
}

async function closeKeyPlace(
  input: EventPermitInput,
  permit: Permit,
  place: KeyPlace,
  capacity: number,
  why: "EVENT_ENDED" | "PERMIT_CANCELLED",
): Promise<void> {
  const answer = await calls.callService({
    service: input.services["public-security"],
    client: "hub",
    method: "POST",
    path: `/key-places/${encodeURIComponent(place.placeId)}/closure`,
    headers: { "data-purpose": "event-safety", "idempotency-key": `permit:${input.applicationNo}:key-place-closure` },
    body: { reason: why === "EVENT_ENDED" ? "the event ended" : "the permit was cancelled" },
  });
  const closedAt = (answer.body as { closedAt?: string }).closedAt ?? new Date().toISOString();
  await records.releaseVenue({ linkageId: input.linkageId });
  permit.keyPlace = { placeId: place.placeId, status: "CLOSED", opensAt: input.start, closesAt: input.end, closedAt };
  const data = { ...keyPlaceFacts(input, place, capacity), closedBecause: why };
  await records.announcePermit({ type: "permits.key-place.closed", data, id: `key-place-closed:${input.linkageId}` });
}

const keyPlaceFacts = (input: EventPermitInput, place: KeyPlace, capacity: number) => ({
  ...facts(input),
  placeId: place.placeId,
  capacity,
  opensAt: input.start,
  closesAt: input.end,
});

/** Cancelled by the organiser: what was done is undone (key place closed, capacity released), then told. */
async function cancelled(input: EventPermitInput, steps: Steps, permit: Permit): Promise<void> {
  await steps.compensate();
  permit.status = "CANCELLED";
  const data = { ...facts(input), start: input.start, end: input.end };
  await records.announcePermit({ type: "permits.permit.cancelled", data, id: `permit-cancelled:${input.linkageId}` });
}
