/**
 * Guards for calls to one agency: a circuit breaker (after consecutive failures, calls fail
 * fast for a while, then one probe decides), a bulkhead (a bounded number of calls in flight
 * and waiting, so one slow agency cannot take every socket and every worker), and retries
 * with exponential backoff and jitter, for calls the caller marks safe to repeat.
 */
import client from "prom-client";
import { HubError } from "./errors";

export interface ResiliencePolicy {
  /** Consecutive failures that open the breaker. */
  failureThreshold: number;
  /** How long the breaker stays open before one probe call is let through. */
  openMs: number;
  /** Calls in flight at once; more wait in a queue of `queue`, beyond that they are refused. */
  concurrency: number;
  queue: number;
  /** Further attempts for a call that is safe to repeat, and the first backoff. */
  retries: number;
  retryBaseMs: number;
}

export const DEFAULT_POLICY: ResiliencePolicy = { failureThreshold: 10, openMs: 5000, concurrency: 32, queue: 256, retries: 3, retryBaseMs: 100 };

const guards = new Set<AgencyGuard>();
const breakerState = new client.Gauge({
  name: "hub_agency_circuit_state",
  help: "Circuit breaker per agency: 0 closed, 1 half-open, 2 open",
  labelNames: ["agency"],
  // Read when scraped: an open breaker turns half-open with time, not only on a call.
  collect() {
    for (const guard of guards) void guard.circuit;
  },
});
const retriesTotal = new client.Counter({ name: "hub_agency_retries_total", help: "Calls to an agency repeated after a failure", labelNames: ["agency"] });
const rejectedTotal = new client.Counter({
  name: "hub_agency_rejected_total",
  help: "Calls refused without reaching the agency",
  labelNames: ["agency", "reason"],
});

type State = "closed" | "half-open" | "open";
const STATE_VALUE: Record<State, number> = { closed: 0, "half-open": 1, open: 2 };

/** Failures that say the agency is unwell; business refusals and bad requests do not count. */
const isAgencyFailure = (err: unknown) => ["HUB_ERR_AGENCY_UNAVAILABLE", "HUB_ERR_AGENCY_TIMEOUT"].includes((err as { type?: string }).type ?? "");

export class AgencyGuard {
  private state: State = "closed";
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly agency: string,
    private readonly policy: ResiliencePolicy = DEFAULT_POLICY,
  ) {
    breakerState.set({ agency }, 0);
    guards.add(this);
    for (const reason of ["circuit_open", "bulkhead_full"]) rejectedTotal.inc({ agency, reason }, 0);
    retriesTotal.inc({ agency }, 0);
  }

  get circuit(): State {
    if (this.state === "open" && Date.now() - this.openedAt >= this.policy.openMs) this.setState("half-open");
    return this.state;
  }

  /** Runs `attempt` under the breaker and bulkhead, repeating it on agency failures when `retry`. */
  async run<T>(attempt: () => Promise<T>, retry: boolean): Promise<T> {
    for (let n = 0; ; n++) {
      try {
        return await this.once(attempt);
      } catch (err) {
        const again = retry && n < this.policy.retries && isAgencyFailure(err) && this.circuit !== "open";
        if (!again) throw err;
        retriesTotal.inc({ agency: this.agency });
        const backoff = this.policy.retryBaseMs * 2 ** n;
        await new Promise((r) => setTimeout(r, backoff / 2 + Math.random() * backoff));
      }
    }
  }

  private async once<T>(attempt: () => Promise<T>): Promise<T> {
    const circuit = this.circuit;
    if (circuit === "open" || (circuit === "half-open" && this.probing)) {
      rejectedTotal.inc({ agency: this.agency, reason: "circuit_open" });
      throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${this.agency} is failing; calls are paused for a few seconds (circuit open)`, {
        agency: this.agency,
        circuit: "open",
      });
    }
    const probe = circuit === "half-open";
    if (probe) this.probing = true;
    await this.enter();
    try {
      const result = await attempt();
      this.failures = 0;
      if (this.state !== "closed") this.setState("closed");
      return result;
    } catch (err) {
      if (isAgencyFailure(err)) {
        this.failures++;
        if (probe || this.failures >= this.policy.failureThreshold) {
          this.openedAt = Date.now();
          this.setState("open");
        }
      } else if (probe) {
        this.setState("closed");
      }
      throw err;
    } finally {
      if (probe) this.probing = false;
      this.leave();
    }
  }

  private async enter(): Promise<void> {
    if (this.inFlight < this.policy.concurrency) {
      this.inFlight++;
      return;
    }
    if (this.waiting.length >= this.policy.queue) {
      rejectedTotal.inc({ agency: this.agency, reason: "bulkhead_full" });
      throw new HubError("HUB_ERR_AGENCY_UNAVAILABLE", `${this.agency} has too many calls waiting; try again shortly`, { agency: this.agency });
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.inFlight++;
  }

  private leave(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }

  private setState(state: State): void {
    this.state = state;
    breakerState.set({ agency: this.agency }, STATE_VALUE[state]);
  }
}
