/**
 * Every error the hub raises, in one list: code, HTTP status and problem type.
 * Services throw HubError; the gateway turns any error into RFC 9457 problem+json.
 */
import { Errors } from "moleculer";

export const ERRORS = {
  HUB_ERR_REQUEST_INVALID: { status: 400, type: "/problems/request-invalid", title: "Request does not match the contract" },
  HUB_ERR_REQUEST_MALFORMED: { status: 400, type: "/problems/request-malformed", title: "Request body is not valid JSON" },
  HUB_ERR_REQUEST_UNPROCESSABLE: { status: 422, type: "/problems/request-unprocessable", title: "The request is well formed but cannot be carried out" },
  HUB_ERR_REQUEST_TOO_LARGE: { status: 413, type: "/problems/request-too-large", title: "Request body too large" },
  HUB_ERR_REQUEST_MEDIA_TYPE: { status: 415, type: "/problems/unsupported-media-type", title: "Unsupported media type" },
  HUB_ERR_ROUTE_NOT_FOUND: { status: 404, type: "/problems/not-found", title: "No such resource" },
  HUB_ERR_ROUTE_METHOD: { status: 405, type: "/problems/method-not-allowed", title: "Method not allowed" },
  HUB_ERR_UNAUTHENTICATED: { status: 401, type: "/problems/unauthenticated", title: "A valid access token is required" },
  HUB_ERR_FORBIDDEN: { status: 403, type: "/problems/forbidden", title: "Not allowed for this partner" },
  HUB_ERR_QUOTA_EXCEEDED: { status: 429, type: "/problems/quota-exceeded", title: "Quota used up" },
  HUB_ERR_IDEMPOTENCY_KEY_REUSED: { status: 422, type: "/problems/idempotency-key-reused", title: "Idempotency key used for another request" },
  HUB_ERR_IDEMPOTENCY_IN_PROGRESS: { status: 409, type: "/problems/idempotency-in-progress", title: "The first request with this key is still running" },
  HUB_ERR_PARTNER_NOT_FOUND: { status: 404, type: "/problems/partner-not-found", title: "No such partner" },
  HUB_ERR_PARTNER_EXISTS: { status: 409, type: "/problems/partner-exists", title: "The partner exists already" },
  HUB_ERR_OPERATOR_UNAUTHENTICATED: { status: 401, type: "/problems/operator-unauthenticated", title: "Operator credentials are required" },
  HUB_ERR_OPERATOR_NOT_FOUND: { status: 404, type: "/problems/operator-not-found", title: "No such operator" },
  HUB_ERR_OPERATOR_EXISTS: { status: 409, type: "/problems/operator-exists", title: "The operator exists already" },
  HUB_ERR_CODEC_ORIGIN: { status: 403, type: "/problems/codec-origin", title: "The codec server does not answer pages of this origin" },
  HUB_ERR_CODEC_KEY_UNKNOWN: { status: 400, type: "/problems/codec-key-unknown", title: "A payload is encrypted under a key the hub does not hold" },
  HUB_ERR_SERVICE_NOT_FOUND: { status: 404, type: "/problems/service-not-found", title: "No such service in the catalogue" },
  HUB_ERR_SERVICE_EXISTS: { status: 409, type: "/problems/service-exists", title: "The service is registered already" },
  HUB_ERR_SERVICE_DISABLED: { status: 403, type: "/problems/service-disabled", title: "The service is disabled" },
  HUB_ERR_PROVIDER_ADDRESS: { status: 502, type: "/problems/provider-address", title: "The provider is at an address the hub does not call" },
  HUB_ERR_LINKAGE_NOT_FOUND: { status: 404, type: "/problems/linkage-not-found", title: "No such linkage" },
  HUB_ERR_BUSINESS_KEY_TAKEN: { status: 409, type: "/problems/business-key-taken", title: "Another partner's case has this key" },
  HUB_ERR_PAGE_NOT_FOUND: { status: 404, type: "/problems/page-not-found", title: "No such page" },
  HUB_ERR_LINKAGE_CLOSED: { status: 409, type: "/problems/linkage-closed", title: "The linkage has ended" },
  HUB_ERR_LINKAGE_NOT_STARTED: { status: 409, type: "/problems/linkage-not-started", title: "The linkage is recorded but has not started" },
  HUB_ERR_LINKAGE_SIGNAL: { status: 409, type: "/problems/linkage-signal-not-taken", title: "The linkage takes no such signal" },
  HUB_ERR_INCIDENT_NOT_FOUND: { status: 404, type: "/problems/incident-not-found", title: "No such incident" },
  HUB_ERR_KEY_PLACE_NOT_FOUND: { status: 404, type: "/problems/key-place-not-found", title: "No such key place" },
  HUB_ERR_RECORD_NOT_FOUND: { status: 404, type: "/problems/record-not-found", title: "The agency has no such record" },
  HUB_ERR_AGENCY_REFUSED: { status: 422, type: "/problems/agency-refused", title: "Agency refused the request" },
  HUB_ERR_AGENCY_BAD_ANSWER: { status: 502, type: "/problems/agency-bad-answer", title: "Agency answered outside its contract" },
  HUB_ERR_AGENCY_UNAVAILABLE: { status: 503, type: "/problems/agency-unavailable", title: "Agency unavailable" },
  HUB_ERR_AGENCY_TIMEOUT: { status: 504, type: "/problems/agency-timeout", title: "Agency did not answer in time" },
  HUB_ERR_EVENT_INVALID: { status: 500, type: "/problems/event-invalid", title: "Event does not match its contract" },
  HUB_ERR_EVENT_PUBLISH_FAILED: { status: 503, type: "/problems/event-publish-failed", title: "Event could not be published" },
  HUB_ERR_SERVICE_UNAVAILABLE: { status: 503, type: "/problems/service-unavailable", title: "Service unavailable" },
  HUB_ERR_INTERNAL: { status: 500, type: "/problems/internal", title: "Internal error" },
} as const;

export type ErrorCode = keyof typeof ERRORS;

/** A hub error that crosses NATS intact: Moleculer carries code (status), type and data. */
export class HubError extends Errors.MoleculerError {
  constructor(code: ErrorCode, detail: string, data?: Record<string, unknown>) {
    super(detail, ERRORS[code].status, code, data);
    this.name = "HubError";
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && value in ERRORS;
}
