/**
 * `hub.v1.catalogue.call`: a call to a catalogue service over the NATS service, the request
 * REST carries as `/r1/{serviceId}{path}?{query}` written as JSON (CatalogueNatsCall), its
 * headers as NATS headers. catalogue/mediation.ts checks, forwards, audits and counts it as
 * it does a REST one; the answer is the provider's (`{status, headers, body}`, a success even
 * when the provider's status is not); the hub's refusals are problems.
 */
import { compileOpenApiSchema, violations } from "../contracts";
import { callResultOf, mediatedRequestHash } from "../catalogue/mediation";
import { parseServiceId, serviceIdOf } from "../catalogue/identifiers";
import { HubError } from "../platform/errors";
import type { components } from "../contracts/generated/types";
import { jsonBytes, problemAnswer, type NatsAnswer, type NatsRequest } from "./nats-answers";
import { parsedMessage, queryString } from "./nats-request";
import { MEDIATED_MAX_BODY_BYTES } from "./mediated";
import type { Gateway } from "./pipeline";

type Call = components["schemas"]["CatalogueNatsCall"];

const checkCall = compileOpenApiSchema({ $ref: "#/components/schemas/CatalogueNatsCall" });

/** The call checked against its schema (the problem names every violation, as REST's do). */
function callOf(data: Uint8Array): Call {
  const message = parsedMessage(data, MEDIATED_MAX_BODY_BYTES);
  if (!checkCall(message))
    throw new HubError("HUB_ERR_REQUEST_INVALID", "The request does not match catalogue.call", { errors: violations("body", checkCall.errors) });
  return message as Call;
}

/** The body's bytes as REST would carry them: text as it is, anything else as JSON (then `Content-Type` is JSON unless given). */
function bodyOf(call: Call, headers: Record<string, string | undefined>): Buffer {
  if (call.body === undefined) return Buffer.alloc(0);
  if (typeof call.body === "string") return Buffer.from(call.body);
  headers["content-type"] ??= "application/json";
  return jsonBytes(call.body);
}

export async function answerMediated(gw: Gateway, request: NatsRequest): Promise<NatsAnswer> {
  let instance = "/r1";
  let partner: string | undefined;
  const answerHeaders: Record<string, string> = {};
  try {
    const call = callOf(request.data);
    const serviceId = serviceIdOf(parseServiceId(call.serviceId));
    const query = typeof call.query === "string" ? call.query.replace(/^\?/, "") : queryString(call.query ?? {});
    instance = `/r1/${serviceId}${call.path}`;
    const headers = { ...request.headers };
    const body = bodyOf(call, headers);
    const requestHash = mediatedRequestHash(call.method, query ? `${instance}?${query}` : instance, body);
    answerHeaders["Request-Hash"] = requestHash;
    const answer = await gw.mediation.mediate({
      ...{ serviceId, method: call.method, path: call.path, query, headers, body, requestId: request.requestId, requestHash },
      identified: (id) => void (partner = id),
    });
    return { status: answer.status, headers: answerHeaders, body: jsonBytes(callResultOf(answer)), partner };
  } catch (err) {
    return { ...problemAnswer(err, instance, request.requestId, gw.node.broker.logger, answerHeaders), partner };
  }
}
