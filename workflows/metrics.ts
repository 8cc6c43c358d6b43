/**
 * Linkage metrics: started, ended by outcome, and how long a citizen waited, per linkage
 * type; the completion rate and the waiting time are read off these directly. Every series
 * exists from start-up at zero, for every type the contract names.
 */
import client from "prom-client";
import { openapi } from "../contracts";
import { sampled } from "../platform/metrics";

const TYPES = (openapi.components as { schemas: Record<string, { "x-extensible-enum": string[] }> }).schemas.LinkageType!["x-extensible-enum"];
const OUTCOMES = ["COMPLETED", "REFUSED", "COMPENSATED", "CANCELLED", "FAILED"] as const;

/** The metric's outcome: COMPENSATED when a linkage that did not complete undid steps it had done. */
export const outcomeOf = (status: string, compensated = false) => (compensated && status !== "COMPLETED" ? "COMPENSATED" : status);

export const linkagesStarted = new client.Counter({
  name: "hub_linkages_started_total",
  help: "Linkages started, by type",
  labelNames: ["linkage_type"] as const,
});
export const linkagesEnded = new client.Counter({
  name: "hub_linkages_ended_total",
  help: "Linkages ended, by type and outcome: COMPLETED; REFUSED, CANCELLED or FAILED with nothing to undo; COMPENSATED (did not complete, undid steps it had done)",
  labelNames: ["linkage_type", "outcome"] as const,
});
export const linkageDuration = new client.Histogram({
  name: "hub_linkage_duration_seconds",
  help: "From a linkage's start to its end, by type",
  labelNames: ["linkage_type"] as const,
  buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
});

for (const type of TYPES) {
  linkagesStarted.inc({ linkage_type: type }, 0);
  linkageDuration.zero({ linkage_type: type });
  for (const outcome of OUTCOMES) linkagesEnded.inc({ linkage_type: type, outcome }, 0);
}

/** How long a linkage of each type may stay open before it counts as stuck (`hub_linkages_overdue`). */
export const OVERDUE_AFTER_S: Record<string, number> = {
  "marriage-registration": 600,
  "eid-issuance": 600,
  "resident-relocation": 1800,
  // Waits for the emergency service's all-clear by design: days, not seconds.
  "incident-utilities": 72 * 3600,
  // Its retry schedule runs for about 31 hours by default (LINKAGE_NOTIFY_RETRY_MS).
  "address-change-notification": 32 * 3600,
  // Its reviews, and the organiser's documents (PERMIT_DOCUMENT_DEADLINE_MS, 72 h by default); an issued permit then runs to its event's end by design (below).
  "event-permit": 73 * 3600,
  // Open while its key place is crowded, then DISPATCH_CLEAR_AFTER_MS (10 min by default): a day is stuck.
  "crowd-dispatch": 24 * 3600,
};

/** Waiting states a linkage stays in by design, however long: not stuck (an issued permit waits for its event to end). */
const WAITING_BY_DESIGN: Record<string, string> = { "event-permit": "ISSUED" };

/**
 * Open and overdue linkages, counted in Temporal's visibility store when scraped (cached for
 * 10 s). Reported by nodes running the linkages service, which name their counter here.
 */
let countWith: ((query: string) => Promise<number>) | undefined;
export const countLinkagesWith = (count: typeof countWith) => void (countWith = count);

const openLinkages = sampled(10_000, async () => {
  const count = countWith;
  if (!count) return [];
  const open = (type: string) => `ExecutionStatus = "Running" AND LinkageType = "${type}"`;
  return Promise.all(
    TYPES.map(async (type) => {
      const since = new Date(Date.now() - (OVERDUE_AFTER_S[type] ?? 3600) * 1000).toISOString();
      const waiting = WAITING_BY_DESIGN[type] ? ` AND LinkageStatus != "${WAITING_BY_DESIGN[type]}"` : "";
      const [running, overdue] = await Promise.all([count(open(type)), count(`${open(type)} AND StartTime < "${since}"${waiting}`)]);
      return { type, running, overdue };
    }),
  );
});

for (const [name, help, field] of [
  ["hub_linkages_running", "Linkages open now, by type (Temporal visibility)", "running"],
  ["hub_linkages_overdue", "Linkages open longer than their type allows (OVERDUE_AFTER_S), by type: stuck", "overdue"],
] as const)
  new client.Gauge({
    name,
    help,
    labelNames: ["linkage_type"] as const,
    async collect() {
      const counts = await openLinkages().catch(() => undefined);
      // Unknown (Temporal away): no sample, rather than a made-up zero.
      this.reset();
      for (const c of counts ?? []) this.set({ linkage_type: c.type }, c[field]);
    },
  });
