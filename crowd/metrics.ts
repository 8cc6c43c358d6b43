/**
 * The crowd watch's metrics: places per level, counting devices and the stale ones, readings
 * handled and dropped (by reason), level events and their lag. No label per place: the
 * per-place view is `GET /v1/key-places`.
 */
import client from "prom-client";
import { DROP_REASONS, type CrowdState, type DropReason, type Level } from "./state";

const LEVELS: Level[] = ["normal", "warning", "critical"];

/** The state the gauges read when scraped (the crowd node's; none elsewhere). */
let watched: CrowdState | undefined;
export const watchState = (state: CrowdState | undefined) => void (watched = state);

new client.Gauge({
  name: "hub_crowd_places",
  help: "Key places the crowd watch holds, by crowd level (normal, warning, critical)",
  labelNames: ["level"] as const,
  collect() {
    this.reset();
    if (!watched) return;
    const levels = watched.levels();
    for (const level of LEVELS) this.set({ level }, levels[level]);
  },
});
new client.Gauge({
  name: "hub_crowd_devices",
  help: "Counting devices registered at key places",
  collect() {
    this.reset();
    if (watched) this.set(watched.deviceCount());
  },
});
new client.Gauge({
  name: "hub_crowd_stale_devices",
  help: "Counting devices whose latest reading is older than CROWD_STALE_MS (it no longer counts)",
  collect() {
    this.reset();
    if (watched) this.set(watched.staleDevices());
  },
});

export const handled = new client.Counter({
  name: "hub_crowd_counts_total",
  help: "Device readings (COUNTS) the crowd watch took into its places' counts",
});
export const droppedCounter = new client.Counter({
  name: "hub_crowd_counts_dropped_total",
  help: "Device readings the crowd watch dropped, by reason: malformed (not JSON), invalid (breaks CrowdCount), wrong_subject (the body's device is not the subject's), unknown_device, unknown_place, wrong_place (not the device's registered place), negative, absurd (over 10x capacity), future (over 5 minutes ahead), out_of_order, duplicate",
  labelNames: ["reason"] as const,
});
for (const reason of DROP_REASONS) droppedCounter.inc({ reason }, 0);
export const dropped = (reason: DropReason) => droppedCounter.inc({ reason });

export const levelEvents = new client.Counter({
  name: "hub_crowd_level_changes_total",
  help: "crowd.level.changed events published, by the new level",
  labelNames: ["level"] as const,
});
for (const level of LEVELS) levelEvents.inc({ level }, 0);

export const levelLag = new client.Histogram({
  name: "hub_crowd_level_event_lag_seconds",
  help: "From the `at` of the reading that changed a place's level (or the moment its readings went stale) to its crowd.level.changed event stored on EVENTS",
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});
