/**
 * The NATS face: the NATS service `linkage-hub` (the NATS services API: `$SRV.PING`, `$SRV.INFO`,
 * `$SRV.STATS`), one endpoint `hub.v1.<operationId>` for each operation a partner calls over
 * REST, `hub.v1.catalogue.call` for a mediated call and `hub.v1.schemas` for the schemas. It
 * runs on each gateway on the node's NATS connection, in the services API's queue group: the
 * gateways share the requests. A request goes through the same steps as over REST
 * (exchange.ts); docs/nats-service.md is the caller's side.
 */
import type { Msg, MsgHdrs, Service, ServiceMsg } from "nats";
import { headers as natsHeaders } from "nats";
import client from "prom-client";
import { openapi } from "../contracts";
import { logsAt } from "../platform/log-level";
import { answerMediated } from "./nats-mediated";
import { answerOperation } from "./nats-operation";
import type { NatsAnswer, NatsRequest } from "./nats-answers";
import { answerSchemas, endpointMetadata } from "./nats-endpoints";
import { OPERATIONS } from "./operations";
import { ANSWER_SECONDS_BUCKETS, type Gateway } from "./pipeline";
import { requestIdOf } from "./request-state";

export const SERVICE_NAME = "linkage-hub";
export const SUBJECT_PREFIX = "hub.v1.";

const natsRequests = new client.Counter({
  name: "hub_nats_requests_total",
  help: "Answers of the NATS service linkage-hub by partner (none: not authenticated), operation and status class (REST's status)",
  labelNames: ["partner", "operation", "status_class"] as const,
});
const natsDuration = new client.Histogram({
  name: "hub_nats_request_duration_seconds",
  help: "NATS service request duration by partner and operation",
  labelNames: ["partner", "operation"] as const,
  buckets: ANSWER_SECONDS_BUCKETS,
});

/** Starts the service on the node's NATS connection; stop it before the connection closes. */
export async function startNatsService(gw: Gateway): Promise<Service> {
  const service = await gw.node.bus.nc.services.add({
    name: SERVICE_NAME,
    version: String((openapi.info as { version: string }).version),
    description: "Linkage Hub: the operations of its REST contract (/openapi.json) over NATS; docs/nats-service.md",
    metadata: { contract: "/openapi.json", schemas: `${SUBJECT_PREFIX}schemas` },
  });
  const serve = answering(gw);
  for (const compiled of OPERATIONS.filter((c) => !c.op.operationId.startsWith("api."))) {
    const operation = compiled.op.operationId;
    service.addEndpoint(endpointName(operation), {
      subject: SUBJECT_PREFIX + operation,
      metadata: endpointMetadata(compiled),
      handler: serve(operation, (request) => answerOperation(gw, compiled, request)),
    });
  }
  service.addEndpoint("catalogue_call", {
    subject: `${SUBJECT_PREFIX}catalogue.call`,
    metadata: endpointMetadata("catalogue.call"),
    handler: serve("catalogue.call", (request) => answerMediated(gw, request)),
  });
  service.addEndpoint("schemas", {
    subject: `${SUBJECT_PREFIX}schemas`,
    metadata: endpointMetadata("schemas"),
    handler: serve("schemas", (request) => answerSchemas(request, gw.node.broker.logger)),
  });
  return service;
}

/** Endpoint names are letters, digits, `-` and `_`: the operationId with its dots as `_`. */
export const endpointName = (operationId: string) => operationId.replace(/\./g, "_");

/** Each answer sent, counted, timed and logged as REST's are (metrics under hub_nats_*). */
function answering(gw: Gateway) {
  const { broker } = gw.node;
  const writes = logsAt(broker, "info");
  return (operation: string, answer: (request: NatsRequest) => Promise<NatsAnswer>) => (err: Error | null, msg: ServiceMsg) => {
    if (err) return void broker.logger.error({ err: String(err) }, "NATS service endpoint stopped");
    const stop = natsDuration.startTimer();
    const headers = headersOf(msg.headers);
    const requestId = requestIdOf(headers["x-request-id"]);
    void answer({ data: msg.data, headers, requestId })
      .then((answered) => {
        respond(msg, requestId, answered);
        const labels = { partner: answered.partner ?? "none", operation };
        natsRequests.inc({ ...labels, status_class: `${Math.floor(answered.status / 100)}xx` });
        const seconds = stop(labels);
        if (!writes) return;
        const line = { requestId, linkageId: answered.linkageId, ...labels, transport: "nats", status: answered.status };
        broker.logger.info({ ...line, ms: Math.round(seconds * 1000) }, "request answered");
      })
      .catch((failed) => broker.logger.error({ requestId, err: String((failed as Error)?.stack ?? failed) }, "NATS request not answered"));
  };
}

function respond(msg: Msg, requestId: string, answer: NatsAnswer): void {
  const headers = natsHeaders();
  headers.set("X-Request-Id", requestId);
  headers.set("Content-Type", answer.error === undefined ? "application/json" : "application/problem+json");
  for (const [name, value] of Object.entries(answer.headers)) headers.set(name, value);
  if (answer.error === undefined) msg.respond(answer.body, { headers });
  else (msg as ServiceMsg).respondError(answer.status, answer.error, answer.body, { headers });
}

/** A message's headers by lower-case name (the first value of a repeated one). */
export function headersOf(given: MsgHdrs | undefined): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const name of given?.keys() ?? []) out[name.toLowerCase()] ??= given!.get(name);
  return out;
}
