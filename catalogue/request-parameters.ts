/**
 * A call's parameters as the document's schemas see them. The path, query and headers carry
 * text; like gateway/operations.ts coerceQuery, a parameter documented as a number or a
 * boolean gets one when the text is one, and an array parameter gets its values (repeated
 * query names, or one value split by its style: form explode=false ",", spaceDelimited " ",
 * pipeDelimited "|"; comma lists in the path and headers). Object parameters (deepObject...)
 * are checked for presence only.
 */
import type { ContractViolation } from "../contracts";
import { escapeToken, isObject, valueAt, type JsonObject } from "./json-pointer";
import { isJsonMediaType, mediaTypeOf } from "./media-types";
import { deref, parametersOf, type OperationAt } from "./openapi-walk";

export type Where = "path" | "query" | "header";

export interface ParameterCheck {
  name: string;
  in: Where;
  required: boolean;
  /** Where its schema is in the document; none when it documents none. */
  schemaTokens?: string[];
  type?: string;
  itemType?: string;
  /** Documented through `content` with a JSON media type: the text is JSON. */
  json: boolean;
  /** How one text splits into an array's values; undefined when each value comes separately (repeated query names). */
  separator?: string;
}

export interface CallParameters {
  path: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string | undefined>;
}

/** OpenAPI: header parameters with these names are ignored (the call's own Accept, Content-Type, Authorization). */
const IGNORED_HEADERS = new Set(["accept", "content-type", "authorization"]);

/** The type a schema documents (following `$ref`s; the first that is not "null" of a list). */
function typeAt(doc: JsonObject, schema: unknown, tokens: string[]): { type?: string; items?: unknown; itemsTokens: string[] } {
  const found = deref(doc, schema, tokens);
  const type = found?.node.type;
  const name = Array.isArray(type) ? type.find((t) => t !== "null") : type;
  return { type: typeof name === "string" ? name : undefined, items: found?.node.items, itemsTokens: [...(found?.tokens ?? tokens), "items"] };
}

function separatorOf(p: JsonObject, where: Where): string | undefined {
  if (where !== "query") return ",";
  if (p.style === "spaceDelimited") return " ";
  if (p.style === "pipeDelimited") return "|";
  return p.explode === false ? "," : undefined;
}

/** The checks of an operation's path, query and header parameters (cookies are not read). */
export function parameterChecks(doc: JsonObject, op: OperationAt): ParameterCheck[] {
  const checks: ParameterCheck[] = [];
  for (const p of parametersOf(doc, op)) {
    if (p.in === "cookie" || (p.in === "header" && IGNORED_HEADERS.has(p.name.toLowerCase()))) continue;
    const contentKey = isObject(p.node.content) ? Object.keys(p.node.content)[0] : undefined;
    const schemaTokens =
      p.node.schema !== undefined ? [...p.tokens, "schema"] : contentKey !== undefined ? [...p.tokens, "content", contentKey, "schema"] : undefined;
    const schema = schemaTokens ? valueAt(doc, schemaTokens) : undefined;
    const { type, items, itemsTokens } = typeAt(doc, schema, schemaTokens ?? p.tokens);
    checks.push({
      name: p.name,
      in: p.in,
      required: p.node.required === true,
      ...(schema !== undefined ? { schemaTokens } : {}),
      type,
      itemType: type === "array" ? typeAt(doc, items, itemsTokens).type : undefined,
      json: contentKey !== undefined && isJsonMediaType(mediaTypeOf(contentKey) ?? ""),
      separator: separatorOf(p.node, p.in),
    });
  }
  return checks;
}

/** Text as the documented type, when the text is one (else left as text, for the schema to refuse). */
function coerce(text: string, type: string | undefined): unknown {
  if ((type === "integer" || type === "number") && /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text)) return Number(text);
  if (type === "boolean" && (text === "true" || text === "false")) return text === "true";
  return text;
}

function textsOf(check: ParameterCheck, call: CallParameters): string[] {
  if (check.in === "query") return call.query.getAll(check.name);
  const text = check.in === "path" ? call.path[check.name] : call.headers[check.name.toLowerCase()];
  return text === undefined ? [] : [text];
}

/** The values of one place's parameters, by name, ready for its schema; and what is wrong before any schema is read. */
export function parameterValues(
  checks: ParameterCheck[],
  where: Where,
  call: CallParameters,
): { values: Record<string, unknown>; problems: ContractViolation[] } {
  const values: Record<string, unknown> = {};
  const problems: ContractViolation[] = [];
  for (const check of checks.filter((c) => c.in === where)) {
    const texts = textsOf(check, call);
    const pointer = "/" + escapeToken(check.name);
    if (texts.length === 0) continue;
    if (check.json) {
      try {
        values[check.name] = JSON.parse(texts[0]!);
      } catch {
        problems.push({ in: where, pointer, detail: "must be JSON" });
      }
    } else if (check.type === "array") {
      const items = check.separator === undefined ? texts : texts.flatMap((t) => t.split(check.separator!).map((s) => (where === "query" ? s : s.trim())));
      values[check.name] = items.map((t) => coerce(t, check.itemType));
    } else {
      if (texts.length > 1) problems.push({ in: where, pointer, detail: `is given ${texts.length} times; it takes one value` });
      values[check.name] = check.type === "object" ? {} : coerce(texts[0]!, check.type);
    }
  }
  return { values, problems };
}
