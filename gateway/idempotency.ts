/**
 * `Idempotency-Key` on POST (draft-ietf-httpapi-idempotency-key-header): the first request
 * with a key runs and its answer is kept; a repeat with the same method, path and body gets
 * that answer again (`Idempotent-Replayed: true`) without running anything; the same key
 * with another request is 422; a repeat while the first still runs waits for its answer,
 * and is 409 if it does not come in time. Keys are per partner and kept for
 * `HUB_IDEMPOTENCY_TTL_S`. A 5xx answer is not kept, so a retry runs again.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { HubError } from "../platform/errors";
import type { HubNode } from "../platform/hub-node";
import { readRawBody } from "./body";

const KEY = /^[\x21-\x7e]{1,255}$/;
const KEPT_HEADERS = ["content-type", "location"];
const WAIT_MS = 10_000;

interface Stored {
  fingerprint: string;
  status: number | null;
  headers: Record<string, string> | null;
  body: string | null;
}

/** Runs a POST with an `Idempotency-Key` once: true when the request was answered here (a replay); otherwise it goes on. */
export type Idempotent = (req: IncomingMessage, res: ServerResponse, partnerId: string, path: string) => Promise<boolean>;

export function idempotency(node: HubNode): Idempotent {
  const { db, config } = node;
  return async function handle(req, res, partnerId, path) {
    const key = req.headers["idempotency-key"];
    if (req.method !== "POST" || key === undefined) return false;
    if (typeof key !== "string" || !KEY.test(key))
      throw new HubError("HUB_ERR_REQUEST_INVALID", "Idempotency-Key must be 1 to 255 visible ASCII characters", {
        errors: [{ in: "header", pointer: "/Idempotency-Key", detail: "must be 1 to 255 visible ASCII characters" }],
      });
    const body = await readRawBody(req);
    const fingerprint = createHash("sha256").update(`${req.method} ${path}\n`).update(body).digest("base64url");

    await db.query("DELETE FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2 AND created_at < now() - make_interval(secs => $3::int)", [
      partnerId,
      key,
      config.idempotencyTtlS,
    ]);
    const fresh = await db.query("INSERT INTO hub.idempotency_key (partner_id, key, fingerprint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1", [
      partnerId,
      key,
      fingerprint,
    ]);
    if (fresh.length) {
      capture(node, res, partnerId, key);
      return false;
    }
    for (const started = Date.now(); ; await sleep(50)) {
      const [stored] = await db.query<Stored>("SELECT fingerprint, status, headers, body FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2", [
        partnerId,
        key,
      ]);
      // Gone: the first answer was a 5xx (not kept); this request runs as a new one.
      if (!stored) return handle(req, res, partnerId, path);
      if (stored.fingerprint !== fingerprint)
        throw new HubError("HUB_ERR_IDEMPOTENCY_KEY_REUSED", `Idempotency-Key ${key} was used for another request (another method, path or body)`);
      if (stored.status !== null) {
        replay(res, stored);
        return true;
      }
      if (Date.now() - started > WAIT_MS)
        throw new HubError("HUB_ERR_IDEMPOTENCY_IN_PROGRESS", `The first request with Idempotency-Key ${key} is still running; retry later`);
    }
  };
}

function replay(res: ServerResponse, stored: Stored): void {
  for (const [name, value] of Object.entries(stored.headers ?? {})) res.setHeader(name, value);
  res.setHeader("Idempotent-Replayed", "true");
  res.writeHead(stored.status!);
  res.end(stored.body ?? "");
}

/** Keeps the answer once it is sent (or forgets the key on a 5xx). */
function capture(node: HubNode, res: ServerResponse, partnerId: string, key: string): void {
  const { db } = node;
  const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => ServerResponse;
  const chunks: Buffer[] = [];
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (chunk) chunks.push(Buffer.from(chunk as string));
    return write(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (chunk && typeof chunk !== "function") chunks.push(Buffer.from(chunk as string));
    const status = res.statusCode;
    const headers = Object.fromEntries(KEPT_HEADERS.filter((h) => res.hasHeader(h)).map((h) => [h, String(res.getHeader(h))]));
    const kept =
      status >= 500
        ? db.query("DELETE FROM hub.idempotency_key WHERE partner_id = $1 AND key = $2", [partnerId, key])
        : db.query("UPDATE hub.idempotency_key SET status = $3, headers = $4, body = $5 WHERE partner_id = $1 AND key = $2", [
            partnerId,
            key,
            status,
            JSON.stringify(headers),
            Buffer.concat(chunks).toString("utf8"),
          ]);
    // The answer leaves once it is kept: a repeat arriving now finds it.
    void kept.catch((err) => node.broker.logger.error({ err: String(err) }, "could not keep an idempotent answer")).finally(() => end(chunk, ...rest));
    return res;
  }) as typeof res.end;
}
