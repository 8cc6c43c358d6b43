/**
 * HTTP to an agency system, with the failure modes named: unreachable or 5xx (unavailable),
 * no answer in time (timeout), an answer that is not JSON (bad answer). The adapter's
 * mapping then checks the JSON against the agency's format. Every call goes through the
 * agency's guard (circuit breaker, bulkhead) and, when the adapter says it is safe to
 * repeat (a read, or a write with an idempotency key), is retried with backoff.
 */
import { HubError } from "./errors";
import { AgencyGuard, DEFAULT_POLICY, type ResiliencePolicy } from "./resilience";

/**
 * Bounds on a whole action at an agency, retries included (Moleculer's per-action
 * `timeout`): a lookup must answer quickly, a change may wait for the agency's retries.
 */
export const ACTION_TIMEOUT_MS = { read: 10_000, change: 30_000 } as const;

export interface AgencyAnswer {
  status: number;
  body: unknown;
}

export interface AgencyCall {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  /** The body's media type when it is not JSON (CAP XML): `body` is then sent as the string it is. */
  contentType?: string;
  idempotencyKey?: string;
  requestId?: string;
  /** Safe to repeat: a read, or a write the agency de-duplicates by its idempotency key. */
  retry?: boolean;
  /** This call's timeout, when it differs from the agency's. */
  timeoutMs?: number;
}

export interface AgencyOptions {
  /** Sent as a bearer token, where the agency's system requires one. */
  token?: string;
  policy?: ResiliencePolicy;
}

export class AgencyClient {
  readonly guard: AgencyGuard;

  constructor(
    readonly agency: string,
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
    private readonly options: AgencyOptions = {},
  ) {
    this.guard = new AgencyGuard(agency, options.policy ?? DEFAULT_POLICY);
  }

  call(c: AgencyCall): Promise<AgencyAnswer> {
    return this.guard.run(() => this.send(c), c.retry === true);
  }

  private async send(c: AgencyCall): Promise<AgencyAnswer> {
    const timeoutMs = c.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const raw = c.contentType !== undefined && typeof c.body === "string";
    if (c.body !== undefined) headers["Content-Type"] = raw ? c.contentType! : "application/json";
    if (c.idempotencyKey) headers["Idempotency-Key"] = c.idempotencyKey;
    if (c.requestId) headers["X-Request-Id"] = c.requestId;
    let res: Response;
    try {
      res = await fetch(this.baseUrl + c.path, {
        method: c.method,
        headers,
        body: c.body === undefined ? undefined : raw ? (c.body as string) : JSON.stringify(c.body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      if (e.name === "TimeoutError") throw new HubError("HUB_ERR_AGENCY_TIMEOUT", `${this.agency} did not answer within ${timeoutMs} ms`, { agency: this.agency });
      throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${this.agency} is unreachable`, { agency: this.agency });
    }
    let text: string;
    try {
      text = await res.text();
    } catch {
      throw new HubError("HUB_ERR_AGENCY_TIMEOUT", `${this.agency} did not finish its answer within ${timeoutMs} ms`, { agency: this.agency });
    }
    if (res.status >= 500) throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${this.agency} answered ${res.status}`, { agency: this.agency, agencyStatus: res.status });
    try {
      return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
    } catch {
      throw this.badAnswer(`its ${res.status} answer is not JSON`);
    }
  }

  badAnswer(what: string): HubError {
    return new HubError("HUB_ERR_AGENCY_BAD_ANSWER", `${this.agency} answered outside its contract: ${what}`, { agency: this.agency });
  }
}
