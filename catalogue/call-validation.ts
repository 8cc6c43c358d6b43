/**
 * The checks of calls to a registered service and of its answers, against the service's own
 * OpenAPI document. One lax Ajv per document (a third party's schemas, not the hub's: unknown
 * keywords and formats are let through), holding the document with its schemas converted
 * (schema-dialect.ts) so that local `$ref`s resolve. Each operation's checks are compiled on
 * first use and kept with the document; a call never compiles anything.
 */
import { Ajv2020, type AnySchema, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import { violations, type ContractViolation } from "../contracts";
import { fragmentOf, isObject, type JsonObject } from "./json-pointer";
import { isJsonMediaType, matchMediaType, mediaTypeOf } from "./media-types";
import { deref, operationsOf, type Located } from "./openapi-walk";
import { parameterChecks, parameterValues, type CallParameters, type ParameterCheck, type Where } from "./request-parameters";
import { documentForAjv } from "./schema-dialect";
import type { ServiceDocument, ServiceOperation } from "./document";

const REQUEST_ID = "https://linkage-hub.local/catalogue/request-schemas.json";
const RESPONSE_ID = "https://linkage-hub.local/catalogue/response-schemas.json";

export interface RequestInput extends CallParameters {
  body?: unknown;
  contentType?: string;
}
export interface ResponseInput {
  status: number;
  contentType?: string;
  body?: unknown;
}
export interface OperationValidators {
  request(input: RequestInput): ContractViolation[];
  response(input: ResponseInput): ContractViolation[];
}

interface DocumentState {
  ajv: Ajv2020;
  /** Each operation's checks, or why they could not be compiled (kept too: a call never compiles twice). */
  operations: Map<string, OperationValidators | Error>;
}
/** A documented body: its media types (as the document writes them), each with its schema's check if it has one. */
type Content = Map<string, ValidateFunction | undefined>;

const states = new WeakMap<ServiceDocument, DocumentState>();

function stateOf(doc: ServiceDocument): DocumentState {
  let state = states.get(doc);
  if (!state) {
    const ajv = new Ajv2020({ strict: false, allErrors: true, logger: false });
    addFormats(ajv);
    const raw = doc.raw as JsonObject;
    ajv.addSchema(documentForAjv(raw, doc.openapi, "request"), REQUEST_ID, undefined, false);
    ajv.addSchema(documentForAjv(raw, doc.openapi, "response"), RESPONSE_ID, undefined, false);
    state = { ajv, operations: new Map() };
    states.set(doc, state);
  }
  return state;
}

/** The checks of one operation of a document: compiled on the first call, the same functions after. */
export function validatorsOf(doc: ServiceDocument, op: ServiceOperation): OperationValidators {
  const state = stateOf(doc);
  const key = `${op.method} ${op.path}`;
  let found = state.operations.get(key);
  if (!found) {
    try {
      found = compileOperation(doc, state.ajv, op);
    } catch (e) {
      // The document was read and checked: what is left is a schema Ajv cannot compile (its stack, most likely).
      found = new Error(`The checks of ${op.method} ${op.path} in "${doc.title}" could not be compiled: ${e instanceof Error ? e.message : String(e)}`);
    }
    state.operations.set(key, found);
  }
  if (found instanceof Error) throw found;
  return found;
}

const compileAt = (ajv: Ajv2020, id: string, tokens: string[]) => ajv.compile({ $ref: id + fragmentOf(tokens) });

function compileContent(ajv: Ajv2020, id: string, owner: Located | undefined): Content | undefined {
  if (!owner || !isObject(owner.node.content)) return undefined;
  const content: Content = new Map();
  for (const [type, media] of Object.entries(owner.node.content))
    content.set(type, isObject(media) && media.schema !== undefined ? compileAt(ajv, id, [...owner.tokens, "content", type, "schema"]) : undefined);
  return content;
}

function compileParameters(ajv: Ajv2020, checks: ParameterCheck[], where: Where): ValidateFunction {
  const mine = checks.filter((c) => c.in === where);
  const schema = {
    type: "object",
    properties: Object.fromEntries(mine.map((c) => [c.name, c.schemaTokens && c.type !== "object" ? { $ref: REQUEST_ID + fragmentOf(c.schemaTokens) } : {}])),
    required: mine.filter((c) => c.required).map((c) => c.name),
  };
  return ajv.compile(schema as AnySchema);
}

function compileOperation(doc: ServiceDocument, ajv: Ajv2020, op: ServiceOperation): OperationValidators {
  const raw = doc.raw as JsonObject;
  const at = operationsOf(raw).find((o) => o.method.toUpperCase() === op.method && o.path === op.path);
  if (!at) throw new Error(`${op.method} ${op.path} is not an operation of the document "${doc.title}"`);
  const checks = parameterChecks(raw, at);
  const places = (["path", "query", "header"] as const).map((where) => ({ where, check: compileParameters(ajv, checks, where) }));
  const requestBody = at.node.requestBody === undefined ? undefined : deref(raw, at.node.requestBody, [...at.tokens, "requestBody"]);
  const body = { required: requestBody?.node.required === true, content: compileContent(ajv, REQUEST_ID, requestBody) };
  const responses = new Map<string, Content | undefined>();
  for (const [code, entry] of Object.entries(isObject(at.node.responses) ? at.node.responses : {}))
    if (!code.startsWith("x-")) responses.set(code.toUpperCase(), compileContent(ajv, RESPONSE_ID, deref(raw, entry, [...at.tokens, "responses", code])));
  return {
    request(input) {
      const out: ContractViolation[] = [];
      for (const { where, check } of places) {
        const { values, problems } = parameterValues(checks, where, input);
        out.push(...problems, ...checked(check, values, where));
      }
      return [...out, ...requestBodyViolations(body, input)];
    },
    response: (input) => responseViolations(op, responses, input),
  };
}

function contentViolations(content: Content, body: unknown, contentType: string | undefined, what: string): ContractViolation[] {
  const documented = [...content.keys()];
  const type = mediaTypeOf(contentType);
  if (!type) return [{ in: "header", pointer: "/content-type", detail: `a body needs a Content-Type: ${what} takes ${documented.join(", ")}` }];
  const key = matchMediaType(type, documented);
  if (!key) return [{ in: "header", pointer: "/content-type", detail: `${type} is not documented for ${what}, which takes ${documented.join(", ")}` }];
  const check = content.get(key);
  // A body that is not JSON (XML, a form, a file) is not read: its media type is all that is checked.
  if (!check || !isJsonMediaType(type)) return [];
  return checked(check, body, "body");
}

/** A value's violations; a value nested past what the stack can follow is one. */
function checked(check: ValidateFunction, value: unknown, where: ContractViolation["in"]): ContractViolation[] {
  try {
    return check(value) ? [] : violations(where, check.errors);
  } catch (e) {
    if (e instanceof RangeError) return [{ in: where, pointer: "", detail: "nests too deeply to be checked" }];
    throw e;
  }
}

function requestBodyViolations(spec: { required: boolean; content?: Content }, input: RequestInput): ContractViolation[] {
  if (input.body === undefined) {
    const takes = spec.content ? ` (${[...spec.content.keys()].join(", ")})` : "";
    return spec.required ? [{ in: "body", pointer: "", detail: `a body is required${takes}` }] : [];
  }
  if (!spec.content) return [{ in: "body", pointer: "", detail: "this operation takes no body" }];
  return contentViolations(spec.content, input.body, input.contentType, "this operation");
}

function responseViolations(op: ServiceOperation, responses: Map<string, Content | undefined>, input: ResponseInput): ContractViolation[] {
  const { status } = input;
  const code = [String(status), `${Math.floor(status / 100)}XX`, "DEFAULT"].find((c) => responses.has(c));
  const documented = [...responses.keys()].map((c) => (c === "DEFAULT" ? "default" : c)).join(", ");
  if (!code) return [{ in: "body", pointer: "", detail: `status ${status} is not documented for ${op.method} ${op.path}, which documents ${documented}` }];
  const content = responses.get(code);
  if (!content || content.size === 0)
    return input.body === undefined ? [] : [{ in: "body", pointer: "", detail: `status ${status} is documented without a body` }];
  if (input.body === undefined)
    return op.method === "HEAD" ? [] : [{ in: "body", pointer: "", detail: `status ${status} is documented with a body (${[...content.keys()].join(", ")})` }];
  return contentViolations(content, input.body, input.contentType, `status ${status}`);
}
