/**
 * The two reviews of an event permit application, in parallel, through the generic catalogue
 * activity, for the hub's own linkages subsystem (the hub consults the agencies for the
 * organiser, never under the organiser's grants), purpose `event-safety`, an Idempotency-Key
 * per call: the police's security review and the fire service's venue inspection. An agency
 * that answers NEEDS_DOCUMENT waits for the organiser's `document` signal of that name, which
 * is submitted to it for a new decision; without it by the deadline the application lapses.
 * A refusal by one agency ends the other's wait for a document: nothing it sends could help.
 */
import { condition, proxyActivities, setHandler } from "@temporalio/workflow";
import type { catalogueActivities } from "../activities/catalogue";
import type { permitActivities } from "../activities/permits";
import type { components } from "../../contracts/generated/types";
import { documentSent } from "./signals";
import type { Steps } from "./steps";
import { PERMIT_AGENCY_CALLS, PERMIT_RECORDS } from "./retry-policies";

type Schemas = components["schemas"];
export type Agency = Schemas["PermitAgency"];
type Permit = Schemas["EventPermit"];

/** A review as the agencies answer it (agencies/<agency>/openapi.yaml). */
export interface Review {
  id: string;
  decision: "APPROVED" | "APPROVED_WITH_CONDITIONS" | "REFUSED" | "NEEDS_DOCUMENT";
  maxCapacity?: number;
  conditions?: string;
  reasons?: string[];
  document?: string;
}

export interface PermitApplication {
  linkageId: string;
  applicationNo: string;
  eventName: string;
  venueId: string;
  start: string;
  end: string;
  expectedAttendance: number;
  securityPlan: string;
  documentDeadlineMs: number;
  /** The catalogue service ids of the two agencies. */
  services: Record<Agency, string>;
}

/** How the reviews ended: each agency's last decision, and the document that never came, if one did not. */
export interface Reviewed {
  reviews: Partial<Record<Agency, Review>>;
  lapsed?: { agency: Agency; document: string };
}

const calls = proxyActivities<ReturnType<typeof catalogueActivities>>(PERMIT_AGENCY_CALLS);
const records = proxyActivities<ReturnType<typeof permitActivities>>(PERMIT_RECORDS);

/** Where each agency reviews applications, on its base URL. */
const REVIEWS: Record<Agency, string> = { "public-security": "/security-reviews", "fire-safety": "/inspections" };

export const AGENCIES: Agency[] = ["public-security", "fire-safety"];

export async function reviewBoth(app: PermitApplication, steps: Steps, permit: Permit): Promise<Reviewed> {
  const inbox = new Map<string, string[]>();
  setHandler(documentSent, ({ name, reference }) => void inbox.set(name, [...(inbox.get(name) ?? []), reference]));
  const state: Reviewed & { stop: boolean } = { reviews: {}, stop: false };
  await Promise.all(AGENCIES.map((agency) => reviewAt(agency, app, steps, permit, inbox, state)));
  return { reviews: state.reviews, ...(state.lapsed ? { lapsed: state.lapsed } : {}) };
}

async function reviewAt(
  agency: Agency,
  app: PermitApplication,
  steps: Steps,
  permit: Permit,
  inbox: Map<string, string[]>,
  state: Reviewed & { stop: boolean },
): Promise<void> {
  const call = async (path: string, body: object, key: string): Promise<Review> => {
    const answer = await calls.callService({
      service: app.services[agency],
      client: "hub",
      method: "POST",
      path,
      headers: { "data-purpose": "event-safety", "idempotency-key": `permit:${app.applicationNo}:${key}` },
      body,
    });
    const review = answer.body as Review;
    state.reviews[agency] = review;
    showReview(permit, agency, review);
    steps.show();
    return review;
  };
  const request = {
    reference: app.applicationNo,
    venueId: app.venueId,
    eventName: app.eventName,
    start: app.start,
    end: app.end,
    expectedAttendance: app.expectedAttendance,
    documents: [{ name: "security-plan", reference: app.securityPlan }],
  };
  let review = await call(REVIEWS[agency], request, agency);
  for (let asked = 1; review.decision === "NEEDS_DOCUMENT" && review.document; asked++) {
    const name = review.document;
    const reference = await awaitDocument(agency, name, asked, app, steps, permit, inbox, state);
    if (reference === undefined) return;
    review = await call(`${REVIEWS[agency]}/${encodeURIComponent(review.id)}/documents`, { name, reference }, `${agency}:document:${name}:${asked}`);
  }
  if (review.decision === "REFUSED") state.stop = true;
}

/** The reference of the document `name` once the organiser sends it; undefined if the deadline passed first (the application lapses) or the other agency refused. */
async function awaitDocument(
  agency: Agency,
  name: string,
  asked: number,
  app: PermitApplication,
  steps: Steps,
  permit: Permit,
  inbox: Map<string, string[]>,
  state: Reviewed & { stop: boolean },
): Promise<string | undefined> {
  const deadline = new Date(Date.now() + app.documentDeadlineMs).toISOString();
  const waiting = { agency, name, deadline };
  permit.awaitingDocuments = [...(permit.awaitingDocuments ?? []), waiting];
  permit.status = "AWAITING_DOCUMENT";
  steps.progress.currentStep = "await-document";
  steps.finish("AWAITING_DOCUMENT");
  steps.show();
  const data = { linkageId: app.linkageId, applicationNo: app.applicationNo, venueId: app.venueId, agency, document: name, deadline };
  await records.announcePermit({ type: "permits.application.awaiting-document", data, id: `permit-awaiting:${app.linkageId}:${agency}:${name}:${asked}` });
  const arrived = await condition(() => (inbox.get(name)?.length ?? 0) > 0 || state.stop, app.documentDeadlineMs);
  permit.awaitingDocuments = permit.awaitingDocuments.filter((w) => w !== waiting);
  if (permit.awaitingDocuments.length === 0) {
    delete permit.awaitingDocuments;
    permit.status = "UNDER_REVIEW";
    steps.progress.currentStep = "review";
    steps.finish("RUNNING");
  }
  steps.show();
  if (state.stop) return undefined;
  if (!arrived) {
    state.lapsed ??= { agency, document: name };
    state.stop = true;
    return undefined;
  }
  return inbox.get(name)!.shift();
}

/** The agency's latest decision in the permit's status. */
function showReview(permit: Permit, agency: Agency, review: Review): void {
  const shown: Permit["reviews"][number] = { agency, reviewId: review.id, decision: review.decision };
  if (review.maxCapacity !== undefined) shown.maxCapacity = review.maxCapacity;
  if (review.conditions) shown.conditions = review.conditions;
  if (review.reasons) shown.reasons = review.reasons;
  if (review.document) shown.document = review.document;
  permit.reviews = [...permit.reviews.filter((r) => r.agency !== agency), shown].sort((a, b) => AGENCIES.indexOf(a.agency) - AGENCIES.indexOf(b.agency));
}
