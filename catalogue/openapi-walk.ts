/**
 * Where things live in an OpenAPI 3.0/3.1 document: its operations, its Parameter Objects,
 * and its Schema Objects (in components, parameters, headers and media types, and the
 * subschemas inside them). Walks tolerate a malformed document: the structure check reports
 * what is wrong, these only skip it.
 */
import { isObject, localRefTokens, pointerOf, valueAt, type JsonObject } from "./json-pointer";

export const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

export interface Located {
  node: JsonObject;
  tokens: string[];
}

/** Follows Reference Objects (`{ $ref: "#/..." }`) to the object they name; undefined when one is not local, dangles or loops. */
export function deref(doc: JsonObject, node: unknown, tokens: string[]): Located | undefined {
  const seen = new Set<string>();
  let current = node;
  let at = tokens;
  while (isObject(current) && typeof current.$ref === "string") {
    const target = localRefTokens(current.$ref);
    if (!target || seen.has(pointerOf(target))) return undefined;
    seen.add(pointerOf(target));
    current = valueAt(doc, target);
    at = target;
  }
  return isObject(current) ? { node: current, tokens: at } : undefined;
}

export interface OperationAt extends Located {
  method: (typeof HTTP_METHODS)[number];
  path: string;
  /** The path item holding the operation (its shared parameters). */
  item: Located;
}

/** The operations under `paths`, in document order. */
export function operationsOf(doc: JsonObject): OperationAt[] {
  const found: OperationAt[] = [];
  if (!isObject(doc.paths)) return found;
  for (const [path, value] of Object.entries(doc.paths)) {
    if (!path.startsWith("/")) continue;
    const item = deref(doc, value, ["paths", path]);
    if (!item) continue;
    for (const method of HTTP_METHODS)
      if (isObject(item.node[method])) found.push({ method, path, node: item.node[method] as JsonObject, tokens: [...item.tokens, method], item });
  }
  return found;
}

/** The kinds of OpenAPI object a walk meets. */
export type Kind = "pathItem" | "operation" | "parameter" | "header" | "requestBody" | "response" | "mediaType" | "callback";

export interface Visitor {
  /** Any place where the structure expects an object of this kind (it may be a reference, or no object at all). */
  object?(kind: Kind, node: unknown, tokens: string[]): void;
  /** A Parameter Object (a reference is visited where it points). */
  parameter?(node: JsonObject, tokens: string[]): void;
  /** A Schema Object that is not inside another schema. */
  schema?(node: unknown, tokens: string[]): void;
}

type Walk = (node: unknown, tokens: string[], v: Visitor) => void;
/** A walk over one kind: tells the visitor, then goes inside unless the node is a reference. */
const kind =
  (k: Kind, inside: (node: JsonObject, tokens: string[], v: Visitor) => void): Walk =>
  (node, tokens, v) => {
    v.object?.(k, node, tokens);
    if (isObject(node) && node.$ref === undefined) inside(node, tokens, v);
  };
/** Walks a map's entries; in the maps that allow extensions (paths, responses, callbacks), `x-` keys are not entries. */
const eachEntry = (node: unknown, tokens: string[], v: Visitor, walk: Walk, extensions = false) => {
  if (isObject(node)) for (const [k, value] of Object.entries(node)) if (!(extensions && k.startsWith("x-"))) walk(value, [...tokens, k], v);
};
const eachItem = (node: unknown, tokens: string[], v: Visitor, walk: Walk) => {
  if (Array.isArray(node)) node.forEach((value, i) => walk(value, [...tokens, String(i)], v));
};
const schemaIn = (node: JsonObject, tokens: string[], v: Visitor) => {
  if (node.schema !== undefined) v.schema?.(node.schema, [...tokens, "schema"]);
};

const header: Walk = kind("header", (node, tokens, v) => {
  schemaIn(node, tokens, v);
  eachEntry(node.content, [...tokens, "content"], v, mediaType);
});
const mediaType: Walk = kind("mediaType", (node, tokens, v) => {
  schemaIn(node, tokens, v);
  if (isObject(node.encoding))
    for (const [k, e] of Object.entries(node.encoding)) if (isObject(e)) eachEntry(e.headers, [...tokens, "encoding", k, "headers"], v, header);
});
const parameter: Walk = kind("parameter", (node, tokens, v) => {
  v.parameter?.(node, tokens);
  schemaIn(node, tokens, v);
  eachEntry(node.content, [...tokens, "content"], v, mediaType);
});
const requestBody: Walk = kind("requestBody", (node, tokens, v) => eachEntry(node.content, [...tokens, "content"], v, mediaType));
const response: Walk = kind("response", (node, tokens, v) => {
  eachEntry(node.headers, [...tokens, "headers"], v, header);
  eachEntry(node.content, [...tokens, "content"], v, mediaType);
});
const callback: Walk = kind("callback", (node, tokens, v) => eachEntry(node, tokens, v, pathItem, true));
const operation: Walk = kind("operation", (node, tokens, v) => {
  eachItem(node.parameters, [...tokens, "parameters"], v, parameter);
  if (node.requestBody !== undefined) requestBody(node.requestBody, [...tokens, "requestBody"], v);
  eachEntry(node.responses, [...tokens, "responses"], v, response, true);
  eachEntry(node.callbacks, [...tokens, "callbacks"], v, callback);
});
const pathItem: Walk = kind("pathItem", (node, tokens, v) => {
  eachItem(node.parameters, [...tokens, "parameters"], v, parameter);
  for (const method of HTTP_METHODS) if (node[method] !== undefined) operation(node[method], [...tokens, method], v);
});

/** Visits the document's OpenAPI objects, parameters and top-level schemas, wherever the structure puts them. */
export function visitDocument(doc: JsonObject, v: Visitor): void {
  if (isObject(doc.paths)) for (const [path, item] of Object.entries(doc.paths)) if (path.startsWith("/")) pathItem(item, ["paths", path], v);
  eachEntry(doc.webhooks, ["webhooks"], v, pathItem);
  const c = isObject(doc.components) ? doc.components : {};
  const at = (section: string) => ["components", section];
  if (isObject(c.schemas)) for (const [name, s] of Object.entries(c.schemas)) v.schema?.(s, [...at("schemas"), name]);
  eachEntry(c.parameters, at("parameters"), v, parameter);
  eachEntry(c.headers, at("headers"), v, header);
  eachEntry(c.requestBodies, at("requestBodies"), v, requestBody);
  eachEntry(c.responses, at("responses"), v, response);
  eachEntry(c.callbacks, at("callbacks"), v, callback);
  eachEntry(c.pathItems, at("pathItems"), v, pathItem);
}

const ONE_SCHEMA = [
  "items",
  "additionalItems",
  "additionalProperties",
  "not",
  "if",
  "then",
  "else",
  "contains",
  "propertyNames",
  "unevaluatedItems",
  "unevaluatedProperties",
];
const SCHEMA_MAPS = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
const SCHEMA_LISTS = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/** Keywords whose subschemas apply to the instance itself, not to a part of it. */
export const SAME_INSTANCE = new Set(["allOf", "anyOf", "oneOf", "not", "if", "then", "else", "dependentSchemas"]);

/** The subschemas directly inside a schema, with their tokens relative to it. */
export function subschemasOf(schema: unknown): { node: unknown; tokens: string[] }[] {
  const found: { node: unknown; tokens: string[] }[] = [];
  if (!isObject(schema)) return found;
  for (const k of ONE_SCHEMA) if (isObject(schema[k]) || typeof schema[k] === "boolean") found.push({ node: schema[k], tokens: [k] });
  for (const k of SCHEMA_MAPS) if (isObject(schema[k])) for (const [name, s] of Object.entries(schema[k])) found.push({ node: s, tokens: [k, name] });
  for (const k of SCHEMA_LISTS) if (Array.isArray(schema[k])) (schema[k] as unknown[]).forEach((s, i) => found.push({ node: s, tokens: [k, String(i)] }));
  return found;
}

/** Visits every schema of the document, nested subschemas included. */
export function forEachSchema(doc: JsonObject, visit: (node: unknown, tokens: string[]) => void): void {
  const walk = (node: unknown, tokens: string[]) => {
    visit(node, tokens);
    for (const sub of subschemasOf(node)) walk(sub.node, [...tokens, ...sub.tokens]);
  };
  visitDocument(doc, { schema: walk });
}

/** Keys whose values are data (examples, defaults), where "$ref" or "x-subject" is only text. */
const DATA_KEYS = new Set(["example", "default", "enum", "const", "value"]);
/**
 * Keys whose values map names to objects (properties to schemas, codes to responses, media
 * types to media type objects...): the names are not keywords, and `default` is a response.
 */
const NAME_MAPS = new Set([
  ...["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"],
  ...["paths", "webhooks", "responses", "callbacks", "content", "headers", "encoding", "links", "variables"],
  ...["schemas", "parameters", "examples", "requestBodies", "securitySchemes", "pathItems"],
]);

/** Calls `visit` on every object of the document whose keys are keywords (`$ref`, `x-subject`), skipping data and extensions. */
export function forEachKeywordObject(doc: JsonObject, visit: (node: JsonObject, tokens: string[]) => void): void {
  const walk = (node: unknown, tokens: string[], nameMap: boolean): void => {
    if (Array.isArray(node)) return node.forEach((v, i) => walk(v, [...tokens, String(i)], false));
    if (!isObject(node)) return;
    if (!nameMap) visit(node, tokens);
    for (const [key, value] of Object.entries(node)) {
      if (!nameMap && (key.startsWith("x-") || DATA_KEYS.has(key) || (key === "examples" && Array.isArray(value)))) continue;
      walk(value, [...tokens, key], !nameMap && NAME_MAPS.has(key));
    }
  };
  walk(doc, [], false);
}

export interface ParameterAt extends Located {
  name: string;
  in: "path" | "query" | "header" | "cookie";
}

/**
 * An operation's parameters: its path item's, then its own (which win on the same name and
 * place), references followed. Entries that name no parameter, and repeated ones, are left
 * out, or reported to `problems` when given.
 */
export function parametersOf(doc: JsonObject, op: OperationAt, problems?: { pointer: string; detail: string }[]): ParameterAt[] {
  const byKey = new Map<string, ParameterAt>();
  for (const [list, at] of [
    [op.item.node.parameters, [...op.item.tokens, "parameters"]],
    [op.node.parameters, [...op.tokens, "parameters"]],
  ] as const) {
    const own = new Set<string>();
    (Array.isArray(list) ? list : []).forEach((entry: unknown, i: number) => {
      const tokens = [...at, String(i)];
      const found = deref(doc, entry, tokens);
      const name = found?.node.name;
      const place = found?.node.in;
      if (!found || typeof name !== "string" || !["path", "query", "header", "cookie"].includes(place as string)) {
        if (isObject(entry) && entry.$ref !== undefined) problems?.push({ pointer: pointerOf(tokens), detail: "does not refer to a parameter" });
        return;
      }
      const key = `${String(place)}:${place === "header" ? name.toLowerCase() : name}`;
      if (own.has(key)) problems?.push({ pointer: pointerOf(tokens), detail: `repeats the ${String(place)} parameter "${name}"` });
      own.add(key);
      byKey.set(key, { ...found, name, in: place as ParameterAt["in"] });
    });
  }
  return [...byKey.values()];
}
