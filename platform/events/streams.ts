/**
 * The JetStream streams, in one place: every domain event on EVENTS (subjects by agency and
 * type, `events.<agency>.<noun>.<verb>`; replays to one consumer group on
 * `replay.<group>.<type>`), what consumers gave up on in DEAD_LETTERS, and the counting
 * devices' readings on COUNTS (`counts.<placeId>.<deviceId>`, in memory, apart from EVENTS so
 * a flood of counts cannot push domain events out). Created or updated at start-up by every
 * node that uses the bus: their max_age is their retention, which the server enforces, and
 * their replicas what HUB_STREAM_REPLICAS asks for (their consumers take the stream's).
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

/** How long EVENTS and DEAD_LETTERS keep a message (HUB_EVENTS_RETENTION_DAYS, HUB_DEAD_LETTERS_RETENTION_DAYS): the server drops older ones. */
export interface StreamAges {
  eventsDays: number;
  deadLettersDays: number;
}

/** The ages, and how many servers keep a copy of each stream (HUB_STREAM_REPLICAS). */
export interface StreamSettings extends StreamAges {
  replicas: number;
}

export const DEFAULT_STREAM_SETTINGS: StreamSettings = { eventsDays: 30, deadLettersDays: 90, replicas: 1 };

export const streamsOf = (ages: StreamAges): Partial<StreamConfig>[] => [
  {
    name: EVENTS_STREAM,
    description: "Domain events of the hub (CloudEvents 1.0 JSON)",
    subjects: ["events.>", "replay.>"],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(ages.eventsDays * DAY_MS),
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
    max_age: nanos(ages.deadLettersDays * DAY_MS),
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
 * Creates the streams, or brings their limits to what this node is configured with: max_age (their
 * retention) and `replicas` copies each (1 on one server; 3 on a cluster of 3, where a stream then
 * loses no message with any one server gone; raising it makes JetStream copy the stream over).
 */
export async function ensureStreams(jsm: JetStreamManager, settings: StreamSettings = DEFAULT_STREAM_SETTINGS): Promise<void> {
  for (const stream of streamsOf(settings)) {
    const config = { ...stream, num_replicas: settings.replicas };
    try {
      await jsm.streams.info(config.name!);
      await jsm.streams.update(config.name!, config);
    } catch (err) {
      if (!/stream not found/i.test((err as Error).message)) throw err;
      await jsm.streams.add(config);
    }
  }
}
