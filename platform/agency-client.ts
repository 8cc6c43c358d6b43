/**
 * HTTP to an agency system, with the failure modes named: unreachable or 5xx (unavailable),
 * no answer in time (timeout), an answer that is not JSON (bad answer). The adapter's
 * mapping then checks the JSON against the agency's format. Every call goes through the
 * agency's guard (circuit breaker, bulkhead) and, when the adapter says it is safe to
 * repeat (a read, or a write with an idempotency key), is retried with backoff.
 */
import type { Context, ServiceSchema } from "moleculer";
import client from "prom-client";
import { actionContract } from "../contracts";
import { HubError } from "./errors";
import { exchange, type ExchangeAnswer } from "./http-exchange";
import type { ServiceTally } from "./hub-node";
import { AgencyGuard, DEFAULT_POLICY, type ResiliencePolicy } from "./resilience";

const calls = new client.Counter({
  name: "hub_agency_calls_total",
  help: "HTTP calls to an agency (each attempt) by action and outcome: ok, client_error (a 4xx answer: a refusal, not a failure), unavailable, timeout, bad_answer",
  labelNames: ["agency", "action", "outcome"] as const,
});
const duration = new client.Histogram({
  name: "hub_agency_call_duration_seconds",
  help: "Time to an agency's whole answer, each attempt",
  labelNames: ["agency", "action"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});
const replays = new client.Counter({
  name: "hub_agency_idempotent_replays_total",
  help: "Answers an agency replayed for an idempotency key it had seen (Idempotent-Replayed): a retry that reached it twice",
  labelNames: ["agency", "action"] as const,
});
const up = new client.Gauge({
  name: "hub_agency_up",
  help: "The agency's health endpoint answered 2xx at the last probe (1) or not (0)",
  labelNames: ["agency"] as const,
});

const OUTCOMES = ["ok", "client_error", "unavailable", "timeout", "bad_answer"] as const;
const outcomeOf = (err: unknown): (typeof OUTCOMES)[number] =>
  (({ HUB_ERR_AGENCY_TIMEOUT: "timeout", HUB_ERR_AGENCY_BAD_ANSWER: "bad_answer" }) as const)[(err as HubError).type as string] ?? "unavailable";

/**
 * Bounds on a whole action at an agency, retries included (Moleculer's per-action
 * `timeout`): a lookup must answer quickly, a change may wait for the agency's retries.
 */
export const ACTION_TIMEOUT_MS = { read: 10_000, change: 30_000 } as const;

/** An agency action's contract and time bound: its params and result (contract schema names) and the timeout of its kind. */
export function agencyAction(kind: keyof typeof ACTION_TIMEOUT_MS, params: string, result: string) {
  return { timeout: ACTION_TIMEOUT_MS[kind], ...actionContract(params, result) };
}

export interface AgencyAnswer {
  status: number;
  body: unknown;
  /** The agency answered from its idempotency record: it had taken this request before. */
  replayed?: boolean;
}

export interface AgencyCall {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  /** The body's media type when it is not JSON (CAP XML): `body` is then sent as the string it is. */
  contentType?: string;
  idempotencyKey?: string;
  /** The action calling: its name labels the metrics, its request id goes along. */
  ctx: Context;
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
    return this.guard.run(() => this.measured(c), c.retry === true);
  }

  /** Series at zero from start-up for each of the adapter's actions. */
  declare(actions: string[]): void {
    for (const action of actions) {
      duration.zero({ agency: this.agency, action });
      replays.inc({ agency: this.agency, action }, 0);
      for (const outcome of OUTCOMES) calls.inc({ agency: this.agency, action, outcome }, 0);
    }
  }

  /** Probes the agency's health endpoint every `everyMs` into `hub_agency_up` (and `probed`, if given); returns the stop. */
  probe(path: string, everyMs: number, probed: (up: boolean) => void = () => {}): () => void {
    const seen = (ok: boolean) => (up.set({ agency: this.agency }, ok ? 1 : 0), probed(ok));
    const check = () =>
      fetch(this.baseUrl + path, { signal: AbortSignal.timeout(Math.min(everyMs, this.timeoutMs)) }).then(
        (res) => (void res.body?.cancel(), seen(res.ok)),
        () => seen(false),
      );
    void check();
    const timer = setInterval(check, everyMs).unref();
    return () => clearInterval(timer);
  }

  private async measured(c: AgencyCall): Promise<AgencyAnswer> {
    const labels = { agency: this.agency, action: c.ctx.action?.name ?? c.ctx.event?.name ?? "unknown" };
    const stop = duration.startTimer(labels);
    try {
      const answer = await this.send(c);
      calls.inc({ ...labels, outcome: answer.status >= 400 ? "client_error" : "ok" });
      if (answer.replayed) replays.inc(labels);
      return answer;
    } catch (err) {
      calls.inc({ ...labels, outcome: outcomeOf(err) });
      throw err;
    } finally {
      stop();
    }
  }

  private async send(c: AgencyCall): Promise<AgencyAnswer> {
    const timeoutMs = c.timeoutMs ?? this.timeoutMs;
    const headers: Record<string, string> = { Accept: "application/json" };
    if (this.options.token) headers.Authorization = `Bearer ${this.options.token}`;
    const raw = c.contentType !== undefined && typeof c.body === "string";
    if (c.body !== undefined) headers["Content-Type"] = raw ? c.contentType! : "application/json";
    if (c.idempotencyKey) headers["Idempotency-Key"] = c.idempotencyKey;
    if (c.ctx.requestID) headers["X-Request-Id"] = c.ctx.requestID;
    let res: ExchangeAnswer;
    try {
      res = await exchange(this.baseUrl + c.path, {
        method: c.method,
        headers,
        body: c.body === undefined ? undefined : raw ? (c.body as string) : JSON.stringify(c.body),
        timeoutMs,
      });
    } catch (err) {
      if ((err as Error).name === "TimeoutError")
        throw new HubError("HUB_ERR_AGENCY_TIMEOUT", `${this.agency} did not answer within ${timeoutMs} ms`, { agency: this.agency });
      throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${this.agency} is unreachable`, { agency: this.agency });
    }
    if (res.status >= 500)
      throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${this.agency} answered ${res.status}`, { agency: this.agency, agencyStatus: res.status });
    try {
      return { status: res.status, body: res.text === "" ? undefined : JSON.parse(res.text), replayed: res.headers["idempotent-replayed"] === "true" };
    } catch {
      throw this.badAnswer(`its ${res.status} answer is not JSON`);
    }
  }

  badAnswer(what: string): HubError {
    return new HubError("HUB_ERR_AGENCY_BAD_ANSWER", `${this.agency} answered outside its contract: ${what}`, { agency: this.agency });
  }
}

/**
 * An adapter's service: its agency's series at zero for each action from start-up, and its
 * health probed while it runs, each probe counted for the catalogue's availability figure of
 * every operation of the agency.
 */
export function agencyService(client: AgencyClient, probeMs: number, schema: ServiceSchema, tally?: ServiceTally): ServiceSchema {
  const actions = Object.keys(schema.actions ?? {}).map((action) => `${schema.name}.${action}`);
  client.declare(actions);
  let stopProbe = () => {};
  return {
    ...schema,
    started() {
      stopProbe = client.probe("/healthz", probeMs, (ok) => tally?.agencyProbed(actions, ok));
    },
    stopped() {
      stopProbe();
    },
  };
}
