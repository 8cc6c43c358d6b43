/**
 * The transactional outbox: `enqueue` writes an event in the caller's transaction, so the
 * write and the event commit together or not at all; the relay publishes what is queued
 * (a batch in flight together over one connection, so in order unless a publish is retried;
 * de-duplicated by event id) and removes it. Several nodes may relay at once:
 * rows are claimed with SKIP LOCKED.
 */
import type { Db, Queryable } from "../db";
import type { EventBus } from "./bus";
import { assertValidEvent, subjectOf, type CloudEvent } from "./envelope";

const IDLE_POLL_MS = 500;
const BATCH = 100;

export async function enqueue(tx: Queryable, event: CloudEvent): Promise<void> {
  assertValidEvent(event);
  await tx.query("INSERT INTO hub.outbox (subject, event) VALUES ($1, $2)", [subjectOf(event.type), JSON.stringify(event)]);
}

export interface OutboxRelay {
  /** Publish now rather than at the next poll (after a local commit). */
  kick(): void;
  stop(): Promise<void>;
}

export function startOutboxRelay(db: Db, bus: EventBus, onError: (err: unknown) => void): OutboxRelay {
  let stopped = false;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  /** Publishes one batch; returns how many rows it took. */
  const relayBatch = () =>
    db.transaction(async (tx) => {
      const rows = await tx.query<{ seq: string; subject: string; event: CloudEvent | string }>(
        "SELECT seq, subject, event FROM hub.outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
        [BATCH],
      );
      // In flight together: the rows stay locked (on PGlite, the one connection held) until all are stored.
      await bus.publishAll(rows.map((row) => ({ event: typeof row.event === "string" ? JSON.parse(row.event) : row.event, subject: row.subject })));
      if (rows.length) await tx.query("DELETE FROM hub.outbox WHERE seq = ANY($1::bigint[])", [rows.map((r) => r.seq)]);
      return rows.length;
    });

  const loop = (async () => {
    while (!stopped) {
      let moved = 0;
      try {
        moved = await relayBatch();
      } catch (err) {
        onError(err);
      }
      if (moved < BATCH && !stopped) await sleep(IDLE_POLL_MS);
    }
  })();

  return {
    kick: () => wake?.(),
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
