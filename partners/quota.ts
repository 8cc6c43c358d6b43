/**
 * Per-partner quotas in fixed windows, counted in the database so that every gateway node
 * shares one count. Gateways take the count in leases of several tokens (quota-leases.ts), so
 * a write is made per lease, not per request; old windows are swept now and then.
 */
import type { Db } from "../platform/db";
import type { QuotaState, QuotaStore } from "./quota-leases";

export type { QuotaState } from "./quota-leases";

/** The windows' counts in hub.quota_window: `used` is what the gateways have leased (and, once they gave back the rest, admitted). */
export function quotaStore(db: Db): QuotaStore {
  return {
    async lease(partnerId, windowStart, want, limit) {
      // One statement, so two gateways leasing at once cannot both take the window's last tokens.
      const [row] = await db.query<{ used: number; last_lease: number }>(
        `INSERT INTO hub.quota_window AS w (partner_id, window_start, used, last_lease)
         VALUES ($1, to_timestamp($2), LEAST($3::int, $4::int), LEAST($3::int, $4::int))
         ON CONFLICT (partner_id, window_start) DO UPDATE
           SET used = w.used + LEAST($3::int, $4::int - w.used), last_lease = LEAST($3::int, $4::int - w.used)
           WHERE w.used < $4::int
         RETURNING used, last_lease`,
        [partnerId, windowStart, want, limit],
      );
      // No row: the window had nothing left (updated by nobody, so no write either).
      return row ? { granted: row.last_lease, left: Math.max(0, limit - row.used) } : { granted: 0, left: 0 };
    },
    async giveBack(partnerId, windowStart, tokens) {
      await db.query("UPDATE hub.quota_window SET used = GREATEST(0, used - $3::int) WHERE partner_id = $1 AND window_start = to_timestamp($2)", [
        partnerId,
        windowStart,
        tokens,
      ]);
    },
  };
}

/** RateLimit headers (draft-ietf-httpapi-ratelimit-headers), and the older three-field form many clients read. */
export function quotaHeaders(q: QuotaState): Record<string, string> {
  return {
    "RateLimit-Policy": `"partner";q=${q.limit};w=${q.windowS}`,
    RateLimit: `"partner";r=${q.remaining};t=${q.resetS}`,
    "RateLimit-Limit": String(q.limit),
    "RateLimit-Remaining": String(q.remaining),
    "RateLimit-Reset": String(q.resetS),
  };
}

export async function sweepQuotaWindows(db: Db): Promise<void> {
  await db.query("DELETE FROM hub.quota_window WHERE window_start < now() - interval '1 day'");
}
