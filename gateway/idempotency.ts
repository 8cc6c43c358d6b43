/**
 * `Idempotency-Key` on a POST, REST or NATS (the rules: partners/idempotency.ts): a repeat is answered
 * from the first answer (`Idempotent-Replayed: true`); the first answer is kept as it
 * leaves. The claim and the kept answer join the audit log's batches (one transaction for many
 * requests); the answer's audit record is not in the same commit as its keeping: the action's
 * node commits it before the action returns, before the gateway has the answer to keep.
 */
import type { ServerResponse } from "node:http";
import type { HubNode } from "../platform/hub-node";
import type { AuditLog } from "../audit/log";
import { payloadKeys } from "../platform/payload-keys";
import { checkedKey, claimKey, fingerprintOf, type KeptAnswer } from "../partners/idempotency";
import type { ClaimOnce } from "./exchange";

const KEPT_HEADERS = ["content-type", "location"];

/** A POST with an `Idempotency-Key`, whatever carried it: its claim (run, then keep the answer) or its first answer (a repeat). */
export function idempotency(node: HubNode, audit: AuditLog): ClaimOnce {
  return async function claimOnce(request, partnerId) {
    const given = request.headers["idempotency-key"];
    if (request.operation.op.method !== "POST" || given === undefined) return undefined;
    const key = checkedKey(given);
    const fingerprint = fingerprintOf("POST", request.path, await request.body());
    const claim = await claimKey(node.db, { ttlS: node.config.idempotencyTtlS, keys: payloadKeys(node.config) }, partnerId, key, fingerprint, audit.commit);
    return claim.replay ? { replay: claim.replay } : { keep: (answer) => claim.keep(answer) };
  };
}

/** Over REST: a repeat is answered here (true); the first request's answer is kept as it leaves. */
export async function restIdempotency(node: HubNode, res: ServerResponse, claim: Awaited<ReturnType<ClaimOnce>>): Promise<boolean> {
  if (claim?.replay) {
    replay(res, claim.replay);
    return true;
  }
  if (claim?.keep) capture(node, res, claim.keep);
  return false;
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
