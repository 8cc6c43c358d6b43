/** The flights service's metrics: answers by outcome and how long they took, withdrawals, zones held. No label per report, operator or place. */
import client from "prom-client";

export const OUTCOMES = ["ACCEPTED", "REFUSED"] as const;

export const answers = new client.Counter({
  name: "hub_flight_reports_total",
  help: "Drone flight reports answered, by outcome (ACCEPTED, REFUSED); a report refused as a 4xx problem is not counted here",
  labelNames: ["outcome"] as const,
});
export const answerSeconds = new client.Histogram({
  name: "hub_flight_report_answer_seconds",
  help: "From a flight report's arrival at the flights service to its answer recorded (identity and registry checks, geometry, the record and its event), by outcome",
  labelNames: ["outcome"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
});
for (const outcome of OUTCOMES) {
  answers.inc({ outcome }, 0);
  answerSeconds.zero({ outcome });
}
export const withdrawals = new client.Counter({
  name: "hub_flight_reports_withdrawn_total",
  help: "Accepted drone flights withdrawn because an event area opened across them",
});

let held: (() => number) | undefined;
export const zonesHeld = (count: (() => number) | undefined) => void (held = count);
new client.Gauge({
  name: "hub_flight_no_fly_zones",
  help: "No-fly zones the flights node holds in memory (read from the aviation authority every FLIGHTS_SYNC_MS)",
  collect() {
    this.reset();
    if (held) this.set(held());
  },
});
