/**
 * `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header), whatever carries the request:
 * the first request with a key runs and its answer is kept; a repeat with the same method, path
 * and body gets that answer again without running anything; the same key with another request
 * is 422; a repeat while the first still runs waits for its answer, and is 409 if it does not
 * come in time. Keys are per partner and kept for `HUB_IDEMPOTENCY_TTL_S`. A 5xx answer is not
 * kept, so a retry runs again.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Db } from "../platform/db";
import { HubError } from "../platform/errors";

const KEY = /^[\x21-\x7e]{1,255}$/;
const WAIT_MS = 10_000;

export interface KeptAnswer {
  status: number;
  /** The headers worth replaying (media type, location...). */
  headers: Record<string, string>;
  body: Buffer;
}

/** A fresh key (run, then keep the answer) or a repeat (its first answer). */
export type Claim = { replay: KeptAnswer } | { replay?: undefined; keep(answer: KeptAnswer): Promise<void> };

/** The key a request carries, checked: 1 to 255 visible ASCII characters. */
export function checkedKey(value: unknown): string {
  if (typeof value === "string" && KEY.test(value)) return value;
  throw new HubError("HUB_ERR_REQUEST_INVALID", "Idempotency-Key must be 1 to 255 visible ASCII characters", {
    errors: [{ in: "header", pointer: "/Idempotency-Key", detail: "must be 1 to 255 visible ASCII characters" }],
  });
}

/** What makes two requests the same: method, path and query, body. */
export const fingerprintOf = (method: string, path: string, body: Buffer) =>
  createHash("sha256").update(`${method} ${path}\n`).update(body).digest("base64url");

interface Stored {
  fingerprint: string;
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
  body_base64: boolean;
}

export async function claimKey(db: Db, ttlS: number, partnerId: string, key: string, fingerprint: string): Promise<Claim> {
  await db.query("DELETE FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2 AND created_at < now() - make_interval(secs => $3::int)", [
    partnerId,
    key,
    ttlS,
  ]);
  const fresh = await db.query("INSERT INTO hub.idempotency_key (partner_id, key, fingerprint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1", [
    partnerId,
    key,
    fingerprint,
  ]);
  if (fresh.length) return { keep: (answer) => keep(db, partnerId, key, answer) };
  for (const started = Date.now(); ; await sleep(50)) {
    const [stored] = await db.query<Stored>(
      "SELECT fingerprint, status, headers, body, body_base64 FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2",
      [partnerId, key],
    );
    // Gone: the first answer was a 5xx (not kept); this request runs as a new one.
    if (!stored) return claimKey(db, ttlS, partnerId, key, fingerprint);
    if (stored.fingerprint !== fingerprint)
      throw new HubError("HUB_ERR_IDEMPOTENCY_KEY_REUSED", `Idempotency-Key ${key} was used for another request (another method, path or body)`);
    if (stored.status !== null)
      return { replay: { status: stored.status, headers: stored.headers ?? {}, body: Buffer.from(stored.body ?? "", stored.body_base64 ? "base64" : "utf8") } };
    if (Date.now() - started > WAIT_MS)
      throw new HubError("HUB_ERR_IDEMPOTENCY_IN_PROGRESS", `The first request with Idempotency-Key ${key} is still running; retry later`);
  }
}

async function keep(db: Db, partnerId: string, key: string, answer: KeptAnswer): Promise<void> {
  if (answer.status >= 500) await db.query("DELETE FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2", [partnerId, key]);
  else
    await db.query("UPDATE hub.idempotency_key SET status = $3, headers = $4, body = $5, body_base64 = true WHERE partner_id = $1 AND key = $2", [
      partnerId,
      key,
      answer.status,
      JSON.stringify(answer.headers),
      answer.body.toString("base64"),
    ]);
}
