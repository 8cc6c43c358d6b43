/**
 * The contracts as the code sees them: the OpenAPI document (bundled, as served at
 * /openapi.json), the schema files, and one Ajv instance that knows them all.
 *
 * Schema files refer to each other by file name (`"$ref": "ResidentId.json"`); the OpenAPI
 * document lists every file under components/schemas by the same name. Bundling rewrites
 * file refs to component refs; Ajv gets component refs rewritten to file ids.
 */
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import type { ActionParams } from "moleculer";
import { Ajv2020, type ValidateFunction, type ErrorObject } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { isE164Phone, isResidentId } from "./formats";

const DIR = __dirname;
const SCHEMA_BASE = "https://linkage-hub.local/schemas/";
const COMPONENT_REF = /^#\/components\/schemas\/([A-Za-z0-9_]+)$/;
const FILE_REF = /^(?:\.\/)?([A-Za-z0-9_]+)\.json$/;

export type JsonSchema = Record<string, unknown>;
type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const HTTP_METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

export interface Parameter {
  name: string;
  in: "path" | "query" | "header" | "cookie";
  required?: boolean;
  schema: JsonSchema;
}

export interface Operation {
  operationId: string;
  method: string; // upper case
  path: string; // OpenAPI template, /v1/linkages/{id}
  parameters: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, DocumentedResponse & { $ref?: string }>;
  "x-location"?: string;
  /** The scopes needed (`[{ partnerToken: [...] }]`), or `[]` for a public operation. */
  security?: Record<string, string[]>[];
  /** Whether the operation touches personal data, so a `Data-Purpose` is required. */
  "x-personal-data"?: boolean;
}

function mapRefs(value: Json, rewrite: (ref: string) => string): Json {
  if (Array.isArray(value)) return value.map((v) => mapRefs(v, rewrite));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "$ref" && typeof v === "string" ? rewrite(v) : mapRefs(v, rewrite)]));
  return value;
}

function readSchemaFiles(): Map<string, JsonSchema> {
  const files = new Map<string, JsonSchema>();
  for (const f of fs.readdirSync(path.join(DIR, "schemas")).filter((f) => f.endsWith(".json")))
    files.set(f.replace(/\.json$/, ""), JSON.parse(fs.readFileSync(path.join(DIR, "schemas", f), "utf8")));
  return files;
}

function loadSource(): Record<string, Json> {
  return YAML.parse(fs.readFileSync(path.join(DIR, "openapi.yaml"), "utf8"));
}

/** The OpenAPI document with every schema file inlined under components/schemas. */
function bundle(source: Record<string, Json>, files: Map<string, JsonSchema>): Record<string, Json> {
  const listed = (source.components as { schemas: Record<string, { $ref: string }> }).schemas;
  const schemas: Record<string, Json> = {};
  for (const [name, entry] of Object.entries(listed)) {
    const file = FILE_REF.exec(entry.$ref.replace(/^\.\/schemas\//, ""))?.[1];
    if (file !== name || !files.has(name)) throw new Error(`components/schemas/${name} must be { $ref: ./schemas/${name}.json }`);
    const { $schema: _drop, ...schema } = files.get(name)!;
    schemas[name] = mapRefs(schema as Json, (ref) => {
      const target = FILE_REF.exec(ref)?.[1];
      if (!target || !listed[target]) throw new Error(`${name}.json refers to ${ref}, which components/schemas does not list`);
      return `#/components/schemas/${target}`;
    });
  }
  for (const name of files.keys()) if (!listed[name]) throw new Error(`contracts/schemas/${name}.json is not listed under components/schemas`);
  return { ...source, components: { ...(source.components as object), schemas } };
}

function createAjv(files: Map<string, JsonSchema>): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true, strictRequired: false });
  addFormats(ajv);
  // An enum documented to grow (oasdiff's convention); its values are not a constraint.
  ajv.addKeyword({ keyword: "x-extensible-enum", metaSchema: { type: "array", items: { type: "string" } } });
  // Marks a request field naming the people concerned (the catalogue's documents need it); no constraint.
  ajv.addKeyword({ keyword: "x-subject", metaSchema: { type: "boolean" } });
  ajv.addFormat("resident-id", { type: "string", validate: isResidentId });
  ajv.addFormat("e164", { type: "string", validate: isE164Phone });
  for (const [name, schema] of files) ajv.addSchema({ ...schema, $id: SCHEMA_BASE + name + ".json" });
  return ajv;
}

const files = readSchemaFiles();
export const openapi = bundle(loadSource(), files);
export const ajv = createAjv(files);

/** The JSON Schema a contract name stands for, as a Moleculer action's `params`. */
export function contractSchema(name: string): ActionParams {
  if (!files.has(name)) throw new Error(`no contract schema ${name}`);
  return { $ref: SCHEMA_BASE + name + ".json" } as ActionParams;
}

/** Compiles a schema taken from the OpenAPI document (component refs point at the files). */
export function compileOpenApiSchema(schema: JsonSchema): ValidateFunction {
  const resolved = mapRefs(schema as Json, (ref) => {
    const name = COMPONENT_REF.exec(ref)?.[1];
    if (!name) throw new Error(`unsupported $ref ${ref}`);
    return SCHEMA_BASE + name + ".json";
  }) as JsonSchema;
  if (typeof resolved.$ref === "string" && Object.keys(resolved).length === 1) return ajv.getSchema(resolved.$ref)!;
  return ajv.compile(resolved);
}

/** An action's contract: its params (if it takes any) and its result, by contract schema name. */
export function actionContract(params: string | undefined, result: string): { params?: ActionParams; result: ActionParams } {
  return { ...(params ? { params: contractSchema(params) } : {}), result: contractSchema(result) };
}

export function isContractSchema(schema: unknown): schema is JsonSchema {
  return (
    typeof schema === "object" &&
    schema !== null &&
    typeof (schema as JsonSchema).$ref === "string" &&
    ((schema as JsonSchema).$ref as string).startsWith(SCHEMA_BASE)
  );
}

/** A parameter, or the one under components/parameters its `$ref` names. */
function resolveParameter(p: Parameter | { $ref: string }): Parameter {
  if (!("$ref" in p)) return p;
  const name = /^#\/components\/parameters\/([A-Za-z0-9_.-]+)$/.exec(p.$ref)?.[1];
  const found = name ? (openapi.components as { parameters?: Record<string, Parameter> }).parameters?.[name] : undefined;
  if (!found) throw new Error(`unsupported parameter $ref ${p.$ref}`);
  return found;
}

/** Every operation of the document, in document order. */
export function operations(): Operation[] {
  const ops: Operation[] = [];
  for (const [p, item] of Object.entries(openapi.paths as Record<string, Record<string, Json>>)) {
    const shared = (item.parameters ?? []) as unknown as Parameter[];
    for (const method of HTTP_METHODS) {
      const op = item[method] as unknown as Omit<Operation, "method" | "path"> | undefined;
      if (!op) continue;
      ops.push({ ...op, method: method.toUpperCase(), path: p, parameters: [...shared, ...(op.parameters ?? [])].map(resolveParameter) });
    }
  }
  return ops;
}

export interface DocumentedResponse {
  description?: string;
  content?: Record<string, { schema?: JsonSchema; examples?: Record<string, { value: unknown }> }>;
  headers?: Record<string, unknown>;
}

/** The response an operation documents for a status (its `default` otherwise), refs resolved. */
export function documentedResponse(op: Operation, status: number): DocumentedResponse | undefined {
  const entry = (op.responses[String(status)] ?? op.responses.default) as (DocumentedResponse & { $ref?: string }) | undefined;
  if (!entry?.$ref) return entry;
  const name = entry.$ref.replace("#/components/responses/", "");
  return (openapi.components as unknown as { responses: Record<string, DocumentedResponse> }).responses[name];
}

/** The event catalogue (`x-events`): event type → its data schema's component name. */
export const EVENT_TYPES: Record<string, string> = Object.fromEntries(
  Object.entries((openapi["x-events"] ?? {}) as Record<string, { $ref: string }>).map(([type, ref]) => {
    const name = COMPONENT_REF.exec(ref.$ref)?.[1];
    if (!name || !files.has(name)) throw new Error(`x-events: ${type} must refer to a schema under components/schemas`);
    return [type, name];
  }),
);

export interface ContractViolation {
  in: "body" | "query" | "path" | "header" | "params" | "event";
  pointer: string;
  detail: string;
}

/** Ajv errors as RFC 9457 `errors[]` entries: a JSON pointer and a message each. */
export function violations(where: ContractViolation["in"], errors: ErrorObject[] | null | undefined): ContractViolation[] {
  return (errors ?? []).map((e) => {
    let pointer = e.instancePath;
    if (e.keyword === "required") pointer += "/" + escapePointer((e.params as { missingProperty: string }).missingProperty);
    if (e.keyword === "additionalProperties") pointer += "/" + escapePointer((e.params as { additionalProperty: string }).additionalProperty);
    const detail =
      e.keyword === "additionalProperties"
        ? "is not allowed here"
        : e.keyword === "format"
          ? `must be a valid ${(e.params as { format: string }).format}`
          : (e.message ?? "is invalid");
    return { in: where, pointer, detail };
  });
}

function escapePointer(token: string): string {
  return token.replace(/~/g, "~0").replace(/\//g, "~1");
}
