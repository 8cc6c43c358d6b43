/**
 * A process of the event bus for tests, so tests can kill it at the worst moment:
 *   ROLE=consumer      a consumer group (GROUP) whose handler records a side effect per event
 *                      id in test_events.side_effect (n counts how often it was acted on);
 *                      events whose businessKey starts with FAIL- fail until test_events.fixed
 *                      names them; CRASH_AFTER_COMMIT=<event id> kills the process after that
 *                      event's transaction commits and before its ack; BATCH_MAX_MS sets how
 *                      long a batch's handlers may run before it commits.
 *   ROLE=outbox-write  writes a row and its event through the outbox in one transaction, then
 *                      is killed before anything relays it (EVENT_JSON, ROW_ID).
 */
import { openDb, type Db } from "../../platform/db";
import { migrateHub } from "../../hub/schema";
import { connectBus } from "../../platform/events/bus";
import { startConsumer } from "../../platform/events/consumer";
import { enqueue } from "../../platform/events/outbox";
import type { CloudEvent } from "../../platform/events/envelope";

const env = process.env;

async function main(): Promise<void> {
  const db = await openDb({ url: env.DATABASE_URL!, pgliteDir: "" });
  await migrateHub(db);
  const bus = await connectBus(env.NATS_URL!, `event-worker-${process.pid}`);

  if (env.ROLE === "outbox-write") {
    const event = JSON.parse(env.EVENT_JSON!) as CloudEvent;
    await db.transaction(async (tx) => {
      await tx.query("INSERT INTO test_events.write (id) VALUES ($1)", [env.ROW_ID]);
      await enqueue(tx, event);
    });
    console.log("committed");
    process.kill(process.pid, "SIGKILL");
  }

  let current: string | undefined;
  const crashing: Db = {
    ...db,
    async transaction(fn) {
      const result = await db.transaction(fn);
      if (current && current === env.CRASH_AFTER_COMMIT) process.kill(process.pid, "SIGKILL");
      return result;
    },
  };
  const group = env.GROUP!;
  await startConsumer(
    bus,
    crashing,
    {
      group,
      types: ["linkages.linkage.started"],
      backoffMs: env.BACKOFF_MS ? env.BACKOFF_MS.split(",").map(Number) : undefined,
      ackWaitMs: env.ACK_WAIT_MS ? Number(env.ACK_WAIT_MS) : undefined,
      batchMaxMs: env.BATCH_MAX_MS ? Number(env.BATCH_MAX_MS) : undefined,
      async handle(event, tx) {
        current = event.id;
        const key = String(event.data.businessKey);
        if (key.startsWith("FAIL-") && !(await tx.query("SELECT 1 FROM test_events.fixed WHERE business_key = $1", [key])).length)
          throw new Error(`the downstream system refuses ${key}`);
        await tx.query(
          `INSERT INTO test_events.side_effect (grp, event_id, n) VALUES ($1, $2, 1)
           ON CONFLICT (grp, event_id) DO UPDATE SET n = test_events.side_effect.n + 1`,
          [group, event.id],
        );
      },
    },
    { onError: (err) => console.error("consumer error", err) },
  );
  console.log("consuming");
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
