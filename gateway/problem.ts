/**
 * Any error, from any layer, as RFC 9457 problem+json. Known hub errors keep their code;
 * Moleculer and moleculer-web errors are mapped; anything else is a 500 that names no
 * internals (the full error goes to the log only).
 */
import { Errors } from "moleculer";
import { ERRORS, isErrorCode, type ErrorCode } from "../platform/errors";
import type { ContractViolation } from "../contracts";

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ErrorCode;
  requestId: string;
  agency?: string;
  errors?: ContractViolation[];
}

/** moleculer-web and Moleculer error types the gateway can meet, as hub codes. */
const FOREIGN: Record<string, ErrorCode> = {
  NOT_FOUND: "HUB_ERR_ROUTE_NOT_FOUND",
  SERVICE_NOT_FOUND: "HUB_ERR_SERVICE_UNAVAILABLE",
  SERVICE_NOT_AVAILABLE: "HUB_ERR_SERVICE_UNAVAILABLE",
  SERVICE_UNAVAILABLE: "HUB_ERR_SERVICE_UNAVAILABLE",
  REQUEST_TIMEOUT: "HUB_ERR_SERVICE_UNAVAILABLE",
  REQUEST_REJECTED: "HUB_ERR_SERVICE_UNAVAILABLE",
  REQUEST_SKIPPED: "HUB_ERR_SERVICE_UNAVAILABLE",
  QUEUE_FULL: "HUB_ERR_SERVICE_UNAVAILABLE",
  UNSUPPORTED_MEDIA_TYPE: "HUB_ERR_REQUEST_MEDIA_TYPE",
  PAYLOAD_TOO_LARGE: "HUB_ERR_REQUEST_TOO_LARGE",
  INVALID_REQUEST_BODY: "HUB_ERR_REQUEST_MALFORMED",
};

export function toProblem(err: unknown, instance: string, requestId: string): { problem: Problem; internal: boolean } {
  const e = err as Partial<Errors.MoleculerError> & { type?: string };
  let code: ErrorCode = isErrorCode(e.type) ? e.type : (FOREIGN[e.type ?? ""] ?? "HUB_ERR_INTERNAL");
  if (e.name === "ValidationError") code = "HUB_ERR_REQUEST_INVALID";
  const def = ERRORS[code];
  const data = (e.data ?? {}) as { errors?: ContractViolation[]; agency?: string };
  const internal = code === "HUB_ERR_INTERNAL";
  const problem: Problem = {
    type: def.type,
    title: def.title,
    status: def.status,
    detail: internal ? "The hub could not complete the request. Quote the request id when reporting it." : (e.message ?? def.title),
    instance,
    code,
    requestId,
  };
  if (!internal && typeof data.agency === "string") problem.agency = data.agency;
  if (!internal && Array.isArray(data.errors)) problem.errors = data.errors;
  return { problem, internal };
}
