/** The registry's answers: a status and a body, errors in its own `{errorCode, errorMessage}` format. */

export interface Answer {
  status: number;
  body: unknown;
}

/** An answer in the agency's own error format: `{errorCode, errorMessage, ...extra}`. */
export class AgencyError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
  body(): Record<string, unknown> {
    return { errorCode: this.code, errorMessage: this.message, ...this.extra };
  }
}
