/**
 * The retention jobs (README, "Retention"): every HUB_RETENTION_EVERY_MS the gateway's node
 * removes what the hub's database keeps past its time, and counts what the JetStream server
 * dropped from the streams (their `max_age` and limits are set at start-up, platform/events/
 * streams.ts; the server enforces them). Each kind's removals are counted in
 * `hub_retention_removed_total{kind}`. Deletes are exclusive, so several gateway nodes count each
 * row once between them; the streams' counts are each node's own look (see countStreamRemovals).
 */
import client from "prom-client";
import type { JetStreamManager } from "nats";
import type { Config } from "../platform/config";
import type { Queryable } from "../platform/db";
import { COUNTS_STREAM, DEAD_LETTER_STREAM, EVENTS_STREAM } from "../platform/events/streams";

export const RETENTION_KINDS = [
  "idempotent-answers",
  "webhook-deliveries",
  "handled-events",
  "permit-applications",
  "flight-reports",
  "events-stream",
  "dead-letters-stream",
  "counts-stream",
] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

export const retentionRemoved = new client.Counter({
  name: "hub_retention_removed_total",
  help: "What the retention jobs removed (database rows) or saw the JetStream server drop (stream messages), by kind of data",
  labelNames: ["kind"] as const,
});
for (const kind of RETENTION_KINDS) retentionRemoved.inc({ kind }, 0);

type Limits = Pick<
  Config,
  | "idempotencyTtlS"
  | "webhookRetentionDays"
  | "eventsRetentionDays"
  | "deadLettersRetentionDays"
  | "permitApplicationsRetentionDays"
  | "flightReportsRetentionDays"
>;

/** Each table's rows past their time: the kind, and the DELETE (its one parameter, the limit). */
const TABLES: { kind: RetentionKind; sql: string; limit: (l: Limits) => number }[] = [
  {
    kind: "idempotent-answers",
    sql: "DELETE FROM hub.idempotency_key WHERE created_at < now() - make_interval(secs => $1::int)",
    limit: (l) => l.idempotencyTtlS,
  },
  {
    // Its last attempt that long ago: delivered, or given up on (the dead-letter stream has it) long before.
    kind: "webhook-deliveries",
    sql: "DELETE FROM hub.webhook_delivery WHERE updated_at < now() - make_interval(days => $1::int)",
    limit: (l) => l.webhookRetentionDays,
  },
  {
    // No stream holds the event any more (neither EVENTS nor DEAD_LETTERS): it cannot be redelivered or replayed.
    kind: "handled-events",
    sql: "DELETE FROM hub.handled_event WHERE handled_at < now() - make_interval(days => $1::int)",
    limit: (l) => Math.max(l.eventsRetentionDays, l.deadLettersRetentionDays),
  },
  {
    // The organiser's contact, once the application's linkage has ended that long ago (its outcome keeps the permit).
    kind: "permit-applications",
    sql: `DELETE FROM hub.permit_application a USING hub.linkage_outcome o
          WHERE o.linkage_id = a.linkage_id AND o.closed_at < now() - make_interval(days => $1::int)`,
    limit: (l) => l.permitApplicationsRetentionDays,
  },
  {
    // The drone (its registration leads to its operator at the aviation authority) and where and when it flew, once the flight's hours ended that long ago.
    kind: "flight-reports",
    sql: "DELETE FROM hub.flight_report WHERE ends_at < now() - make_interval(days => $1::int)",
    limit: (l) => l.flightReportsRetentionDays,
  },
];

/** Removes the rows past their time, counts them, and returns the counts. */
export async function removeExpiredRows(db: Queryable, limits: Limits): Promise<Partial<Record<RetentionKind, number>>> {
  const counts: Partial<Record<RetentionKind, number>> = {};
  for (const { kind, sql, limit } of TABLES) {
    const [row] = await db.query<{ n: number }>(`WITH gone AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM gone`, [limit(limits)]);
    counts[kind] = row!.n;
    retentionRemoved.inc({ kind }, row!.n);
  }
  return counts;
}

const STREAM_KINDS: [string, RetentionKind][] = [
  [EVENTS_STREAM, "events-stream"],
  [DEAD_LETTER_STREAM, "dead-letters-stream"],
  [COUNTS_STREAM, "counts-stream"],
];

/**
 * What the server dropped from each stream since this node last looked: the messages stored
 * since (last_seq's advance) less the stream's growth. It counts every removal (age, limits,
 * an operator's purge) and nothing before this node's first look; each gateway node counts on
 * its own, so with several, each counts the same removals (take the max across instances).
 */
export function streamRemovals(jsm: JetStreamManager, streams: [string, RetentionKind][] = STREAM_KINDS) {
  const seen = new Map<string, { lastSeq: number; messages: number }>();
  return async (): Promise<Partial<Record<RetentionKind, number>>> => {
    const counts: Partial<Record<RetentionKind, number>> = {};
    for (const [name, kind] of streams) {
      const { state } = await jsm.streams.info(name);
      const before = seen.get(name);
      seen.set(name, { lastSeq: state.last_seq, messages: state.messages });
      // A first look, or a stream made anew since: no count to take.
      if (!before || state.last_seq < before.lastSeq) continue;
      const removed = Math.max(0, state.last_seq - before.lastSeq - (state.messages - before.messages));
      counts[kind] = removed;
      retentionRemoved.inc({ kind }, removed);
    }
    return counts;
  };
}

/** Runs the jobs now and every `everyMs` (one run at a time); a failed run is reported and the next one tries again. */
export function startRetention(
  db: Queryable,
  jsm: JetStreamManager,
  config: Limits & { retentionEveryMs: number },
  onError: (err: unknown) => void,
): () => Promise<void> {
  const streams = streamRemovals(jsm);
  let running: Promise<void> = Promise.resolve();
  const run = () =>
    (running = running.then(async () => {
      await removeExpiredRows(db, config).catch(onError);
      await streams().catch(onError);
    }));
  void run();
  const timer = setInterval(run, config.retentionEveryMs).unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
