/**
 * The emergency services system's own wire format (not the hub's contract). Alerts go in as
 * CAP 1.2 XML (`POST /cad/v1/alerts`); answers are JSON receipts, dispatch records and
 * errors as `{errorCode, errorMessage}`. The adapter checks every answer against these
 * schemas; the sandbox, which plays the system, writes its answers on its own (sandbox/), so
 * the tests hold the one against the other.
 */
import { ajv } from "../../contracts";

export type UnitType = "FIRE_ENGINE" | "AMBULANCE" | "POLICE" | "HAZMAT";

/** The system took an alert (or had taken it already: the same receipt again). */
export interface CadReceipt {
  receiptId: string;
  incidentNo: string;
  sender: string;
  alertIdentifier: string;
  incidentStatus: "ACTIVE" | "CLOSED";
  receivedAt: string;
}

export interface CadDispatch {
  dispatchId: string;
  incidentNo: string;
  units: { unitId: string; type: UnitType }[];
  dispatchedAt: string;
}

export interface CadError {
  errorCode: string;
  errorMessage?: string;
}

const id = { type: "string", minLength: 1, maxLength: 64 };

export const isCadReceipt = ajv.compile<CadReceipt>({
  type: "object",
  properties: {
    receiptId: id,
    incidentNo: { type: "string", pattern: "^INC-[0-9A-F]{12}$" },
    sender: { type: "string", minLength: 1, maxLength: 100 },
    alertIdentifier: { type: "string", minLength: 1, maxLength: 100 },
    incidentStatus: { enum: ["ACTIVE", "CLOSED"] },
    receivedAt: { type: "string", format: "date-time" },
  },
  required: ["receiptId", "incidentNo", "sender", "alertIdentifier", "incidentStatus", "receivedAt"],
});

export const isCadDispatch = ajv.compile<CadDispatch>({
  type: "object",
  properties: {
    dispatchId: id,
    incidentNo: { type: "string", pattern: "^INC-[0-9A-F]{12}$" },
    units: {
      type: "array",
      minItems: 1,
      items: { type: "object", properties: { unitId: id, type: { enum: ["FIRE_ENGINE", "AMBULANCE", "POLICE", "HAZMAT"] } }, required: ["unitId", "type"] },
    },
    dispatchedAt: { type: "string", format: "date-time" },
  },
  required: ["dispatchId", "incidentNo", "units", "dispatchedAt"],
});

export const isCadError = ajv.compile<CadError>({
  type: "object",
  properties: { errorCode: { type: "string" }, errorMessage: { type: "string" } },
  required: ["errorCode"],
});
