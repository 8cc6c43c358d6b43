/**
 * Reading a provider's OpenAPI document safely: its size is measured before it is parsed,
 * YAML aliases are counted (a "billion laughs" is refused, not expanded), and what comes out
 * is a plain JSON tree of bounded depth, so every later walk over it ends.
 */
import YAML from "yaml";
import { HubError, type ErrorCode } from "../platform/errors";
import { isObject, pointerOf, type JsonObject } from "./json-pointer";

export const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;
/** YAML aliases the parser may resolve (weighted by what they expand to). */
export const MAX_ALIAS_COUNT = 100;
/** How deep the document may nest; real documents stay well under 40. */
export const MAX_DEPTH = 100;
/** Problems named in one refusal; more are summed up in a last entry. */
const MAX_PROBLEMS = 100;

/** One thing wrong with a document: where (a JSON pointer into it) and what. */
export interface Problem {
  pointer: string;
  detail: string;
}

/** Throws the refusal naming every problem, as RFC 9457 `errors[]` entries about the request body. */
export function refuse(problems: Problem[], code: ErrorCode = "HUB_ERR_REQUEST_UNPROCESSABLE"): never {
  const shown = problems.slice(0, MAX_PROBLEMS).map((p) => ({ in: "body", pointer: p.pointer, detail: p.detail }));
  if (problems.length > MAX_PROBLEMS) shown.push({ in: "body", pointer: "", detail: `and ${problems.length - MAX_PROBLEMS} more problems` });
  const first = problems[0]!;
  const more = problems.length > 1 ? ` (and ${problems.length - 1} more problems, listed in errors)` : "";
  throw new HubError(code, `The OpenAPI document is not taken: ${first.pointer ? first.pointer + " " : ""}${first.detail}${more}`, { errors: shown });
}

/** The document as a JSON tree, or a refusal saying why it cannot be read. */
export function parseDocument(text: string): JsonObject {
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes > MAX_DOCUMENT_BYTES)
    refuse([{ pointer: "", detail: `the document is ${bytes} bytes; at most ${MAX_DOCUMENT_BYTES} (2 MiB) are taken` }], "HUB_ERR_REQUEST_TOO_LARGE");
  let value = asJson(text);
  if (value === undefined)
    try {
      const parsed: unknown = YAML.parse(text, { maxAliasCount: MAX_ALIAS_COUNT, uniqueKeys: true, prettyErrors: true, logLevel: "error" });
      // Through JSON and back: a plain tree, no shared or circular nodes, no values JSON lacks.
      value = JSON.parse(JSON.stringify(parsed) ?? "null");
    } catch (e) {
      refuse([{ pointer: "", detail: readError(e) }]);
    }
  if (!isObject(value)) refuse([{ pointer: "", detail: `an OpenAPI document is an object; this is ${Array.isArray(value) ? "an array" : String(value)}` }]);
  const deep = tooDeep(value);
  if (deep) refuse([{ pointer: pointerOf(deep), detail: `the document nests deeper than ${MAX_DEPTH} levels` }]);
  return value;
}

/**
 * A JSON document, read by JSON.parse (50 times faster than the YAML parser, and JSON has no
 * aliases); undefined when the text is not JSON, so it is read as YAML. JSON.parse keeps the
 * last of repeated keys where the YAML parser refuses them.
 */
function asJson(text: string): unknown {
  if (!/^\s*\{/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function readError(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (/Excessive alias count/.test(message)) return `the document uses YAML aliases beyond the limit of ${MAX_ALIAS_COUNT} (an alias bomb?)`;
  if (/circular/i.test(message)) return "the document refers to itself through a YAML alias";
  if (e instanceof RangeError) return "the document nests too deeply to be read";
  return `the document is neither JSON nor YAML: ${message.split("\n")[0]}`;
}

/** The tokens of a node nested deeper than MAX_DEPTH, if any (walked without recursion). */
function tooDeep(root: unknown): string[] | undefined {
  const stack: { node: unknown; tokens: string[] }[] = [{ node: root, tokens: [] }];
  while (stack.length) {
    const { node, tokens } = stack.pop()!;
    if (tokens.length > MAX_DEPTH) return tokens;
    if (Array.isArray(node)) node.forEach((v, i) => stack.push({ node: v, tokens: [...tokens, String(i)] }));
    else if (isObject(node)) for (const [k, v] of Object.entries(node)) stack.push({ node: v, tokens: [...tokens, k] });
  }
  return undefined;
}

/** The OpenAPI version family the document declares; Swagger 2.0 and others are refused. */
export function openApiVersion(doc: JsonObject): "3.0" | "3.1" {
  const declared = doc.openapi;
  if (declared === undefined && doc.swagger !== undefined)
    refuse([{ pointer: "/swagger", detail: `Swagger ${String(doc.swagger)} documents are not taken: convert it to OpenAPI 3.0 or 3.1 first` }]);
  if (declared === undefined) refuse([{ pointer: "", detail: 'not an OpenAPI document: it has no "openapi" field (3.0.x or 3.1.x)' }]);
  if (typeof declared !== "string")
    refuse([{ pointer: "/openapi", detail: `must be a version string such as "3.1.0" (quote it in YAML), not ${JSON.stringify(declared)}` }]);
  if (/^3\.0\.\d+(-.+)?$/.test(declared)) return "3.0";
  if (/^3\.1\.\d+(-.+)?$/.test(declared)) return "3.1";
  return refuse([{ pointer: "/openapi", detail: `OpenAPI ${declared} is not taken: only 3.0.x and 3.1.x are` }]);
}
