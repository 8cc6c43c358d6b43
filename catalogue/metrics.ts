/**
 * Mediated calls, per service and outcome (never per path value: ids in paths would be
 * unbounded): ok (the provider answered below 400), client_error (it answered 4xx), refused
 * (the hub refused: token, right, purpose, quota, the document), bad_answer (the provider broke
 * its document, or its address is refused), unavailable (5xx, unreachable, breaker open),
 * timeout.
 */
import client from "prom-client";

export const OUTCOMES = ["ok", "client_error", "refused", "bad_answer", "unavailable", "timeout"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const calls = new client.Counter({
  name: "hub_catalogue_calls_total",
  help: "Calls to catalogue services through the hub (REST /r1 and NATS catalogue.call), by service and outcome",
  labelNames: ["service", "outcome"] as const,
});
export const duration = new client.Histogram({
  name: "hub_catalogue_call_duration_seconds",
  help: "Time to answer a mediated call, checks, provider and audit included, by service",
  labelNames: ["service"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
});

/**
 * Calls to request-response catalogue services (registered services, counted where they are
 * mediated, and the built-in agencies' operations, counted on the agency's node) as their
 * completion rate counts them: completed (answered without a hub or provider error: a 4xx is
 * completed) or failed (5xx, timeout). `service` is a catalogue service id, or `unknown`.
 */
export const serviceCalls = new client.Counter({
  name: "hub_service_calls_total",
  help: "Calls to catalogue services (registered and built-in) by service and outcome: completed (no hub or provider error; a 4xx included) or failed (5xx, timeout)",
  labelNames: ["service", "outcome"] as const,
});

/** A service's series at zero from its first use on this node. */
export function declareService(service: string): void {
  duration.zero({ service });
  for (const outcome of OUTCOMES) calls.inc({ service, outcome }, 0);
  for (const outcome of ["completed", "failed"]) serviceCalls.inc({ service, outcome }, 0);
}

/** The outcome of a call that ended in an error. */
export function outcomeOfError(type: string | undefined): Outcome {
  if (type === "HUB_ERR_AGENCY_TIMEOUT") return "timeout";
  if (type === "HUB_ERR_AGENCY_UNAVAILABLE" || type === "HUB_ERR_SERVICE_UNAVAILABLE") return "unavailable";
  if (type === "HUB_ERR_AGENCY_BAD_ANSWER" || type === "HUB_ERR_PROVIDER_ADDRESS") return "bad_answer";
  return "refused";
}
