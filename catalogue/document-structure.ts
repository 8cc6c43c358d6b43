/**
 * The structure of an OpenAPI 3.0/3.1 document, checked by hand rather than against the
 * official JSON Schemas: Ajv cannot compile the 3.0 one (draft-04) and misreads the 3.1 one's
 * `$dynamicRef` (ajv-validator/ajv#1573, #1745), refusing valid documents. Checked: the
 * fields of each object the hub reads (types, required ones, unknown names), response
 * codes, component names. Schemas themselves are checked in schema-dialect.ts.
 */
import { isObject, pointerOf, type JsonObject } from "./json-pointer";
import { visitDocument, HTTP_METHODS, type Kind } from "./openapi-walk";
import type { Problem } from "./document-read";

type Version = "3.0" | "3.1";
type Rule = (node: JsonObject, tokens: string[], out: Problem[], version: Version) => void;

const PARAMETER_FIELDS = [
  "description",
  "required",
  "deprecated",
  "allowEmptyValue",
  "style",
  "explode",
  "allowReserved",
  "schema",
  "example",
  "examples",
  "content",
];
const FIELDS: Record<Kind, string[]> = {
  pathItem: ["$ref", "summary", "description", "servers", "parameters", ...HTTP_METHODS],
  operation: [
    "tags",
    "summary",
    "description",
    "externalDocs",
    "operationId",
    "parameters",
    "requestBody",
    "responses",
    "callbacks",
    "deprecated",
    "security",
    "servers",
  ],
  parameter: ["name", "in", ...PARAMETER_FIELDS],
  header: PARAMETER_FIELDS,
  requestBody: ["description", "content", "required"],
  response: ["description", "headers", "content", "links"],
  mediaType: ["schema", "example", "examples", "encoding"],
  callback: [],
};
const ROOT_FIELDS = ["openapi", "info", "servers", "paths", "components", "security", "tags", "externalDocs"];
const COMPONENTS = ["schemas", "responses", "parameters", "examples", "requestBodies", "headers", "securitySchemes", "links", "callbacks"];
const ARTICLE: Record<Kind, string> = {
  pathItem: "a path item",
  operation: "an operation",
  parameter: "a parameter",
  header: "a header",
  requestBody: "a request body",
  response: "a response",
  mediaType: "a media type",
  callback: "a callback",
};

const add = (out: Problem[], tokens: string[], detail: string) => out.push({ pointer: pointerOf(tokens), detail });
const describe = (v: unknown) => (Array.isArray(v) ? "an array" : v === null ? "null" : isObject(v) ? "an object" : `${typeof v} ${JSON.stringify(v)}`);

/** Checks `node[key]` against a type, if present (or if required). */
function field(node: JsonObject, key: string, type: "string" | "boolean" | "object" | "array", tokens: string[], out: Problem[], required = false) {
  const value = node[key];
  if (value === undefined) {
    if (required) add(out, tokens, `must have the field "${key}"`);
    return;
  }
  const ok = type === "object" ? isObject(value) : type === "array" ? Array.isArray(value) : typeof value === type;
  if (!ok) add(out, [...tokens, key], `must be ${type === "array" || type === "object" ? "an" : "a"} ${type}, not ${describe(value)}`);
}

function unknownFields(node: JsonObject, allowed: readonly string[], what: string, tokens: string[], out: Problem[]) {
  for (const key of Object.keys(node))
    if (!allowed.includes(key) && !key.startsWith("x-")) add(out, [...tokens, key], `is not a field of ${what} (extensions start with "x-")`);
}

/** A parameter or header has either a schema or a content map with one media type. */
const schemaOrContent: Rule = (node, tokens, out, version) => {
  const has = (k: string) => node[k] !== undefined;
  if (has("schema") === has("content")) add(out, tokens, 'must have either "schema" or "content", not both or neither');
  if (has("schema") && !isObject(node.schema) && !(version === "3.1" && typeof node.schema === "boolean"))
    add(out, [...tokens, "schema"], `must be a schema object, not ${describe(node.schema)}`);
  field(node, "content", "object", tokens, out);
  if (isObject(node.content) && Object.keys(node.content).length !== 1) add(out, [...tokens, "content"], "must name exactly one media type");
  field(node, "required", "boolean", tokens, out);
  field(node, "explode", "boolean", tokens, out);
  field(node, "style", "string", tokens, out);
};

const RESPONSE_CODE = /^(default|[1-5](\d\d|XX))$/;

const operationRule: Rule = (node, tokens, out) => {
  field(node, "operationId", "string", tokens, out);
  field(node, "parameters", "array", tokens, out);
  field(node, "callbacks", "object", tokens, out);
  field(node, "tags", "array", tokens, out);
  field(node, "security", "array", tokens, out);
  field(node, "deprecated", "boolean", tokens, out);
  field(node, "x-personal-data", "boolean", tokens, out);
  // OpenAPI 3.1 lets an operation leave its responses out; the hub checks every answer, so it needs them.
  field(node, "responses", "object", tokens, out, true);
  if (!isObject(node.responses)) return;
  const codes = Object.keys(node.responses).filter((k) => !k.startsWith("x-"));
  if (codes.length === 0) add(out, [...tokens, "responses"], "must document at least one response");
  for (const code of codes) if (!RESPONSE_CODE.test(code)) add(out, [...tokens, "responses", code], 'is not a response code: "200", "2XX" or "default"');
};

const RULES: Record<Kind, Rule> = {
  pathItem: (node, tokens, out) => field(node, "parameters", "array", tokens, out),
  operation: operationRule,
  parameter: (node, tokens, out, version) => {
    field(node, "name", "string", tokens, out, true);
    field(node, "in", "string", tokens, out, true);
    if (node.in !== undefined && !["path", "query", "header", "cookie"].includes(node.in as string))
      add(out, [...tokens, "in"], `must be "path", "query", "header" or "cookie", not ${describe(node.in)}`);
    if (node.in === "path" && node.required !== true) add(out, tokens, "a path parameter must say required: true");
    schemaOrContent(node, tokens, out, version);
  },
  header: schemaOrContent,
  requestBody: (node, tokens, out) => {
    field(node, "content", "object", tokens, out, true);
    field(node, "required", "boolean", tokens, out);
  },
  response: (node, tokens, out) => {
    field(node, "description", "string", tokens, out, true);
    field(node, "headers", "object", tokens, out);
    field(node, "content", "object", tokens, out);
    field(node, "links", "object", tokens, out);
  },
  mediaType: (node, tokens, out, version) => {
    if (node.schema !== undefined && !isObject(node.schema) && !(version === "3.1" && typeof node.schema === "boolean"))
      add(out, [...tokens, "schema"], `must be a schema object, not ${describe(node.schema)}`);
    field(node, "encoding", "object", tokens, out);
    field(node, "examples", "object", tokens, out);
  },
  callback: () => {},
};

/** The top level: info, paths, components and the lists beside them. */
function rootProblems(doc: JsonObject, version: Version, out: Problem[]) {
  unknownFields(doc, version === "3.1" ? [...ROOT_FIELDS, "webhooks", "jsonSchemaDialect"] : ROOT_FIELDS, "an OpenAPI document", [], out);
  field(doc, "info", "object", [], out, true);
  if (isObject(doc.info)) {
    field(doc.info, "title", "string", ["info"], out, true);
    field(doc.info, "version", "string", ["info"], out, true);
  }
  // 3.1 makes paths optional (a document of webhooks or components); a service needs them.
  field(doc, "paths", "object", [], out, true);
  if (isObject(doc.paths))
    for (const path of Object.keys(doc.paths)) if (!path.startsWith("/") && !path.startsWith("x-")) add(out, ["paths", path], 'a path must start with "/"');
  for (const list of ["servers", "tags", "security"]) field(doc, list, "array", [], out);
  field(doc, "webhooks", "object", [], out);
  if (Array.isArray(doc.servers))
    doc.servers.forEach((s, i) =>
      isObject(s) ? field(s, "url", "string", ["servers", String(i)], out, true) : add(out, ["servers", String(i)], "must be an object"),
    );
  field(doc, "components", "object", [], out);
  if (isObject(doc.components)) componentProblems(doc.components, version, out);
}

function componentProblems(components: JsonObject, version: Version, out: Problem[]) {
  const sections = version === "3.1" ? [...COMPONENTS, "pathItems"] : COMPONENTS;
  unknownFields(components, sections, "components", ["components"], out);
  for (const section of sections) {
    field(components, section, "object", ["components"], out);
    const entries = components[section];
    if (!isObject(entries)) continue;
    for (const [name, value] of Object.entries(entries)) {
      const at = ["components", section, name];
      if (!/^[a-zA-Z0-9.\-_]+$/.test(name)) add(out, at, "a component name may hold only letters, digits, '.', '-' and '_'");
      if (section === "schemas" && !isObject(value) && !(version === "3.1" && typeof value === "boolean"))
        add(out, at, `must be a schema object, not ${describe(value)}`);
    }
  }
}

/** Every structural problem of the document, each with its pointer. */
export function structureProblems(doc: JsonObject, version: Version): Problem[] {
  const out: Problem[] = [];
  rootProblems(doc, version, out);
  visitDocument(doc, {
    object(kind, node, tokens) {
      if (!isObject(node)) return add(out, tokens, `must be ${ARTICLE[kind]} (an object), not ${describe(node)}`);
      if (node.$ref !== undefined) return; // a Reference Object: checked with the other references
      if (kind !== "callback") unknownFields(node, FIELDS[kind], ARTICLE[kind], tokens, out);
      RULES[kind](node, tokens, out, version);
    },
  });
  return out;
}
