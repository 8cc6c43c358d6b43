/**
 * Durable consumer groups on the EVENTS stream. A group starts from the first event it has
 * not handled (deliver policy "all": events published before the group existed are
 * delivered too), acknowledges after its handler commits, retries a failing event with
 * backoff a bounded number of times, then moves it to DEAD_LETTERS with the reason.
 *
 * Exactly-once effect: the handler runs in one database transaction with the record of the
 * event id (hub.handled_event), so a redelivery after a crash finds the record and only
 * acknowledges. A handler that calls outside the database passes the event id on as its
 * idempotency key. Events delivered while the previous ones were handled share a transaction
 * (one commit for many), each handler under a savepoint with its record: a failing handler is
 * rolled back alone and retried alone; the others commit, and are acknowledged after the commit.
 */
import { AckPolicy, DeliverPolicy, headers as natsHeaders, nanos, type ConsumerMessages, type JsMsg } from "nats";
import type { Db, Queryable } from "../db";
import type { EventBus } from "./bus";
import { eventViolations, subjectOf, type CloudEvent } from "./envelope";
import { EVENTS_STREAM } from "./streams";
import { consumed, deadLettered, redelivered, watchConsumer } from "./metrics";
import { eventContractFailed } from "../validator";
import { batchesOf } from "./batches";

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
  /** A batch's transaction commits once its handlers have run this long (default BATCH_MAX_MS). */
  batchMaxMs?: number;
}

export const DEFAULT_BACKOFF_MS = [1000, 5000, 30_000, 120_000];

/**
 * Events handled in one transaction at most: those delivered while the previous batch was
 * handled. 64: PostgreSQL caches 64 subtransaction ids per backend; a transaction with more
 * savepoints that write slows every other session's snapshots while it runs.
 */
export const BATCH_MAX = 64;
/**
 * A batch commits once its handlers have run this long, so a slow handler (a webhook) never
 * holds its batch's acks, nor PGlite's one connection, for long.
 */
export const BATCH_MAX_MS = 50;

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
        messages = await consumer.consume({ max_messages: 2 * BATCH_MAX });
        for await (const batch of batchesOf(messages, BATCH_MAX)) await handleBatch(group, batch).catch((err) => hooks.onError?.(err));
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

interface Delivered {
  msg: JsMsg;
  event: CloudEvent;
}
type Outcome = { outcome: "handled" | "duplicate" } | { outcome: "failed"; err: unknown };

/**
 * Handles a batch of deliveries in as few transactions as its time bound allows, each event's
 * handler under a savepoint (a failing one is rolled back alone), and acknowledges after the
 * commit. When a batch's transaction itself fails (the database away, a failed commit), each
 * event is tried alone, so each failure is counted against its own event as before.
 */
async function handleBatch(group: Group, msgs: JsMsg[]): Promise<void> {
  let rest: Delivered[] = [];
  for (const msg of msgs) {
    const event = await decoded(group, msg);
    if (event) rest.push({ msg, event });
  }
  while (rest.length) {
    let outcomes: Outcome[];
    try {
      outcomes = rest.length === 1 ? [await alone(group, rest[0]!.event)] : await together(group, rest);
    } catch (err) {
      if (rest.length > 1) {
        for (const item of rest) await settle(group, [item], [await alone(group, item.event).catch((e: unknown) => ({ outcome: "failed", err: e }) as const)]);
        return;
      }
      outcomes = [{ outcome: "failed", err }];
    }
    await settle(group, rest.slice(0, outcomes.length), outcomes);
    rest = rest.slice(outcomes.length);
  }
}

/** The event a message carries, or undefined once a message no handler can take is dead-lettered. */
async function decoded(group: Group, msg: JsMsg): Promise<CloudEvent | undefined> {
  if (msg.info.redelivered) redelivered.inc({ consumer: group.spec.group });
  let event: CloudEvent;
  try {
    event = JSON.parse(new TextDecoder().decode(msg.data));
  } catch {
    return void (await deadLetter(group, msg, "the message is not JSON"));
  }
  const problems = eventViolations(event);
  if (!problems.length) return event;
  eventContractFailed(event?.type, "consume");
  await deadLetter(group, msg, `the event breaks its contract: ${problems.map((p) => `${p.pointer} ${p.detail}`).join("; ")}`, event?.type);
}

/** One event in a transaction of its own: its record and its handler's writes commit together. */
async function alone({ db, spec }: Group, event: CloudEvent): Promise<Outcome> {
  return db.transaction(async (tx) => {
    const first = await tx.query(RECORD_ONE, [spec.group, event.id]);
    if (first.length) await spec.handle(event, tx);
    return { outcome: first.length ? "handled" : "duplicate" };
  });
}

const RECORD_ONE = "INSERT INTO hub.handled_event (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1";
const RECORD_ALL = "INSERT INTO hub.handled_event (consumer, event_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING event_id";
const FORGET = "DELETE FROM hub.handled_event WHERE consumer = $1 AND event_id = ANY($2::text[])";

/**
 * Several events in one transaction: their records in one statement, each handler under a
 * savepoint; a failed handler's writes and its record are rolled back, the others' commit.
 * Stops taking events once its handlers have run `batchMaxMs`; returns the outcomes of those
 * it took (a prefix of `items`).
 */
async function together({ db, spec }: Group, items: Delivered[]): Promise<Outcome[]> {
  return db.transaction(async (tx) => {
    const started = Date.now();
    const ids = items.map((i) => i.event.id);
    const fresh = new Set((await tx.query<{ event_id: string }>(RECORD_ALL, [spec.group, ids])).map((r) => r.event_id));
    const outcomes: Outcome[] = [];
    let savepointSet = false;
    for (const { event } of items) {
      if (outcomes.length && Date.now() - started > (spec.batchMaxMs ?? BATCH_MAX_MS)) break;
      // A second delivery of an id in the same batch: the first one acts (or, failing, is retried).
      if (!fresh.delete(event.id)) {
        outcomes.push({ outcome: "duplicate" });
        continue;
      }
      // One round trip: the previous handler's savepoint released (COMMIT releases the last), this one's set.
      await tx.exec(savepointSet ? "RELEASE SAVEPOINT handler; SAVEPOINT handler" : "SAVEPOINT handler");
      savepointSet = true;
      try {
        await spec.handle(event, tx);
        outcomes.push({ outcome: "handled" });
      } catch (err) {
        await tx.exec("ROLLBACK TO SAVEPOINT handler");
        await tx.query(FORGET, [spec.group, [event.id]]);
        outcomes.push({ outcome: "failed", err });
      }
    }
    // Events left for the next transaction: their records go with them.
    if (fresh.size) await tx.query(FORGET, [spec.group, [...fresh]]);
    return outcomes;
  });
}

/** After the commit: acknowledges what was handled, then retries (or dead-letters) what failed. */
async function settle(group: Group, items: Delivered[], outcomes: Outcome[]): Promise<void> {
  const { spec, hooks, backoff } = group;
  outcomes.forEach((o, i) => {
    if (o.outcome === "failed") return;
    items[i]!.msg.ack();
    consumed.inc({ consumer: spec.group, outcome: o.outcome });
  });
  for (const [i, o] of outcomes.entries()) {
    if (o.outcome !== "failed") continue;
    const { msg, event } = items[i]!;
    const attempt = msg.info.deliveryCount;
    await spec.onFailure?.(event, o.err, attempt).catch((e) => hooks.onError?.(e));
    if (attempt > backoff.length) await deadLetter(group, msg, `failed ${attempt} times; last error: ${(o.err as Error).message}`, event.type);
    else msg.nak(backoff[attempt - 1]);
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
