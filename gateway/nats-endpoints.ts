/**
 * The NATS service's endpoints described: each one's metadata in `$SRV.INFO` (the operation,
 * its REST method and path, the fields that are parameters, and its schemas as JSON pointers
 * into the contract), and `hub.v1.schemas`, which answers `{"operationId": "..."}` with the
 * whole request and response JSON Schemas.
 */
import type { Logger } from "moleculer";
import { HubError } from "../platform/errors";
import { jsonBytes, problemAnswer, type NatsAnswer, type NatsRequest } from "./nats-answers";
import { fieldParameters, parsedMessage } from "./nats-request";
import { componentSchemas, operationSchemas, type EndpointSchemas } from "./nats-schemas";
import { OPERATIONS, type CompiledOperation } from "./operations";
import { MEDIATED_MAX_BODY_BYTES } from "./mediated";

const PARTNER_OPERATIONS = OPERATIONS.filter((c) => !c.op.operationId.startsWith("api."));

/** The schemas of every endpoint that has some, by operationId; computed once (a contract the NATS face cannot describe fails at start-up). */
export const ENDPOINT_SCHEMAS = new Map<string, EndpointSchemas>([
  ...PARTNER_OPERATIONS.map((c) => [c.op.operationId, operationSchemas(c)] as const),
  ["catalogue.call", componentSchemas("CatalogueNatsCall", "CatalogueCallResult")],
]);

const compact = (fields: Record<string, string | undefined>) =>
  Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, string>;

/** An endpoint's metadata: an operation's, `catalogue.call`'s or `schemas`'. */
export function endpointMetadata(endpoint: CompiledOperation | "catalogue.call" | "schemas"): Record<string, string> {
  if (endpoint === "schemas")
    return { operation: "schemas", description: 'Send {"operationId": "..."}; the answer is {operationId, request, response}: JSON Schemas' };
  if (endpoint === "catalogue.call")
    return { operation: "catalogue.call", rest: "ANY /r1/{serviceId}{path}", ...ENDPOINT_SCHEMAS.get("catalogue.call")!.pointers };
  const { op } = endpoint;
  const parameters = fieldParameters(endpoint).map((p) => p.name);
  return compact({
    operation: op.operationId,
    rest: `${op.method} ${op.path}`,
    parameters: parameters.length ? parameters.join(",") : undefined,
    ...ENDPOINT_SCHEMAS.get(op.operationId)!.pointers,
  });
}

/** `hub.v1.schemas`: an endpoint's request and response schemas. */
export async function answerSchemas(request: NatsRequest, logger: Logger): Promise<NatsAnswer> {
  try {
    const asked = parsedMessage(request.data, MEDIATED_MAX_BODY_BYTES) as { operationId?: unknown } | undefined;
    const operationId = asked?.operationId;
    if (typeof operationId !== "string")
      throw new HubError("HUB_ERR_REQUEST_INVALID", 'Send {"operationId": "<an operation>"}', {
        errors: [{ in: "body", pointer: "/operationId", detail: "must be a string" }],
      });
    const schemas = ENDPOINT_SCHEMAS.get(operationId);
    if (!schemas) throw new HubError("HUB_ERR_ROUTE_NOT_FOUND", `No endpoint serves ${operationId}; $SRV.INFO.linkage-hub lists them`);
    return { status: 200, headers: {}, body: jsonBytes({ operationId, request: schemas.request, response: schemas.response }) };
  } catch (err) {
    return problemAnswer(err, "hub.v1.schemas", request.requestId, logger);
  }
}
