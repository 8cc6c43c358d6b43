/** The registry's answers: a status and a body, errors in its own `{errorCode, errorMessage}` format. */
import { CodeMessageError, HTTP_STYLE_CODES, type Dialect } from "../../../sandbox-kit/errors";

export type { Answer } from "../../../sandbox-kit/errors";

/** An answer in the agency's own error format: `{errorCode, errorMessage, ...extra}`. */
export class AgencyError extends CodeMessageError {}

export const REGISTRY: Dialect = {
  error: (status, code, message) => new AgencyError(status, code, message),
  codes: HTTP_STYLE_CODES,
  maxBodyBytes: 64 * 1024,
  mediaTypeName: () => "application/json",
};
