import { test } from "node:test";
import assert from "node:assert/strict";
import { maskedText, redact, redactingFormatter } from "../../platform/redact";

test("names, id numbers and addresses are redacted wherever they nest; id numbers inside any text", () => {
  const out = redact({
    params: { idNumber: "310104199204300430", name: "周雨浩", applicants: [{ idNumber: "11010519491231002X" }], address: { street: "青年路170号" } },
    err: "identity mismatch for 11010519491231002X",
    count: 3,
  });
  assert.deepEqual(out, {
    params: { idNumber: "[redacted]", name: "[redacted]", applicants: "[redacted]", address: "[redacted]" },
    err: "identity mismatch for [id-number]",
    count: 3,
  });
  assert.equal(redact("order 1234567890123456789012 and +8613800138000"), "order 1234567890123456789012 and +8613800138000", "other numbers stay");
});

test("the log format is Moleculer's jsonext, redacted", () => {
  const [line] = redactingFormatter("warn", [{ err: new Error("no citizen 310104199204300430") }, "lookup failed"], { nodeID: "n1", mod: "broker" });
  const parsed = JSON.parse(line!) as Record<string, string>;
  assert.deepEqual([parsed.level, parsed.message, parsed.nodeID, parsed.mod], ["warn", "lookup failed", "n1", "broker"]);
  assert.match(parsed.err!, /no citizen \[id-number\]/);
  assert.doesNotMatch(line!, /310104199204300430/);
});

test("redaction reaches any depth, errors inside arrays included", () => {
  let deep: Record<string, unknown> = { idNumber: "310104199204300430", note: "for 310104199204300430" };
  for (let i = 0; i < 12; i++) deep = { inner: deep };
  const [line] = redactingFormatter("info", [{ deep, errs: [new Error("no citizen 11010519491231002X")] }, "x"], { nodeID: "n1" });
  assert.doesNotMatch(line!, /310104199204300430|11010519491231002X/);
  assert.match(line!, /"idNumber":"\[redacted\]"/);
  assert.match(line!, /for \[id-number\]/);
  assert.match(line!, /no citizen \[id-number\]/);
});

test("an error-like value with nothing enumerable is shown as Node shows it, never as an empty message", () => {
  const odd = Object.defineProperty({}, "message", { value: "connection closed while draining", enumerable: false });
  const [line] = redactingFormatter("error", [odd], { mod: "broker" });
  assert.match(JSON.parse(line!).message, /connection closed while draining/);
  const [plain] = redactingFormatter("info", [{ requestId: "r1" }, "request answered"], {});
  assert.deepEqual([JSON.parse(plain!).requestId, JSON.parse(plain!).message], ["r1", "request answered"]);
});

test("free text leaving the hub (an event's reason): id numbers and compact JWS masked, the rest kept", () => {
  const jws = "eyJhbGciOiJFZERTQSJ9.eyJjaXRpemVuX25vIjoiMTEwMTAxMTk5MDAzMDc0NTE0In0.c2lnbmF0dXJlLWJ5dGVz";
  assert.equal(maskedText(`withdrawn: 110101199003074514 sent ${jws} by mistake`), "withdrawn: [id-number] sent [credential] by mistake");
  assert.equal(maskedText("an applicant is already married"), "an applicant is already married");
});
