/**
 * Webhooks: when a partner's linkage ends, its `linkages.linkage.ended` event is POSTed to
 * the partner's webhook (and the decision on its event permit application, `permits.permit.issued`,
 * `refused` or `lapsed`, as soon as it is made; and `flights.report.withdrawn` when a flight it
 * reported is withdrawn), signed as Standard Webhooks specifies (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<HMAC-SHA256>` over `id.timestamp.body`), so
 * the receiver can check the sender and refuse replays. Delivery rides on a consumer group:
 * retried with backoff (`HUB_WEBHOOK_BACKOFF_MS`) until acknowledged with a 2xx, then the
 * dead-letter stream. Every attempt is recorded in hub.webhook_delivery.
 */
import { createHmac } from "node:crypto";
import type { Db, Queryable } from "../platform/db";
import type { EventBus } from "../platform/events/bus";
import type { CloudEvent } from "../platform/events/envelope";
import { replaySubject, startConsumer, type RunningConsumer } from "../platform/events/consumer";
import { HubError } from "../platform/errors";
import { webhookOf } from "./registry";
import type { components } from "../contracts/generated/types";

export const WEBHOOK_GROUP = "webhooks";

/** The receiver answered, but not with a 2xx. */
class DeliveryRefused extends Error {
  constructor(readonly status: number) {
    super(`the webhook answered ${status}`);
  }
}
/**
 * What a partner's webhook receives: the end of its linkages, the decision on its event permit
 * applications (before that linkage ends with the event), and the withdrawal of a drone flight it
 * reported.
 */
export const WEBHOOK_EVENT_TYPES = [
  "linkages.linkage.ended",
  "permits.permit.issued",
  "permits.permit.refused",
  "permits.permit.lapsed",
  "flights.report.withdrawn",
];

/** The Standard Webhooks headers for one delivery. */
export function signDelivery(secret: string, id: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const signature = createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64");
  return { "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": `v1,${signature}` };
}

async function record(db: Queryable, event: CloudEvent, url: string, status: number | null, error: string | null, delivered: boolean): Promise<void> {
  await db.query(
    `INSERT INTO hub.webhook_delivery (event_id, partner_id, url, event, attempts, last_status, last_error, delivered_at, updated_at)
     VALUES ($1, $2, $3, $4, 1, $5, $6, CASE WHEN $7 THEN now() END, now())
     ON CONFLICT (event_id, partner_id) DO UPDATE SET url = $3, attempts = hub.webhook_delivery.attempts + 1, last_status = $5, last_error = $6,
       delivered_at = coalesce(CASE WHEN $7 THEN now() END, hub.webhook_delivery.delivered_at), updated_at = now()`,
    [event.id, event.partnerid, url, JSON.stringify(event), status, error, delivered],
  );
}

export function startWebhooks(db: Db, bus: EventBus, backoffMs: number[], onError: (err: unknown) => void): Promise<RunningConsumer> {
  return startConsumer(
    bus,
    db,
    {
      group: WEBHOOK_GROUP,
      types: WEBHOOK_EVENT_TYPES,
      backoffMs,
      async handle(event, tx) {
        if (!event.partnerid) return;
        const hook = await webhookOf(tx, event.partnerid);
        if (!hook) return;
        const body = JSON.stringify(event);
        const res = await fetch(hook.url, {
          method: "POST",
          headers: { "content-type": "application/json", "user-agent": "linkage-hub-webhooks", ...signDelivery(hook.secret, event.id, body) },
          body,
          signal: AbortSignal.timeout(10_000),
          redirect: "manual",
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.status < 200 || res.status > 299) throw new DeliveryRefused(res.status);
        await record(tx, event, hook.url, res.status, null, true);
      },
      async onFailure(event, err) {
        const hook = event.partnerid ? await webhookOf(db, event.partnerid) : undefined;
        if (hook) await record(db, event, hook.url, err instanceof DeliveryRefused ? err.status : null, (err as Error).message.slice(0, 500), false);
      },
    },
    { onError },
  );
}

type Delivery = components["schemas"]["WebhookDelivery"];

export async function listDeliveries(db: Queryable, filter: { partnerId?: string; eventId?: string; limit?: number } = {}): Promise<Delivery[]> {
  const rows = await db.query<{
    event_id: string;
    partner_id: string;
    url: string;
    event: CloudEvent;
    attempts: number;
    last_status: number | null;
    last_error: string | null;
    delivered_at: Date | null;
    updated_at: Date;
  }>(
    `SELECT * FROM hub.webhook_delivery WHERE ($1::text IS NULL OR partner_id = $1) AND ($2::text IS NULL OR event_id = $2) ORDER BY updated_at DESC LIMIT $3`,
    [filter.partnerId ?? null, filter.eventId ?? null, filter.limit ?? 100],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    partnerId: r.partner_id,
    url: r.url,
    // A flight report's withdrawal names the report, not a linkage.
    linkageId: String(r.event.data.linkageId ?? r.event.data.reportId),
    attempts: r.attempts,
    lastStatus: r.last_status,
    lastError: r.last_error,
    deliveredAt: r.delivered_at ? new Date(r.delivered_at).toISOString() : null,
    updatedAt: new Date(r.updated_at).toISOString(),
  }));
}

/** Sends a delivery again (delivered or not): its event goes back to the webhooks group alone. */
export async function replayDelivery(db: Db, bus: EventBus, eventId: string): Promise<void> {
  const [row] = await db.query<{ event: CloudEvent }>("SELECT event FROM hub.webhook_delivery WHERE event_id = $1 LIMIT 1", [eventId]);
  if (!row) throw new HubError("HUB_ERR_REQUEST_INVALID", `No webhook delivery of event ${eventId}`);
  await db.query("DELETE FROM hub.handled_event WHERE consumer = $1 AND event_id = $2", [WEBHOOK_GROUP, eventId]);
  await bus.js.publish(replaySubject(WEBHOOK_GROUP, row.event.type), JSON.stringify(row.event), { msgID: `webhook-replay:${eventId}:${Date.now()}` });
}
