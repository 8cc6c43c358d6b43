/**
 * `Idempotency-Key` on a REST POST (the rules: partners/idempotency.ts): a repeat is answered
 * here from the first answer (`Idempotent-Replayed: true`); the first answer is kept as it
 * leaves. The claim and the kept answer join the audit log's batches (one transaction for many
 * requests); the answer's audit record is not in the same commit as its keeping: the action's
 * node commits it before the action returns, before the gateway has the answer to keep.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HubNode } from "../platform/hub-node";
import type { AuditLog } from "../audit/log";
import { checkedKey, claimKey, fingerprintOf, type KeptAnswer } from "../partners/idempotency";
import { readRawBody } from "./body";

const KEPT_HEADERS = ["content-type", "location"];

/** Runs a POST with an `Idempotency-Key` once: true when the request was answered here (a replay); otherwise it goes on. */
export type Idempotent = (req: IncomingMessage, res: ServerResponse, partnerId: string, path: string) => Promise<boolean>;

export function idempotency(node: HubNode, audit: AuditLog): Idempotent {
  return async function handle(req, res, partnerId, path) {
    if (req.method !== "POST" || req.headers["idempotency-key"] === undefined) return false;
    const key = checkedKey(req.headers["idempotency-key"]);
    const fingerprint = fingerprintOf(req.method, path, await readRawBody(req));
    const claim = await claimKey(node.db, node.config.idempotencyTtlS, partnerId, key, fingerprint, audit.commit);
    if (claim.replay) {
      replay(res, claim.replay);
      return true;
    }
    capture(node, res, claim.keep);
    return false;
  };
}

function replay(res: ServerResponse, answer: KeptAnswer): void {
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  res.setHeader("Idempotent-Replayed", "true");
  res.writeHead(answer.status);
  res.end(answer.body);
}

/** Keeps the answer as it is sent: it leaves once kept, so a repeat arriving now finds it. */
function capture(node: HubNode, res: ServerResponse, keep: (answer: KeptAnswer) => Promise<void>): void {
  const end = res.end.bind(res) as (chunk?: unknown, ...rest: unknown[]) => ServerResponse;
  const chunks: Buffer[] = [];
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  res.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (chunk) chunks.push(Buffer.from(chunk as string));
    return write(chunk, ...rest);
  }) as typeof res.write;
  res.end = ((chunk?: unknown, ...rest: unknown[]) => {
    if (chunk && typeof chunk !== "function") chunks.push(Buffer.from(chunk as string));
    const headers = Object.fromEntries(KEPT_HEADERS.filter((h) => res.hasHeader(h)).map((h) => [h, String(res.getHeader(h))]));
    void keep({ status: res.statusCode, headers, body: Buffer.concat(chunks) })
      .catch((err) => node.broker.logger.error({ err: String(err) }, "could not keep an idempotent answer"))
      .finally(() => end(chunk, ...rest));
    return res;
  }) as typeof res.end;
}
