/**
 * Requests with an Idempotency-Key: one answer per key, whatever the number of attempts.
 * The key's row is claimed first inside the transaction of the change itself: a concurrent
 * request with the same key blocks on it, then replays the stored answer. A refusal rolls
 * everything back, the key included, so refusals are not replayed (a later attempt, once
 * the reason is gone, may succeed).
 */
import { createHash } from "node:crypto";
import type { Db, Queryable } from "../platform/db";
import type { Answer, Dialect } from "./errors";

export type Idempotent = (db: Db, key: string, operation: string, request: unknown, work: (tx: Queryable) => Promise<Answer>) => Promise<Answer>;

/**
 * Runs `work` once per key, in `schema`.idempotency. A repeat with the same key and request gets
 * the stored answer, byte for byte (the stored jsonb is what is sent); the same key with another
 * request is refused.
 */
export function idempotency(schema: string, dialect: Dialect): Idempotent {
  return async (db, key, operation, request, work) => {
    const requestHash = createHash("sha256").update(JSON.stringify(request)).digest("hex");
    return db.transaction(async (tx) => {
      const claimed = await tx.query(
        `INSERT INTO ${schema}.idempotency (key, operation, request_hash) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING key`,
        [key, operation, requestHash],
      );
      if (claimed.length === 0) {
        const [prior] = await tx.query<{ operation: string; request_hash: string; status: number | null; body: unknown }>(
          `SELECT operation, request_hash, status, body FROM ${schema}.idempotency WHERE key = $1`,
          [key],
        );
        if (prior && (prior.operation !== operation || prior.request_hash !== requestHash))
          throw dialect.error(422, dialect.codes.idempotencyKeyReused, "this Idempotency-Key was used with a different request");
        if (!prior || prior.status === null) throw dialect.error(409, dialect.codes.idempotencyKeyInUse, "a request with this Idempotency-Key is in progress");
        // Named the way Stripe's API does, so the caller can count replays it caused.
        return { status: prior.status, body: prior.body, headers: { "Idempotent-Replayed": "true" } };
      }
      const answer = await work(tx);
      const [stored] = await tx.query<{ body: unknown }>(`UPDATE ${schema}.idempotency SET status = $2, body = $3 WHERE key = $1 RETURNING body`, [
        key,
        answer.status,
        JSON.stringify(answer.body),
      ]);
      return { status: answer.status, body: stored!.body };
    });
  };
}
