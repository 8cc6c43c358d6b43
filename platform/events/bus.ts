/**
 * The event bus of one process: a NATS connection with JetStream, the streams ensured,
 * and a publisher. Publishing is acknowledged by JetStream and de-duplicated by the event
 * id (Nats-Msg-Id); a timeout is retried with the same id, so a retry never duplicates.
 */
import { connect, headers as natsHeaders, type JetStreamClient, type JetStreamManager, type NatsConnection, type PubAck } from "nats";
import { HubError } from "../errors";
import { loadConfig, type Config } from "../config";
import { natsAuth, natsServers, type NatsAuthOptions } from "../nats-auth";
import { assertValidEvent, subjectOf, type CloudEvent } from "./envelope";
import { ensureStreams, type StreamSettings } from "./streams";
import { published } from "./metrics";

export const streamSettingsOf = (config: Config): StreamSettings => ({
  eventsDays: config.eventsRetentionDays,
  deadLettersDays: config.deadLettersRetentionDays,
  replicas: config.streamReplicas,
});

const PUBLISH_ATTEMPTS = 4;
const PUBLISH_TIMEOUT_MS = 2000;

/** Publishes in flight together by default: JetStream acknowledges a pipeline far faster than one at a time. */
export const PUBLISH_IN_FLIGHT = 64;

export interface EventBus {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** Validates and publishes; resolves once JetStream has stored it (or knew it already). */
  publish(event: CloudEvent, subject?: string): Promise<PubAck>;
  /**
   * Publishes several, `inFlight` at a time, each as `publish` does; resolves once all are stored.
   * On a failure no more are started, and it rejects with the first error once none is in flight
   * (those stored stay stored: publishing them again is a duplicate, by their ids).
   */
  publishAll(events: { event: CloudEvent; subject?: string }[], inFlight?: number): Promise<PubAck[]>;
  close(): Promise<void>;
}

const JS_API_TIMEOUT_MS = 20_000;

/**
 * `natsUrl`: one server or a comma list of a cluster's (the connection moves to another when
 * its server goes). `auth`: the credentials and TLS (platform/nats-auth.ts), and `streams` the
 * streams' retention and replicas; by default from this process's configuration.
 */
export async function connectBus(
  natsUrl: string,
  name: string,
  auth: NatsAuthOptions = natsAuth(loadConfig()),
  streams: StreamSettings = streamSettingsOf(loadConfig()),
): Promise<EventBus> {
  const nc = await connect({ servers: natsServers(natsUrl), name, ...auth, maxReconnectAttempts: -1, reconnectTimeWait: 500 });
  // JetStream's API answers within 5 s by default; making a replicated stream or consumer (a Raft group on each of 3 servers) while other nodes start may take longer.
  const jsm = await nc.jetstreamManager({ timeout: JS_API_TIMEOUT_MS });
  await ensureStreams(jsm, streams);
  const js = nc.jetstream();
  const publish = (event: CloudEvent, subject = subjectOf(event.type)) => publishOne(js, event, subject);
  return {
    nc,
    js,
    jsm,
    publish,
    async publishAll(events, inFlight = PUBLISH_IN_FLIGHT) {
      const acks: PubAck[] = new Array(events.length);
      let next = 0;
      let failure: { err: unknown } | undefined;
      const lane = async () => {
        for (let i = next++; i < events.length && !failure; i = next++) {
          try {
            acks[i] = await publish(events[i]!.event, events[i]!.subject);
          } catch (err) {
            failure ??= { err };
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(inFlight, events.length) }, lane));
      if (failure) throw failure.err;
      return acks;
    },
    async close() {
      await nc.drain();
    },
  };
}

async function publishOne(js: JetStreamClient, event: CloudEvent, subject: string): Promise<PubAck> {
  assertValidEvent(event);
  const h = natsHeaders();
  h.set("Content-Type", "application/cloudevents+json");
  const payload = JSON.stringify(event);
  let lastError: unknown;
  for (let attempt = 1; attempt <= PUBLISH_ATTEMPTS; attempt++) {
    try {
      const ack = await js.publish(subject, payload, { msgID: event.id, timeout: PUBLISH_TIMEOUT_MS, headers: h });
      if (!ack.duplicate) published.inc({ type: event.type });
      return ack;
    } catch (err) {
      lastError = err;
      await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
    }
  }
  throw new HubError(
    "HUB_ERR_EVENT_PUBLISH_FAILED",
    `Event ${event.type} ${event.id} not acknowledged after ${PUBLISH_ATTEMPTS} attempts: ${(lastError as Error)?.message}`,
  );
}
