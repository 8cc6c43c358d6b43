/**
 * The JetStream streams, in one place: every domain event on EVENTS (subjects by agency and
 * type, `events.<agency>.<noun>.<verb>`; replays to one consumer group on
 * `replay.<group>.<type>`), what consumers gave up on in DEAD_LETTERS, and the counting
 * devices' readings on COUNTS (`counts.<placeId>.<deviceId>`, in memory, apart from EVENTS so
 * a flood of counts cannot push domain events out). Created or updated at start-up by every
 * node that uses the bus, with the replicas HUB_STREAM_REPLICAS asks for (their consumers
 * take the stream's).
 */
import { DiscardPolicy, nanos, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from "nats";

const DAY_MS = 24 * 3600 * 1000;

export const EVENTS_STREAM = "EVENTS";
export const DEAD_LETTER_STREAM = "DEAD_LETTERS";
export const COUNTS_STREAM = "COUNTS";

/** How long COUNTS keeps a reading: longer than a reading counts (2 minutes), so a restarted crowd node rebuilds from it. */
export const COUNTS_MAX_AGE_MS = 10 * 60 * 1000;
/** Readings COUNTS keeps per device subject. */
export const COUNTS_PER_SUBJECT = 10;

/** JetStream drops a second message with the same Nats-Msg-Id within this window. */
export const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

export const STREAMS: Partial<StreamConfig>[] = [
  {
    name: EVENTS_STREAM,
    description: "Domain events of the hub (CloudEvents 1.0 JSON)",
    subjects: ["events.>", "replay.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(30 * DAY_MS),
    max_bytes: 10 * 1024 ** 3,
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  },
  {
    name: DEAD_LETTER_STREAM,
    description: "Events a consumer group gave up on, with the reason in the headers",
    subjects: ["dead.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(90 * DAY_MS),
    duplicate_window: nanos(DUPLICATE_WINDOW_MS),
  },
  {
    name: COUNTS_STREAM,
    description: "Counting devices' readings at key places (plain JSON CrowdCount), read by the crowd watch",
    subjects: ["counts.>"],
    storage: StorageType.Memory,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(COUNTS_MAX_AGE_MS),
    // A flood cannot exhaust the server's memory: the oldest readings go first, at most this
    // many per device's subject (only a device's latest reading counts, so a rebuild needs
    // little) and this many bytes in all.
    max_msgs_per_subject: COUNTS_PER_SUBJECT,
    max_bytes: 256 * 1024 ** 2,
    max_msg_size: 1024,
    // Devices publish plain NATS messages too; no de-duplication window to keep in memory.
    duplicate_window: nanos(1000),
  },
];

/**
 * Creates the streams, or updates them to STREAMS, with `replicas` copies each (HUB_STREAM_REPLICAS:
 * 1 on one server; 3 on a cluster of 3, where a stream then loses no message with any one
 * server gone). Raising it on an existing stream makes JetStream copy the stream to more servers.
 */
export async function ensureStreams(jsm: JetStreamManager, replicas = 1): Promise<void> {
  for (const stream of STREAMS) {
    const config = { ...stream, num_replicas: replicas };
    try {
      await jsm.streams.info(config.name!);
      await jsm.streams.update(config.name!, config);
    } catch (err) {
      if (!/stream not found/i.test((err as Error).message)) throw err;
      await jsm.streams.add(config);
    }
  }
}
