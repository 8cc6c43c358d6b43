/** The event permit workflow's branches, with the agencies (the catalogue activity) and the hub's records mocked. */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import type { WorkflowHandle } from "@temporalio/client";
import type { components } from "../../contracts/generated/types";
import type { EventPermitInput, eventPermit } from "../../workflows/linkages/event-permit";
import type { Review } from "../../workflows/linkages/permit-reviews";
import { mock, signalsHandled, until, visibility, workflowEnv, type Activities, type Mocks, type WorkflowEnv } from "../support/workflow-env";

type Permit = components["schemas"]["EventPermit"];
type CallParams = Parameters<Activities["callService"]>[0];
type Handle = WorkflowHandle<typeof eventPermit>;

let wf: WorkflowEnv;
before(async () => (wf = await workflowEnv()));
after(() => wf?.teardown());

const POLICE = "LOCAL/GOV/public-security/police/event-security";
const FIRE = "LOCAL/GOV/fire-safety/inspections/venue-inspections";

const input = (applicationNo: string, over: Partial<EventPermitInput> = {}): EventPermitInput => ({
  linkageId: "6a1f3a2e-8d4b-5f70-9b1c-2e3d4f5a6b7c",
  applicationNo,
  eventName: "Test Concert",
  venueId: "VEN-0001",
  start: new Date(Date.now() + 60_000).toISOString(),
  end: new Date(Date.now() + 120_000).toISOString(),
  expectedAttendance: 35000,
  securityPlan: "https://docs.example/plan.pdf",
  documentDeadlineMs: 60_000,
  services: { "public-security": POLICE, "fire-safety": FIRE },
  venue: { name: "City Stadium", capacity: 40000, area: { type: "Polygon", coordinates: [] } },
  ...over,
});

const review = (id: string, decision: Review["decision"], extra: Partial<Review> = {}): Review => ({ id, decision, ...extra });

interface Agencies {
  police: (p: CallParams) => Review;
  fire: (p: CallParams) => Review;
}

/** The two agencies and the key places, as the catalogue activity answers for them; the hub's records always succeed but for `held`. */
function agencies(answer: Agencies, held = true): Partial<Activities> {
  return {
    callService: async (p) => {
      if (p.path === "/key-places") return { status: 201, headers: {}, body: { placeId: "KP-1" } };
      if (p.path.endsWith("/closure")) return { status: 200, headers: {}, body: { placeId: "KP-1", status: "CLOSED", closedAt: "2099-01-01T00:00:00.000Z" } };
      return { status: 201, headers: {}, body: p.service === POLICE ? answer.police(p) : answer.fire(p) };
    },
    holdVenue: async () => ({ held, heldByOthers: held ? 0 : 5000 }),
    releaseVenue: async () => undefined,
    announcePermit: async () => undefined,
  };
}

async function apply(mocks: Mocks, run: EventPermitInput, during: (h: Handle) => Promise<void> = async () => {}) {
  return wf.withWorker(mocks, async (taskQueue) => {
    const handle = await wf.env.client.workflow.start<typeof eventPermit>("eventPermit", { taskQueue, workflowId: taskQueue, args: [run] });
    await during(handle);
    const outcome = (await handle.result()) as { status: string; reason?: string; permit: Permit; result?: Record<string, unknown>; stepsDone: string[] };
    return { outcome, ...(await visibility(handle)) };
  });
}

const announced = (mocks: Mocks) => mocks.paramsOf("announcePermit").map((a) => a.type);

test("both approve: the permit issues with the least capacity (police 30,000 of 35,000 expected, lowered), the key place opens, closes at the event's end → COMPLETED", async () => {
  const mocks = mock(
    agencies({ police: () => review("SR-1", "APPROVED", { maxCapacity: 30000 }), fire: () => review("IN-1", "APPROVED", { maxCapacity: 36000 }) }),
  );
  const run = input("EP-WF-1", { end: new Date(Date.now() + 1500).toISOString() });
  const { outcome, linkageStatus } = await apply(mocks, run);
  assert.equal(outcome.status, "COMPLETED", JSON.stringify(outcome));
  assert.deepEqual(outcome.result, { capacity: 30000, capacityLowered: true, conditions: [], keyPlaceId: "KP-1" });
  assert.deepEqual(outcome.stepsDone, ["review", "hold-venue-capacity", "open-key-place", "await-event-end", "close-key-place"]);
  assert.equal(outcome.permit.status, "ISSUED");
  assert.equal(outcome.permit.keyPlace?.status, "CLOSED");
  assert.equal(linkageStatus, "COMPLETED");
  assert.deepEqual(announced(mocks), ["permits.permit.issued", "permits.key-place.opened", "permits.key-place.closed"]);
  assert.deepEqual(mocks.paramsOf("holdVenue")[0], {
    linkageId: run.linkageId,
    venueId: "VEN-0001",
    venueCapacity: 40000,
    capacity: 30000,
    start: run.start,
    end: run.end,
  });
  // Both reviews for the hub's linkages subsystem, keyed per application and agency, purpose event-safety.
  const reviews = mocks.paramsOf("callService").filter((p) => !p.path.startsWith("/key-places"));
  assert.deepEqual(reviews.map((p) => [p.service, p.path, p.client, p.headers]).sort(), [
    [FIRE, "/inspections", "hub", { "data-purpose": "event-safety", "idempotency-key": "permit:EP-WF-1:fire-safety" }],
    [POLICE, "/security-reviews", "hub", { "data-purpose": "event-safety", "idempotency-key": "permit:EP-WF-1:public-security" }],
  ]);
  const opened = mocks.paramsOf("callService").find((p) => p.path === "/key-places")!;
  assert.deepEqual((opened.body as { capacity: number }).capacity, 30000);
  assert.equal(mocks.paramsOf("releaseVenue").length, 1, "the capacity is given back when the event ends");
});

test("both refuse: REFUSED with every reason of both agencies", async () => {
  const mocks = mock(
    agencies({
      police: () => review("SR-2", "REFUSED", { reasons: ["no crowd plan"] }),
      fire: () => review("IN-2", "REFUSED", { reasons: ["exits blocked"] }),
    }),
  );
  const { outcome, linkageStatus } = await apply(mocks, input("EP-WF-2"));
  assert.equal(outcome.status, "REFUSED");
  assert.equal(outcome.reason, "AGENCY_REFUSED: public-security: no crowd plan; fire-safety: exits blocked");
  assert.deepEqual(outcome.permit.refusal, {
    code: "AGENCY_REFUSED",
    reasons: [
      { agency: "public-security", reason: "no crowd plan" },
      { agency: "fire-safety", reason: "exits blocked" },
    ],
  });
  assert.equal(linkageStatus, "REFUSED");
  assert.deepEqual(announced(mocks), ["permits.permit.refused"]);
  assert.equal(mocks.paramsOf("holdVenue").length, 0);
});

test("a document asked for: AWAITING_DOCUMENT until the signal, submitted to the agency that asked, then issued with its new capacity", async () => {
  const mocks = mock(
    agencies({
      police: () => review("SR-3", "APPROVED_WITH_CONDITIONS", { maxCapacity: 8000, conditions: "stewards at every gate" }),
      fire: (p) =>
        p.path.endsWith("/documents") ? review("IN-3", "APPROVED", { maxCapacity: 7000 }) : review("IN-3", "NEEDS_DOCUMENT", { document: "evacuation-plan" }),
    }),
  );
  const run = input("EP-WF-3", { expectedAttendance: 6000, venue: { name: "Hall", capacity: 8000, area: {} }, end: new Date(Date.now() + 1000).toISOString() });
  let waiting: Awaited<ReturnType<typeof visibility>> | undefined;
  const { outcome } = await apply(mocks, run, async (handle) => {
    waiting = await until(handle, (v) => v.linkageStatus === "AWAITING_DOCUMENT");
    await handle.signal("document", { name: "evacuation-plan", reference: "https://docs.example/evac.pdf" });
    await signalsHandled(handle, 1);
  });
  assert.equal(waiting?.progress?.currentStep, "await-document");
  assert.equal(waiting?.progress?.permit?.status, "AWAITING_DOCUMENT");
  assert.deepEqual(
    waiting?.progress?.permit?.awaitingDocuments?.map((w) => [w.agency, w.name]),
    [["fire-safety", "evacuation-plan"]],
  );
  assert.equal(outcome.status, "COMPLETED", JSON.stringify(outcome));
  assert.deepEqual(outcome.result, { capacity: 7000, capacityLowered: false, conditions: ["public-security: stewards at every gate"], keyPlaceId: "KP-1" });
  const sent = mocks.paramsOf("callService").find((p) => p.path.endsWith("/documents"))!;
  assert.deepEqual(
    [sent.service, sent.path, sent.body],
    [FIRE, "/inspections/IN-3/documents", { name: "evacuation-plan", reference: "https://docs.example/evac.pdf" }],
  );
  assert.equal(sent.headers?.["idempotency-key"], "permit:EP-WF-3:fire-safety:document:evacuation-plan:1");
  assert.deepEqual(announced(mocks).slice(0, 2), ["permits.application.awaiting-document", "permits.permit.issued"]);
});

test("no document before the deadline: the application lapses, REFUSED with DOCUMENT_NOT_RECEIVED", async () => {
  const mocks = mock(
    agencies({
      police: () => review("SR-4", "APPROVED", { maxCapacity: 8000 }),
      fire: () => review("IN-4", "NEEDS_DOCUMENT", { document: "evacuation-plan" }),
    }),
  );
  const { outcome, linkageStatus } = await apply(mocks, input("EP-WF-4", { documentDeadlineMs: 300 }));
  assert.equal(outcome.status, "REFUSED");
  assert.match(String(outcome.reason), /^DOCUMENT_NOT_RECEIVED: fire-safety: asked for the document evacuation-plan/);
  assert.equal(outcome.permit.status, "LAPSED");
  assert.equal(outcome.permit.refusal?.code, "DOCUMENT_NOT_RECEIVED");
  assert.equal(outcome.permit.awaitingDocuments, undefined);
  assert.equal(linkageStatus, "REFUSED");
  assert.deepEqual(announced(mocks), ["permits.application.awaiting-document", "permits.permit.lapsed"]);
});

test("one agency refuses while the other waits for a document: refused at once, not after the deadline", async () => {
  const mocks = mock(
    agencies({
      police: () => review("SR-7", "REFUSED", { reasons: ["no crowd plan"] }),
      fire: () => review("IN-7", "NEEDS_DOCUMENT", { document: "evacuation-plan" }),
    }),
  );
  const { outcome } = await apply(mocks, input("EP-WF-7", { documentDeadlineMs: 3_600_000 }));
  assert.equal(outcome.status, "REFUSED");
  assert.equal(outcome.permit.refusal?.code, "AGENCY_REFUSED");
  assert.deepEqual(outcome.permit.refusal?.reasons, [{ agency: "public-security", reason: "no crowd plan" }]);
  assert.equal(outcome.permit.awaitingDocuments, undefined);
});

test("the venue's capacity held by overlapping permits: REFUSED with VENUE_CAPACITY_TAKEN, no key place", async () => {
  const approve = () => review("R-5", "APPROVED", { maxCapacity: 5000 });
  const mocks = mock(agencies({ police: approve, fire: approve }, false));
  const { outcome } = await apply(mocks, input("EP-WF-5", { expectedAttendance: 4000, venue: { name: "Square", capacity: 5000, area: {} } }));
  assert.equal(outcome.status, "REFUSED");
  assert.match(String(outcome.reason), /^VENUE_CAPACITY_TAKEN: hub: permits for overlapping hours hold 5000 of the venue's 5000; this permit needs 5000/);
  assert.equal(mocks.paramsOf("callService").filter((p) => p.path === "/key-places").length, 0);
  assert.deepEqual(announced(mocks), ["permits.permit.refused"]);
});

test("cancelled while issued: the key place closes at once, the capacity is released, then the cancellation is told → CANCELLED", async () => {
  const approve = () => review("R-6", "APPROVED", { maxCapacity: 20000 });
  const mocks = mock(agencies({ police: approve, fire: approve }));
  const { outcome, linkageStatus } = await apply(mocks, input("EP-WF-6", { expectedAttendance: 1000 }), async (handle) => {
    await until(handle, (v) => v.linkageStatus === "ISSUED" && v.progress?.currentStep === "await-event-end");
    await handle.cancel();
  });
  assert.equal(outcome.status, "CANCELLED");
  assert.equal(outcome.permit.status, "CANCELLED");
  assert.equal(outcome.permit.keyPlace?.status, "CLOSED");
  assert.equal(linkageStatus, "COMPENSATED");
  assert.equal(mocks.paramsOf("callService").filter((p) => p.path === "/key-places/KP-1/closure").length, 1);
  assert.equal(mocks.paramsOf("releaseVenue").length, 2, "released by the key place's closure and by the hold's undo (twice changes nothing)");
  assert.deepEqual(announced(mocks), ["permits.permit.issued", "permits.key-place.opened", "permits.key-place.closed", "permits.permit.cancelled"]);
  assert.equal((mocks.paramsOf("announcePermit")[2]!.data as { closedBecause?: string }).closedBecause, "PERMIT_CANCELLED");
});
