/**
 * Schemas as Ajv reads them. OpenAPI 3.1 schemas are JSON Schema 2020-12; OpenAPI 3.0 ones
 * are a dialect of their own, converted here: `nullable: true` adds "null" to the type,
 * boolean `exclusiveMinimum`/`exclusiveMaximum` take the bound's number, `$ref` drops its
 * siblings (3.0 ignores them), and annotations Ajv does not know are dropped (a 3.1 document's
 * leftover `nullable` is honoured too). In 3.0 a
 * property marked `readOnly` is not required of a request, nor a `writeOnly` one of an answer.
 */
import { Ajv2020, type AnySchema } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { isObject, pointerOf, valueAt, type JsonObject } from "./json-pointer";
import { forEachSchema, subschemasOf, visitDocument } from "./openapi-walk";
import type { Problem } from "./document-read";

export type Version = "3.0" | "3.1";
/** Which way a value travels: a request may leave out readOnly fields, an answer writeOnly ones. */
export type Direction = "request" | "response";

const DROPPED_IN_30 = new Set(["discriminator", "xml", "externalDocs", "example"]);

interface Dialect {
  version: Version;
  direction?: Direction;
  /** Keep the schema's shape (no wrapping), so meta-schema errors point into the document. */
  sameShape?: boolean;
}

/** Required properties minus those the direction lets a value leave out (3.0's readOnly/writeOnly). */
function requiredFor(node: JsonObject, required: unknown[], direction: Direction): unknown[] {
  const hidden = direction === "request" ? "readOnly" : "writeOnly";
  const properties = isObject(node.properties) ? node.properties : {};
  return required.filter((name) => !(typeof name === "string" && isObject(properties[name]) && properties[name][hidden] === true));
}

/** 3.0's boolean exclusive bounds as 2020-12's numbers. */
function exclusiveBounds(node: JsonObject, out: JsonObject) {
  for (const [exclusive, bound] of [
    ["exclusiveMinimum", "minimum"],
    ["exclusiveMaximum", "maximum"],
  ] as const) {
    if (typeof node[exclusive] !== "boolean") continue;
    delete out[exclusive];
    if (node[exclusive] === true && typeof node[bound] === "number") {
      out[exclusive] = node[bound];
      delete out[bound];
    }
  }
}

/** `nullable: true` (3.0's, or a 3.1 document's leftover, which would otherwise make Ajv throw) as a "null" type. */
function nullable(node: JsonObject, out: JsonObject, dialect: Dialect): unknown {
  delete out.nullable;
  if (node.nullable !== true) return out;
  if (typeof node.type === "string") {
    out.type = [node.type, "null"];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
    return out;
  }
  // 3.0 says nullable takes effect only beside a type; `nullable` beside allOf/oneOf is common enough to honour.
  return dialect.sameShape || node.type !== undefined ? out : { anyOf: [{ type: "null" }, out] };
}

function convert30(node: JsonObject, out: JsonObject, dialect: Dialect): unknown {
  for (const key of Object.keys(out)) if (DROPPED_IN_30.has(key) || key.startsWith("x-")) delete out[key];
  exclusiveBounds(node, out);
  if (dialect.direction && Array.isArray(node.required)) out.required = requiredFor(node, node.required, dialect.direction);
  return nullable(node, out, dialect);
}

/** One schema in the dialect Ajv2020 reads. */
export function convertSchema(schema: unknown, dialect: Dialect): unknown {
  if (!isObject(schema)) return schema;
  if (dialect.version === "3.0" && typeof schema.$ref === "string") return { $ref: schema.$ref };
  const out: JsonObject = { ...schema };
  delete out.$schema; // every schema is read as 2020-12
  const copied = new Set<string>();
  for (const sub of subschemasOf(schema)) {
    const [key, name] = sub.tokens as [string, string?];
    if (name === undefined) out[key] = convertSchema(sub.node, dialect);
    else {
      if (!copied.has(key)) out[key] = Array.isArray(out[key]) ? [...(out[key] as unknown[])] : { ...(out[key] as JsonObject) };
      copied.add(key);
      (out[key] as Record<string, unknown>)[name] = convertSchema(sub.node, dialect);
    }
  }
  return dialect.version === "3.0" ? convert30(schema, out, dialect) : nullable(schema, out, dialect);
}

/** A copy of the document with every schema converted, for Ajv to resolve `#/...` references in. */
export function documentForAjv(doc: JsonObject, version: Version, direction: Direction): JsonObject {
  const copy = structuredClone(doc);
  visitDocument(doc, {
    schema(node, tokens) {
      const parent = valueAt(copy, tokens.slice(0, -1)) as JsonObject;
      parent[tokens[tokens.length - 1]!] = convertSchema(node, { version, direction });
    },
  });
  return copy;
}

// The meta-schema check: lax like the validators, formats known (a pattern must be a regex).
const meta = new Ajv2020({ strict: false, allErrors: true, logger: false });
addFormats(meta);

/** What the meta-schema lets through but Ajv would throw on when compiling. */
function compileProblems(node: unknown, tokens: string[], out: Problem[]) {
  if (!isObject(node)) return;
  if (Array.isArray(node.enum) && node.enum.length === 0) out.push({ pointer: pointerOf([...tokens, "enum"]), detail: "must list at least one value" });
  const patterns = [
    ...(typeof node.pattern === "string" ? [{ pattern: node.pattern, at: [...tokens, "pattern"] }] : []),
    ...Object.keys(isObject(node.patternProperties) ? node.patternProperties : {}).map((p) => ({ pattern: p, at: [...tokens, "patternProperties", p] })),
  ];
  for (const { pattern, at } of patterns) {
    try {
      new RegExp(pattern, "u");
    } catch {
      out.push({ pointer: pointerOf(at), detail: `"${pattern}" is not a regular expression the hub can use (ECMA-262, Unicode mode)` });
    }
  }
}

/** Every schema of the document checked against the JSON Schema 2020-12 meta-schema (3.0 ones once converted). */
export function schemaProblems(doc: JsonObject, version: Version): Problem[] {
  const out: Problem[] = [];
  visitDocument(doc, {
    schema(node, tokens) {
      if (!isObject(node) || meta.validateSchema(convertSchema(node, { version, sameShape: true }) as AnySchema)) return;
      const seen = new Set<string>();
      for (const e of meta.errors ?? []) {
        const pointer = pointerOf(tokens) + e.instancePath;
        if (["anyOf", "oneOf", "if", "$dynamicRef"].includes(e.keyword) || seen.has(pointer)) continue;
        seen.add(pointer);
        out.push({ pointer, detail: `is not a valid schema: ${e.message ?? "invalid"}` });
      }
    },
  });
  forEachSchema(doc, (node, tokens) => compileProblems(node, tokens, out));
  return out;
}
