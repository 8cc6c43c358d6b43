/** The utility's dialect for the shared sandbox plumbing (platform/sandbox/): errors as `{err_code, err_msg}`. */
import type http from "node:http";
import { SandboxError, type Dialect } from "../../../sandbox-kit/errors";
import { idempotencyKeyOf as keyOf } from "../../../sandbox-kit/http";

export type { Answer } from "../../../sandbox-kit/errors";

/** An answer in the utility's own error format. */
export class UtilityError extends SandboxError {
  body(): { err_code: string; err_msg: string } {
    return { err_code: this.code, err_msg: this.message };
  }
}

export const UTILITY: Dialect = {
  error: (status, code, message) => new UtilityError(status, code, message),
  codes: {
    invalid: "E_BAD_REQ",
    notFound: "E_NOT_FOUND",
    methodNotAllowed: "E_METHOD",
    unavailable: "E_UNAVAIL",
    internal: "E_INTERNAL",
    unsupportedMediaType: "E_MEDIA_TYPE",
    payloadTooLarge: "E_TOO_LARGE",
    idempotencyKeyMissing: "E_IDEM_KEY",
    idempotencyKeyReused: "E_IDEM_REUSE",
    idempotencyKeyInUse: "E_IDEM_BUSY",
  },
  maxBodyBytes: 256 * 1024,
  mediaTypeName: () => "application/json",
};

export const badRequest = (message: string) => new UtilityError(400, "E_BAD_REQ", message);

/** The Idempotency-Key header, required on every order. */
export const idempotencyKeyOf = (headers: http.IncomingHttpHeaders) => keyOf(headers, UTILITY);
