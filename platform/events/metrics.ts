/**
 * Event metrics: published, consumed, redelivered and dead-lettered counts, and each consumer
 * group's lag read from JetStream when scraped (num_pending: stored, not yet delivered;
 * num_ack_pending: delivered, not yet acknowledged). Several processes of one group report
 * the same lag: dashboards take the max per stream and consumer.
 */
import client from "prom-client";
import type { JetStreamManager } from "nats";
import { EVENT_TYPES } from "../../contracts";
import { sampled } from "../metrics";

export const published = new client.Counter({
  name: "hub_events_published_total",
  help: "Events stored by JetStream (duplicates of a stored id not counted), by type",
  labelNames: ["type"] as const,
});
export const consumed = new client.Counter({
  name: "hub_events_consumed_total",
  help: "Events a consumer group acknowledged, by outcome: handled, or duplicate (its id was handled before)",
  labelNames: ["consumer", "outcome"] as const,
});
export const redelivered = new client.Counter({
  name: "hub_events_redelivered_total",
  help: "Deliveries of an event after its first (a failed or crashed attempt)",
  labelNames: ["consumer"] as const,
});
export const deadLettered = new client.Counter({
  name: "hub_events_dead_lettered_total",
  help: "Events a consumer group gave up on and moved to DEAD_LETTERS",
  labelNames: ["consumer"] as const,
});
for (const type of Object.keys(EVENT_TYPES)) published.inc({ type }, 0);

/** The consumers this process runs, whose lag it reports. */
const watched = new Map<string, { jsm: JetStreamManager; stream: string; consumer: string }>();

const INFO_TIMEOUT_MS = 1000;

/** Each watched consumer's info from JetStream, one reading for both gauges of a scrape. */
const consumerInfos = sampled(1000, () =>
  Promise.all(
    [...watched.values()].map(async ({ jsm, stream, consumer }) => ({
      stream,
      consumer,
      info: await Promise.race([
        jsm.consumers.info(stream, consumer),
        new Promise<undefined>((r) => setTimeout(() => r(undefined), INFO_TIMEOUT_MS).unref()),
      ]).catch(() => undefined),
    })),
  ),
);

for (const [name, help, field] of [
  ["hub_event_consumer_lag_messages", "Events stored in the stream and not yet delivered to the consumer group (JetStream num_pending)", "num_pending"],
  ["hub_event_consumer_ack_pending", "Events delivered to the consumer group and not yet acknowledged (JetStream num_ack_pending)", "num_ack_pending"],
] as const)
  new client.Gauge({
    name,
    help,
    labelNames: ["stream", "consumer"] as const,
    async collect() {
      const infos = await consumerInfos();
      this.reset();
      // Unknown (NATS away): no sample, rather than a made-up zero.
      for (const { stream, consumer, info } of infos) if (info) this.set({ stream, consumer }, info[field]);
    },
  });

/** Reports a consumer group's counters from zero and its lag until the returned stop. */
export function watchConsumer(jsm: JetStreamManager, stream: string, consumer: string): () => void {
  for (const outcome of ["handled", "duplicate"]) consumed.inc({ consumer, outcome }, 0);
  redelivered.inc({ consumer }, 0);
  deadLettered.inc({ consumer }, 0);
  const key = `${stream}/${consumer}`;
  watched.set(key, { jsm, stream, consumer });
  return () => watched.delete(key);
}
