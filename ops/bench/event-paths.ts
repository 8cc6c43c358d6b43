/**
 * The two pipelines `npm run bench:events` compares, each ending in the same side effect (one
 * row per event): the hub's (EventBus.publish → a consumer group of platform/events/consumer.ts,
 * the row written in the handler's transaction with the handled-event record) and raw
 * JetStream's (js.publish → a pull consumer → one transaction per message → ack). Each event
 * carries the time it was created; its effect's time is when its transaction's commit returned.
 */
import { randomUUID } from "node:crypto";
import { AckPolicy, connect, DeliverPolicy, nanos, StorageType, type ConsumerMessages, type NatsConnection } from "nats";
import { loadConfig } from "../../platform/config";
import { natsAuth, natsServers } from "../../platform/nats-auth";
import type { Db } from "../../platform/db";
import { connectBus, type EventBus } from "../../platform/events/bus";
import { DEFAULT_BACKOFF_MS, replaySubject, startConsumer, type RunningConsumer } from "../../platform/events/consumer";
import { createEvent, subjectOf } from "../../platform/events/envelope";
import { EVENTS_STREAM } from "../../platform/events/streams";

export const EFFECT_TABLE = "bench_events.effect";
const TYPE = "linkages.linkage.started";
const RAW_STREAM = "BENCH_RAW";
const RAW_SUBJECT = "bench.raw.started";
const INSERT = `INSERT INTO ${EFFECT_TABLE} (path, event_id, created_ms) VALUES ($1, $2, $3)`;

export async function prepareEffects(db: Db): Promise<void> {
  await db.exec(`CREATE SCHEMA IF NOT EXISTS bench_events;
    CREATE TABLE IF NOT EXISTS ${EFFECT_TABLE} (path text, event_id text, created_ms bigint NOT NULL, PRIMARY KEY (path, event_id))`);
}

/** Committed effects as they happen: publish → commit latencies, and when the last one committed. */
export class Effects {
  latencies: number[] = [];
  lastAt = 0;
  private waiters: { count: number; resolve: () => void }[] = [];

  reset(): void {
    this.latencies = [];
    this.lastAt = 0;
  }

  committed(createdMs: number[]): void {
    const now = Date.now();
    for (const t of createdMs) this.latencies.push(now - t);
    this.lastAt = now;
    this.waiters = this.waiters.filter((w) => (this.latencies.length >= w.count ? (w.resolve(), false) : true));
  }

  until(count: number, timeoutMs: number): Promise<void> {
    if (this.latencies.length >= count) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${this.latencies.length} of ${count} effects after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

export type PathName = "hub" | "raw";

/** A path's consuming end, in the bench's main thread; its events come from a publisher (event-publisher.ts) in a thread of its own. */
export interface EventPath {
  name: PathName;
  effects: Effects;
  /** Effects written by this path's consumer, counted in the database. */
  stored(): Promise<number>;
  stop(): Promise<void>;
}

const countOf = async (db: Db, path: string) =>
  Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${EFFECT_TABLE} WHERE path = $1`, [path]))[0]!.n);

/** A group that starts at the next event: the bench's NATS may hold events of earlier runs. */
async function newGroup(bus: EventBus, group: string): Promise<void> {
  await bus.jsm.consumers.add(EVENTS_STREAM, {
    durable_name: group,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    filter_subjects: [subjectOf(TYPE), replaySubject(group, ">")],
    max_deliver: DEFAULT_BACKOFF_MS.length + 1,
    ack_wait: nanos(30_000),
  });
}

export async function hubPath(natsUrl: string, db: Db, run: string): Promise<EventPath> {
  const effects = new Effects();
  const bus = await connectBus(natsUrl, `bench-events-hub-${run}`);
  const group = `bench-hub-${run}`;
  await newGroup(bus, group);
  // Stamps the events a transaction handled with the moment its commit returned.
  let inTransaction: number[] = [];
  const stamping: Db = {
    ...db,
    async transaction(fn) {
      const mine: number[] = (inTransaction = []);
      const result = await db.transaction(fn);
      effects.committed(mine);
      return result;
    },
  };
  const consumer: RunningConsumer = await startConsumer(bus, stamping, {
    group,
    types: [TYPE],
    async handle(event, tx) {
      inTransaction.push(Date.parse(event.time!));
      await tx.query(INSERT, ["hub", event.id, Date.parse(event.time!)]);
    },
  });
  return {
    name: "hub",
    effects,
    stored: () => countOf(db, "hub"),
    async stop() {
      await consumer.stop();
      await bus.jsm.consumers.delete(EVENTS_STREAM, group).catch(() => undefined);
      await bus.close();
    },
  };
}

async function rawConsumer(nc: NatsConnection, db: Db, group: string, effects: Effects): Promise<{ stop(): Promise<void> }> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: RAW_STREAM, subjects: [`${RAW_SUBJECT}`], storage: StorageType.File }).catch(() => undefined);
  await jsm.consumers.add(RAW_STREAM, { durable_name: group, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New, ack_wait: nanos(30_000) });
  const messages: ConsumerMessages = await (await nc.jetstream().consumers.get(RAW_STREAM, group)).consume({ max_messages: 100 });
  const loop = (async () => {
    for await (const msg of messages) {
      const event = JSON.parse(new TextDecoder().decode(msg.data)) as { id: string; createdMs: number };
      await db.transaction((tx) => tx.query(INSERT, ["raw", event.id, event.createdMs]));
      effects.committed([event.createdMs]);
      msg.ack();
    }
  })();
  return {
    async stop() {
      await messages.close();
      await loop;
      await jsm.consumers.delete(RAW_STREAM, group).catch(() => undefined);
    },
  };
}

export async function rawPath(natsUrl: string, db: Db, run: string): Promise<EventPath> {
  const effects = new Effects();
  const nc = await connect({ servers: natsServers(natsUrl), name: `bench-events-raw-${run}`, ...natsAuth(loadConfig()) });
  const consumer = await rawConsumer(nc, db, `bench-raw-${run}`, effects);
  return {
    name: "raw",
    effects,
    stored: () => countOf(db, "raw"),
    async stop() {
      await consumer.stop();
      await nc.drain();
    },
  };
}

export interface Publisher {
  /** Publishes one event; resolves once JetStream acknowledged it. */
  publish(i: number): Promise<unknown>;
  close(): Promise<void>;
}

/** The hub's publishing (EventBus.publish: validation, Nats-Msg-Id, retries) or raw js.publish of a similar JSON. */
export async function publisherOf(name: PathName, natsUrl: string, run: string): Promise<Publisher> {
  if (name === "hub") {
    const bus = await connectBus(natsUrl, `bench-events-hub-publisher-${run}`);
    return {
      publish: (i) =>
        bus.publish(createEvent(TYPE, { linkageId: randomUUID(), linkageType: "eid-issuance", businessKey: `BENCH-${run}-${i}` }, { source: "bench" })),
      close: () => bus.close(),
    };
  }
  const nc = await connect({ servers: natsServers(natsUrl), name: `bench-events-raw-publisher-${run}`, ...natsAuth(loadConfig()) });
  const js = nc.jetstream();
  return {
    publish: (i) =>
      js.publish(
        RAW_SUBJECT,
        JSON.stringify({ id: randomUUID(), createdMs: Date.now(), type: TYPE, data: { linkageId: randomUUID(), businessKey: `BENCH-${run}-${i}` } }),
      ),
    close: () => nc.drain(),
  };
}
