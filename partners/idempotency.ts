/**
 * `Idempotency-Key` (draft-ietf-httpapi-idempotency-key-header), whatever carries the request:
 * the first request with a key runs and its answer is kept; a repeat with the same method, path
 * and body gets that answer again without running anything; the same key with another request
 * is 422; a repeat while the first still runs waits for its answer, and is 409 if it does not
 * come in time. Keys are per partner and kept for `HUB_IDEMPOTENCY_TTL_S`. A 5xx answer is not
 * kept, so a retry runs again. A kept body is sealed with the payload keys: it may hold a person.
 *
 * The claim and the kept answer are single writes; `commit` says how they commit: on their own,
 * or joining the audit log's group commit (AuditLog.commit), which spares each its transaction.
 * The claim commits before the request runs (a repeat must find it and wait, not run too), so it
 * cannot share the commit of the request's own audit record; the kept answer can (mediation).
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Db, Queryable } from "../platform/db";
import { HubError } from "../platform/errors";
import type { PayloadKeySource } from "../platform/payload-keys";
import { seal, unseal } from "../platform/sealing";

const KEY = /^[\x21-\x7e]{1,255}$/;
const WAIT_MS = 10_000;

export interface KeptAnswer {
  status: number;
  /** The headers worth replaying (media type, location...). */
  headers: Record<string, string>;
  body: Buffer;
}

/** Commits one write: `(write) => write(db)` on its own, or in a batch of other work. */
export type Commit = (write: (tx: Queryable) => Promise<void>) => Promise<void>;

/** A fresh key (run, then keep the answer; by the claim's `commit` unless given another) or a repeat (its first answer). */
export type Claim = { replay: KeptAnswer } | { replay?: undefined; keep(answer: KeptAnswer, commit?: Commit): Promise<void> };

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
  body_key_id: string | null;
}

/** Where answers are kept: how long, and the keys sealing their bodies. */
export interface AnswerStore {
  ttlS: number;
  keys: PayloadKeySource;
}

const bodyOf = (keys: PayloadKeySource, s: Stored) => {
  const bytes = Buffer.from(s.body ?? "", s.body_base64 || s.body_key_id ? "base64" : "utf8");
  return s.body_key_id ? unseal(keys, { keyId: s.body_key_id, data: bytes }) : bytes;
};

export async function claimKey(
  db: Db,
  store: AnswerStore,
  partnerId: string,
  key: string,
  fingerprint: string,
  commit: Commit = (write) => write(db),
): Promise<Claim> {
  let fresh = false;
  await commit(async (tx) => {
    await tx.query("DELETE FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2 AND created_at < now() - make_interval(secs => $3::int)", [
      partnerId,
      key,
      store.ttlS,
    ]);
    const inserted = await tx.query("INSERT INTO hub.idempotency_key (partner_id, key, fingerprint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1", [
      partnerId,
      key,
      fingerprint,
    ]);
    fresh = inserted.length > 0;
  });
  if (fresh) return { keep: (answer, how = commit) => how((tx) => keep(tx, store.keys, partnerId, key, answer)) };
  for (const started = Date.now(); ; await sleep(50)) {
    const [stored] = await db.query<Stored>(
      "SELECT fingerprint, status, headers, body, body_base64, body_key_id FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2",
      [partnerId, key],
    );
    // Gone: the first answer was a 5xx (not kept); this request runs as a new one.
    if (!stored) return claimKey(db, store, partnerId, key, fingerprint, commit);
    if (stored.fingerprint !== fingerprint)
      throw new HubError("HUB_ERR_IDEMPOTENCY_KEY_REUSED", `Idempotency-Key ${key} was used for another request (another method, path or body)`);
    if (stored.status !== null) return { replay: { status: stored.status, headers: stored.headers ?? {}, body: bodyOf(store.keys, stored) } };
    if (Date.now() - started > WAIT_MS)
      throw new HubError("HUB_ERR_IDEMPOTENCY_IN_PROGRESS", `The first request with Idempotency-Key ${key} is still running; retry later`);
  }
}

async function keep(tx: Queryable, keys: PayloadKeySource, partnerId: string, key: string, answer: KeptAnswer): Promise<void> {
  if (answer.status >= 500) return void (await tx.query("DELETE FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2", [partnerId, key]));
  const sealed = seal(keys, answer.body);
  await tx.query(
    "UPDATE hub.idempotency_key SET status = $3, headers = $4, body = $5, body_base64 = true, body_key_id = $6 WHERE partner_id = $1 AND key = $2",
    [partnerId, key, answer.status, JSON.stringify(answer.headers), sealed.data.toString("base64"), sealed.keyId],
  );
}
