/**
 * Durable consumer groups on the EVENTS stream. A group starts from the first event it has
 * not handled (deliver policy "all": events published before the group existed are
 * delivered too), acknowledges after its handler commits, retries a failing event with
 * backoff a bounded number of times, then moves it to DEAD_LETTERS with the reason.
 *
 * Exactly-once effect: the handler runs in one database transaction with the record of the
 * event id (hub.handled_event), so a redelivery after a crash finds the record and only
 * acknowledges. A handler that calls outside the database passes the event id on as its
 * idempotency key.
 */
import { AckPolicy, DeliverPolicy, headers as natsHeaders, nanos, type ConsumerMessages, type JsMsg } from "nats";
import type { Db, Queryable } from "../db";
import type { EventBus } from "./bus";
import { eventViolations, subjectOf, type CloudEvent } from "./envelope";
import { EVENTS_STREAM } from "./streams";
import { consumed, deadLettered, redelivered, watchConsumer } from "./metrics";
import { eventContractFailed } from "../validator";

export interface ConsumerSpec {
  /** Durable name of the group; every process of the group shares it. */
  group: string;
  types: string[];
  handle(event: CloudEvent, tx: Queryable): Promise<void>;
  /** Waits before each redelivery after a failure; its length + 1 is the number of attempts. */
  backoffMs?: number[];
  /** How long a delivered event may go unacknowledged (a crashed handler) before redelivery. */
  ackWaitMs?: number;
  /** Called after a failed attempt, outside the handler's (rolled back) transaction: to record it. */
  onFailure?(event: CloudEvent, err: unknown, attempt: number): Promise<void>;
}

export const DEFAULT_BACKOFF_MS = [1000, 5000, 30_000, 120_000];

/** Headers a dead letter carries. */
export const DEAD = {
  reason: "Hub-Dead-Reason",
  group: "Hub-Consumer-Group",
  subject: "Hub-Original-Subject",
  seq: "Hub-Original-Seq",
  deliveries: "Hub-Deliveries",
} as const;

export const replaySubject = (group: string, type: string) => `replay.${group}.${type}`;

export async function ensureConsumer(bus: EventBus, spec: ConsumerSpec): Promise<void> {
  const backoff = spec.backoffMs ?? DEFAULT_BACKOFF_MS;
  const config = {
    durable_name: spec.group,
    description: `consumer group ${spec.group}`,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subjects: [...spec.types.map(subjectOf), `replay.${spec.group}.>`],
    max_deliver: backoff.length + 1,
    ack_wait: nanos(spec.ackWaitMs ?? 30_000),
  };
  try {
    await bus.jsm.consumers.info(EVENTS_STREAM, spec.group);
    const { durable_name: _name, deliver_policy: _policy, ...changeable } = config;
    await bus.jsm.consumers.update(EVENTS_STREAM, spec.group, changeable);
  } catch (err) {
    if (!/consumer not found/i.test((err as Error).message)) throw err;
    await bus.jsm.consumers.add(EVENTS_STREAM, config);
  }
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

export interface ConsumerHooks {
  onDeadLetter?(event: { group: string; subject: string; reason: string }): void;
  onError?(err: unknown): void;
}

interface Group {
  bus: EventBus;
  db: Db;
  spec: ConsumerSpec;
  hooks: ConsumerHooks;
  backoff: number[];
}

export async function startConsumer(bus: EventBus, db: Db, spec: ConsumerSpec, hooks: ConsumerHooks = {}): Promise<RunningConsumer> {
  const group: Group = { bus, db, spec, hooks, backoff: spec.backoffMs ?? DEFAULT_BACKOFF_MS };
  await ensureConsumer(bus, spec);
  const consumer = await bus.js.consumers.get(EVENTS_STREAM, spec.group);
  const unwatch = watchConsumer(bus.jsm, EVENTS_STREAM, spec.group);

  let messages: ConsumerMessages | undefined;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      try {
        messages = await consumer.consume({ max_messages: 100 });
        for await (const msg of messages) await handleOne(group, msg).catch((err) => hooks.onError?.(err));
      } catch (err) {
        if (!stopping) {
          hooks.onError?.(err);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
  })();

  return {
    async stop() {
      stopping = true;
      unwatch();
      await messages?.close();
      await loop;
    },
  };
}

async function handleOne(group: Group, msg: JsMsg): Promise<void> {
  const { db, spec, hooks, backoff } = group;
  if (msg.info.redelivered) redelivered.inc({ consumer: spec.group });
  let event: CloudEvent;
  try {
    event = JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    return deadLetter(group, msg, "the message is not JSON");
  }
  const problems = eventViolations(event);
  if (problems.length) {
    eventContractFailed(event?.type, "consume");
    return deadLetter(group, msg, `the event breaks its contract: ${problems.map((p) => `${p.pointer} ${p.detail}`).join("; ")}`, event?.type);
  }
  try {
    const fresh = await db.transaction(async (tx) => {
      const first = await tx.query("INSERT INTO hub.handled_event (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1", [
        spec.group,
        event.id,
      ]);
      if (first.length) await spec.handle(event, tx);
      return first.length > 0;
    });
    msg.ack();
    consumed.inc({ consumer: spec.group, outcome: fresh ? "handled" : "duplicate" });
  } catch (err) {
    const attempt = msg.info.deliveryCount;
    await spec.onFailure?.(event, err, attempt).catch((e) => hooks.onError?.(e));
    if (attempt > backoff.length) return deadLetter(group, msg, `failed ${attempt} times; last error: ${(err as Error).message}`, event.type);
    msg.nak(backoff[attempt - 1]);
  }
}

async function deadLetter({ bus, spec, hooks }: Group, msg: JsMsg, reason: string, type = "unknown"): Promise<void> {
  const h = natsHeaders();
  h.set(DEAD.reason, reason.slice(0, 1000).replace(/[\r\n]+/g, " "));
  h.set(DEAD.group, spec.group);
  h.set(DEAD.subject, msg.subject);
  h.set(DEAD.seq, String(msg.info.streamSequence));
  h.set(DEAD.deliveries, String(msg.info.deliveryCount));
  // The id makes a dead-letter publish repeated after a crash a duplicate.
  await bus.js.publish(`dead.${spec.group}.${type}`, msg.data, { headers: h, msgID: `${spec.group}:${msg.info.streamSequence}` });
  msg.term(reason.slice(0, 200));
  deadLettered.inc({ consumer: spec.group });
  hooks.onDeadLetter?.({ group: spec.group, subject: msg.subject, reason });
}
