/**
 * One request to a documented operation, whatever carried it: the REST face (pipeline.ts) and
 * the NATS face (nats-service.ts) describe it the same way and run the same steps on it, so
 * both meet the same checks, refusals, audit records and idempotency:
 *   admission (token, scope, purpose, quota; a refusal audited; then an Idempotency-Key claimed
 *   or its first answer replayed) → actionCall (the request checked against the contract, as
 *   the action's params and meta) → the action → problemOf (any error as RFC 9457).
 */
import type { Logger } from "moleculer";
import type { CallMeta } from "../platform/call-meta";
import { HubError } from "../platform/errors";
import { checkedInProcess } from "../platform/validator";
import type { KeptAnswer } from "../partners/idempotency";
import type { Caller } from "./access";
import { XmlBody } from "./body";
import type { CompiledOperation } from "./operations";
import { toProblem, type Problem } from "./problem";

export interface HubRequest {
  operation: CompiledOperation;
  /** The concrete path without its query (what an Idempotency-Key's request is compared by). */
  path: string;
  /** Lower-case names. */
  headers: Record<string, string | undefined>;
  requestId: string;
  /** The body's bytes, within the operation's limit: read only when a step needs them (REST refuses a bad token unread). */
  body(): Promise<Buffer>;
  /** `Request-Hash`: `<METHOD> <path with query>\n<body>` hashed (access.ts). */
  requestHash(): Promise<string>;
}

export interface Admission {
  /** The partner, for an operation that needs a token. */
  caller?: Caller;
  /** `Request-Hash`, once a partner is admitted (the action's meta names it). */
  requestHash?: string;
  /** A repeat of a request with an Idempotency-Key: the first answer, to send again. */
  replay?: KeptAnswer;
  /** The first request with an Idempotency-Key: keep its answer once it is known. */
  keep?(answer: KeptAnswer): Promise<void>;
}

/** The caller of an operation (undefined for a public one) and the headers its answer carries; throws the refusal (audited). */
export type Authorize = (request: HubRequest) => Promise<{ caller: Caller; headers: Record<string, string> } | undefined>;

/** An Idempotency-Key's claim (undefined: none to honour), by partner. */
export type ClaimOnce = (request: HubRequest, partnerId: string) => Promise<Pick<Admission, "replay" | "keep"> | undefined>;

/**
 * Who calls, then an Idempotency-Key runs once. `headers` (the answer's: RateLimit,
 * Request-Hash) is filled as the steps pass, so a refusal after them carries them too.
 */
export async function admission(
  steps: { authorize: Authorize; claimOnce: ClaimOnce },
  request: HubRequest,
  headers: Record<string, string>,
): Promise<Admission> {
  const admitted = await steps.authorize(request);
  if (!admitted) return {};
  Object.assign(headers, admitted.headers);
  const requestHash = await request.requestHash();
  headers["Request-Hash"] = requestHash;
  const claim = await steps.claimOnce(request, admitted.caller.partner.id);
  return { caller: admitted.caller, requestHash, ...claim };
}

/** The request as its parts: path parameters (text), query (text, or typed over NATS), body (parsed JSON or XML text; undefined when none). */
export interface RequestParts {
  pathParams: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
}

/** The request checked against the operation's contract, as the action's params and meta; throws the 400 naming every violation. */
export function actionCall(operation: CompiledOperation, parts: RequestParts, admitted: Admission): { params: Record<string, unknown>; meta: CallMeta } {
  const { pathParams, query, body } = parts;
  const errors = operation.validate({ path: pathParams, query, body });
  if (errors.length) throw new HubError("HUB_ERR_REQUEST_INVALID", `The request does not match ${operation.op.operationId}`, { errors });
  const params: Record<string, unknown> = { ...pathParams, ...query };
  const bodyOnly = Object.keys(params).length === 0;
  if (body instanceof XmlBody) params.xml = body.text;
  else if (body && typeof body === "object" && !Array.isArray(body)) {
    Object.assign(params, body);
    // The params are the body just checked, as they are: a local action need not check them again.
    if (bodyOnly && operation.bodyCheck) checkedInProcess(params, operation.bodyCheck);
  }
  const meta = {
    operationId: operation.op.operationId,
    partner: admitted.caller?.partner.id,
    purpose: admitted.caller?.purpose,
    requestHash: admitted.requestHash,
  };
  return { params, meta };
}

/** Any error as the problem to answer and the headers its refusal carries; an internal one is logged with its stack. */
export function problemOf(err: unknown, instance: string, requestId: string, logger: Logger): { problem: Problem; headers: Record<string, string> } {
  const { problem, internal } = toProblem(err, instance, requestId);
  if (internal) logger.error({ requestId, err: String((err as Error)?.stack ?? err) }, "request failed");
  // The refusal's own headers: its challenge (`WWW-Authenticate`), `Retry-After`, the quota.
  const headers = (err as { data?: { headers?: Record<string, string> } }).data?.headers ?? {};
  return { problem, headers };
}
