/**
 * Per-partner quotas in fixed windows, counted in the database so that every gateway node
 * shares one count: a request is admitted while its partner's count in the current window
 * is within the quota. One upsert per request; old windows are swept now and then.
 */
import type { Db } from "../platform/db";

export interface QuotaState {
  limit: number;
  remaining: number;
  /** Seconds until the window renews. */
  resetS: number;
  windowS: number;
  admitted: boolean;
}

export async function takeQuota(db: Db, partnerId: string, limit: number, windowS: number, now = Date.now()): Promise<QuotaState> {
  const start = Math.floor(now / 1000 / windowS) * windowS;
  const [row] = await db.query<{ used: number }>(
    `INSERT INTO hub.quota_window (partner_id, window_start, used) VALUES ($1, to_timestamp($2), 1)
     ON CONFLICT (partner_id, window_start) DO UPDATE SET used = hub.quota_window.used + 1 RETURNING used`,
    [partnerId, start],
  );
  const used = row!.used;
  return { limit, remaining: Math.max(0, limit - used), resetS: Math.max(1, Math.ceil(start + windowS - now / 1000)), windowS, admitted: used <= limit };
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
