/**
 * A NATS request to a documented operation, `hub.v1.<operationId>`, through the steps REST
 * runs (exchange.ts): admission (token, scope, purpose, quota; the Idempotency-Key), the
 * contract check into the action's params and meta, the action, and the answer kept for a
 * repeat in the form REST keeps it, so a repeat over either transport replays it.
 */
import type { KeptAnswer } from "../partners/idempotency";
import { requestHash } from "./access";
import { actionCall, admission, type Admission, type HubRequest } from "./exchange";
import { jsonBytes, problemAnswer, type NatsAnswer, type NatsRequest } from "./nats-answers";
import { natsParts, type NatsParts } from "./nats-request";
import type { CompiledOperation } from "./operations";
import type { Gateway } from "./pipeline";

export async function answerOperation(gw: Gateway, compiled: CompiledOperation, request: NatsRequest): Promise<NatsAnswer> {
  const { op } = compiled;
  // Read now, refused when a step needs them: as over REST, a bad token is told before a bad body.
  let parts: NatsParts | undefined;
  let unreadable: unknown;
  try {
    parts = natsParts(compiled, request.data);
  } catch (err) {
    unreadable = err;
  }
  const read = () => parts ?? Promise.reject<NatsParts>(unreadable);
  const path = parts?.path ?? op.path;
  let hash: string | undefined;
  const hubRequest: HubRequest = {
    operation: compiled,
    path,
    headers: request.headers,
    requestId: request.requestId,
    body: async () => (await read()).bodyBytes,
    requestHash: async () => (hash ??= requestHash(op.method, (await read()).target, (await read()).bodyBytes)),
  };
  const headers: Record<string, string> = {};
  let admitted: Admission = {};
  try {
    admitted = await admission(gw, hubRequest, headers);
    if (admitted.replay) return replayed(admitted.replay, headers, admitted);
    const call = actionCall(compiled, await read(), admitted);
    const data = await gw.node.broker.call(op.operationId, call.params, { requestID: request.requestId, meta: call.meta });
    const body = jsonBytes(data);
    const location = op["x-location"]?.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(String((data as Record<string, unknown>)[k])));
    if (location) headers.Location = location;
    await keep(gw, admitted, {
      status: compiled.successStatus,
      headers: { "content-type": "application/json; charset=utf-8", ...(location ? { location } : {}) },
      body,
    });
    return { status: compiled.successStatus, headers, body, partner: admitted.caller?.partner.id, linkageId: call.meta.linkageId };
  } catch (err) {
    const answer = problemAnswer(err, path, request.requestId, gw.node.broker.logger, headers);
    await keep(gw, admitted, { status: answer.status, headers: { "content-type": "application/problem+json" }, body: Buffer.from(answer.body) });
    return { ...answer, partner: admitted.caller?.partner.id };
  }
}

/** The first answer to a request with this Idempotency-Key, whichever transport carried it. */
function replayed(kept: KeptAnswer, headers: Record<string, string>, admitted: Admission): NatsAnswer {
  const answer: NatsAnswer = {
    status: kept.status,
    headers: { ...headers, "Idempotent-Replayed": "true" },
    body: kept.body,
    partner: admitted.caller?.partner.id,
  };
  if (kept.headers.location) answer.headers.Location = kept.headers.location;
  if (kept.status >= 400) answer.error = titleOf(kept.body);
  return answer;
}

const titleOf = (problem: Buffer) => {
  try {
    return String((JSON.parse(problem.toString("utf8")) as { title?: unknown }).title ?? "Error");
  } catch {
    return "Error";
  }
};

/** Kept for a repeat; not keeping it is logged, and the answer still goes (as over REST). */
async function keep(gw: Gateway, admitted: Admission, answer: KeptAnswer): Promise<void> {
  await admitted.keep?.(answer).catch((err) => gw.node.broker.logger.error({ err: String(err) }, "could not keep an idempotent answer"));
}
