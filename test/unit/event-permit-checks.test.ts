/** The checks of an event permit application before anything is recorded, and of a document signal (pure logic). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { HubError } from "../../platform/errors";
import { checkDocumentSignal, hoursProblems, MAX_EVENT_MS } from "../../workflows/service/permits";

const NOW = Date.parse("2026-12-01T08:00:00Z");
const pointers = (start: string, end: string) => hoursProblems({ start, end }, NOW).map((p) => p.pointer);

test("the event's hours: in the future, the end after the start, at most 14 days; offsets are read as written", () => {
  assert.deepEqual(pointers("2026-12-02T10:00:00+08:00", "2026-12-02T22:00:00+08:00"), []);
  assert.deepEqual(pointers("2026-12-01T08:00:00Z", "2026-12-01T09:00:00Z"), ["/start"], "now is not the future");
  // 15:59 in +08:00 is 07:59 UTC: past, though its digits are later than now's.
  assert.deepEqual(pointers("2026-12-01T15:59:00+08:00", "2026-12-01T18:00:00+08:00"), ["/start"]);
  assert.deepEqual(pointers("2026-12-03T10:00:00Z", "2026-12-03T10:00:00Z"), ["/end"]);
  assert.deepEqual(pointers("2026-12-03T10:00:00Z", "2026-12-02T10:00:00Z"), ["/end"]);
  const start = Date.parse("2026-12-03T10:00:00Z");
  assert.deepEqual(pointers(new Date(start).toISOString(), new Date(start + MAX_EVENT_MS).toISOString()), [], "14 days exactly");
  assert.deepEqual(pointers(new Date(start).toISOString(), new Date(start + MAX_EVENT_MS + 1000).toISOString()), ["/end"]);
  assert.deepEqual(pointers("2020-01-01T10:00:00Z", "2019-01-01T10:00:00Z"), ["/start", "/end"], "every problem at once");
});

test("a document signal names the document and its reference, and only one the application waits for", () => {
  const progress = {
    currentStep: "await-document",
    stepsDone: [],
    permit: {
      applicationNo: "EP-1",
      venueId: "VEN-0003",
      status: "AWAITING_DOCUMENT" as const,
      expectedAttendance: 100,
      reviews: [],
      awaitingDocuments: [{ agency: "fire-safety" as const, name: "evacuation-plan", deadline: "2026-12-04T08:00:00Z" }],
    },
  };
  const id = "0b7f3e03-b00b-5446-8265-b1ba3140dba6";
  assert.deepEqual(checkDocumentSignal({ id, signal: "document", name: "evacuation-plan", reference: "https://x.example/e.pdf" }, progress), {
    name: "evacuation-plan",
    reference: "https://x.example/e.pdf",
  });
  const refusal = (params: object, p: object | undefined) => {
    try {
      checkDocumentSignal({ id, signal: "document", ...params }, p as never);
    } catch (err) {
      return err as HubError;
    }
    assert.fail("not refused");
  };
  const nameless = refusal({ reference: "r" }, progress);
  assert.equal(nameless.type, "HUB_ERR_REQUEST_INVALID");
  assert.deepEqual(
    (nameless.data as { errors: { pointer: string }[] }).errors.map((e) => e.pointer),
    ["/name"],
  );
  const other = refusal({ name: "parking-plan", reference: "r" }, progress);
  assert.equal(other.type, "HUB_ERR_LINKAGE_SIGNAL");
  assert.match(other.message, /waits for "evacuation-plan", not "parking-plan"/);
  assert.match(refusal({ name: "evacuation-plan", reference: "r" }, { currentStep: "review", stepsDone: [] }).message, /not waiting for a document/);
});
