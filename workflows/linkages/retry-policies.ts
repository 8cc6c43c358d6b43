/**
 * How long each kind of activity may take and how it is retried, named once. A business
 * refusal is never retried (activities throw it as non-retryable); these bound the technical
 * failures, after which a linkage ends FAILED, or, for an emergency, keeps trying.
 */
import type { ActivityOptions } from "@temporalio/workflow";

/** Calls to the civil registry: about 25 s of retries (10 attempts), then the linkage fails. */
export const REGISTRY_CALLS: ActivityOptions = {
  startToCloseTimeout: "15s",
  retry: { initialInterval: "200ms", backoffCoefficient: 2, maximumInterval: "5s", maximumAttempts: 10 },
};

/** Utility orders that are not urgent (an account transfer): 10 attempts, then the linkage compensates. */
export const UTILITY_ORDERS: ActivityOptions = {
  startToCloseTimeout: "40s",
  retry: { initialInterval: "200ms", backoffCoefficient: 2, maximumInterval: "5s", maximumAttempts: 10 },
};

/** An emergency suspension keeps trying for as long as it takes, on purpose: its deadline escalates to people instead. */
export const EMERGENCY_ORDERS: ActivityOptions = {
  startToCloseTimeout: "40s",
  retry: { initialInterval: "200ms", backoffCoefficient: 2, maximumInterval: "10s" },
};

/** Events the hub itself publishes (escalations, the end of a linkage): the SDK's default retries. */
export const ANNOUNCEMENTS: ActivityOptions = { startToCloseTimeout: "10s" };

/**
 * A call to a catalogue service (activities/catalogue.ts): a few quick attempts (the activity
 * makes only safe or keyed calls retryable), after which a linkage's own schedule, in durable
 * timers, decides when to try again.
 */
export const CATALOGUE_CALLS: ActivityOptions = {
  startToCloseTimeout: "75s",
  retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "5s", maximumAttempts: 3 },
};

/** Reading the catalogue (which services take part in a linkage): as the registry's calls. */
export const CATALOGUE_LOOKUPS: ActivityOptions = REGISTRY_CALLS;

/**
 * An event permit's calls to the police and the fire service: keyed, so repeated until the
 * agency is back (every 10 s at most), however long it is away; a refusal is final at once.
 * A permit waits for its reviews rather than failing because an agency was down for an hour.
 */
export const PERMIT_AGENCY_CALLS: ActivityOptions = {
  startToCloseTimeout: "75s",
  retry: { initialInterval: "500ms", backoffCoefficient: 2, maximumInterval: "10s" },
};

/** The hub's own records of a permit (venue capacity, events): as the registry's calls. */
export const PERMIT_RECORDS: ActivityOptions = REGISTRY_CALLS;
