/**
 * What each endpoint of the NATS service takes and answers, from the contract: as JSON
 * pointers into the contract (the endpoints' metadata in `$SRV.INFO`) and as whole JSON
 * Schemas (2020-12, every schema they use under `$defs`), served by `hub.v1.schemas`.
 *
 * A NATS request is one JSON object (nats-request.ts): an operation with path or query
 * parameters takes them as fields beside its body's, so its request schema is written here:
 * the parameters' schemas and the body's properties in one object.
 */
import { openapi, type JsonSchema, type Operation } from "../contracts";
import type { CompiledOperation } from "./operations";
import { fieldParameters } from "./nats-request";

const COMPONENTS = (openapi.components as { schemas: Record<string, JsonSchema> }).schemas;
const COMPONENT_REF = /^#\/components\/schemas\/([A-Za-z0-9_]+)$/;

export interface EndpointSchemas {
  /** JSON pointers into the contract (/openapi.json), for the endpoint's metadata. */
  pointers: { request_schema?: string; response_schema?: string };
  request: JsonSchema;
  response: JsonSchema;
}

const escaped = (token: string) => token.replace(/~/g, "~0").replace(/\//g, "~1");

/** A schema's place in the contract: the component a bare `$ref` names, else where the operation writes it. */
function pointerOf(schema: JsonSchema | undefined, at: string): string | undefined {
  if (!schema) return undefined;
  const ref = typeof schema.$ref === "string" && Object.keys(schema).length === 1 ? schema.$ref : undefined;
  return ref ?? at;
}

const requestBodySchema = (op: Operation) => op.requestBody?.content["application/json"]?.schema;
function successSchema(op: Operation): { schema?: JsonSchema; status: string } {
  const status = Object.keys(op.responses).find((s) => /^2\d\d$/.test(s))!;
  return { schema: op.responses[status]?.content?.["application/json"]?.schema, status };
}

export function operationSchemas(compiled: CompiledOperation): EndpointSchemas {
  const { op } = compiled;
  const at = `#/paths/${escaped(op.path)}/${op.method.toLowerCase()}`;
  const body = requestBodySchema(op);
  const success = successSchema(op);
  return {
    pointers: {
      request_schema: pointerOf(body, `${at}/requestBody/content/application~1json/schema`),
      response_schema: pointerOf(success.schema, `${at}/responses/${success.status}/content/application~1json/schema`),
    },
    request: standalone(requestSchema(compiled, body)),
    response: standalone(success.schema ?? {}),
  };
}

/** The schemas of an endpoint that is no contract operation (`catalogue.call`): two components. */
export function componentSchemas(request: string, response: string): EndpointSchemas {
  return {
    pointers: { request_schema: `#/components/schemas/${request}`, response_schema: `#/components/schemas/${response}` },
    request: standalone({ $ref: `#/components/schemas/${request}` }),
    response: standalone({ $ref: `#/components/schemas/${response}` }),
  };
}

/** The message an operation takes: its body, or its path and query parameters as fields with the body's properties. */
function requestSchema(compiled: CompiledOperation, body: JsonSchema | undefined): JsonSchema {
  const params = fieldParameters(compiled);
  if (!params.length) return body ?? { type: "object", maxProperties: 0, description: "No fields: send {} or nothing." };
  const properties: Record<string, unknown> = Object.fromEntries(params.map((p) => [p.name, p.schema]));
  const required = params.filter((p) => p.required).map((p) => p.name);
  let closed = true;
  if (body) {
    const object = objectOf(body, compiled.op.operationId);
    Object.assign(properties, object.properties);
    required.push(...((object.required as string[] | undefined) ?? []));
    closed = object.additionalProperties === false || object.unevaluatedProperties === false;
  }
  return { type: "object", properties, required, ...(closed ? { additionalProperties: false } : {}) };
}

const OBJECT_KEYWORDS = new Set(["$ref", "type", "title", "description", "properties", "required", "additionalProperties", "unevaluatedProperties"]);

/** A body that is a plain object (a component, maybe closed where used), its keywords in one schema. */
function objectOf(body: JsonSchema, operationId: string): JsonSchema {
  const name = typeof body.$ref === "string" ? COMPONENT_REF.exec(body.$ref)?.[1] : undefined;
  const merged: JsonSchema = { ...(name ? COMPONENTS[name] : {}), ...body };
  delete merged.$ref;
  const other = Object.keys(merged).filter((k) => !OBJECT_KEYWORDS.has(k));
  if (other.length || merged.type !== "object")
    throw new Error(
      `${operationId}: a body beside path or query parameters must be a plain object schema for NATS (it has ${other.join(", ") || "no object type"})`,
    );
  return merged;
}

/** A schema with every component it uses under `$defs`, its refs pointing there. */
export function standalone(schema: JsonSchema): JsonSchema {
  const defs: Record<string, unknown> = {};
  const pending: string[] = [];
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (!value || typeof value !== "object") return value;
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const name = k === "$ref" && typeof v === "string" ? COMPONENT_REF.exec(v)?.[1] : undefined;
        if (!name) return [k, rewrite(v)];
        if (!(name in defs)) {
          defs[name] = null;
          pending.push(name);
        }
        return [k, `#/$defs/${name}`];
      }),
    );
  };
  const root = rewrite(schema) as JsonSchema;
  for (let name = pending.shift(); name; name = pending.shift()) defs[name] = rewrite(COMPONENTS[name]);
  return { $schema: "https://json-schema.org/draft/2020-12/schema", ...root, ...(Object.keys(defs).length ? { $defs: defs } : {}) };
}
