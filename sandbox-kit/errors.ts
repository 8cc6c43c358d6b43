/** How a sandbox answers: a status and a body, errors in the agency's own format and codes. */

export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An error answer; each agency's subclass lays out the body the way its system does. */
export abstract class SandboxError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
  abstract body(): Record<string, unknown>;
  /** Headers the error is sent with (an agency answering problem+json names that media type). */
  headers(): Record<string, string> {
    return {};
  }
}

/** An error as `{errorCode, errorMessage, ...extra}`, the layout the registry and the CAD share. */
export class CodeMessageError extends SandboxError {
  body(): Record<string, unknown> {
    return { errorCode: this.code, errorMessage: this.message, ...this.extra };
  }
}

/** What the kit needs to speak an agency's dialect: its error type, codes and body limits. */
export interface Dialect {
  error(status: number, code: string, message: string): SandboxError;
  codes: {
    invalid: string;
    notFound: string;
    methodNotAllowed: string;
    unavailable: string;
    internal: string;
    unsupportedMediaType: string;
    payloadTooLarge: string;
    idempotencyKeyMissing: string;
    idempotencyKeyReused: string;
    idempotencyKeyInUse: string;
  };
  maxBodyBytes: number;
  /** How the 415 message names the media type a route accepts. */
  mediaTypeName(accepts: RegExp): string;
}

/** The codes of agencies that name their errors after the HTTP status (the registry, the CAD). */
export const HTTP_STYLE_CODES: Dialect["codes"] = {
  invalid: "INVALID_REQUEST",
  notFound: "NOT_FOUND",
  methodNotAllowed: "METHOD_NOT_ALLOWED",
  unavailable: "SERVICE_UNAVAILABLE",
  internal: "INTERNAL_ERROR",
  unsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
  payloadTooLarge: "PAYLOAD_TOO_LARGE",
  idempotencyKeyMissing: "IDEMPOTENCY_KEY_MISSING",
  idempotencyKeyReused: "IDEMPOTENCY_KEY_REUSED",
  idempotencyKeyInUse: "IDEMPOTENCY_KEY_IN_USE",
};

export const invalid = (dialect: Dialect, message: string) => dialect.error(400, dialect.codes.invalid, message);
