/**
 * The gateway's view of the contract, compiled once at start-up: for each operation its
 * route, its validators (path, query, body) and its success answer.
 */
import type { ValidateFunction } from "ajv";
import { compileOpenApiSchema, operations, violations, type ContractViolation, type Operation } from "../contracts";
import { MAX_BODY_BYTES, XML_MEDIA_TYPE, XmlBody } from "./body";

export interface CompiledOperation {
  op: Operation;
  /** moleculer-web alias key: method and path with `{id}` rewritten to `:id` (path-to-regexp v8). */
  alias: string;
  pathPattern: RegExp;
  successStatus: number;
  /** The largest body it takes (`x-max-body-bytes`, else the gateway's default). */
  maxBodyBytes: number;
  /** The XML media types the operation documents for its body (read as text, checked against their schema). */
  xmlMediaTypes: string[];
  /** The JSON body's compiled contract schema: for a bare schema ref, the very function that checks the action's params of that schema. */
  bodyCheck?: ValidateFunction;
  validate(input: { path: Record<string, string>; query: Record<string, unknown>; body: unknown }): ContractViolation[];
}

function objectSchema(params: Operation["parameters"], where: "path" | "query") {
  const list = params.filter((p) => p.in === where);
  return {
    type: "object",
    properties: Object.fromEntries(list.map((p) => [p.name, p.schema])),
    required: list.filter((p) => p.required).map((p) => p.name),
    additionalProperties: where === "path",
  };
}

function compile(op: Operation): CompiledOperation {
  const pathCheck = compileOpenApiSchema(objectSchema(op.parameters, "path"));
  const queryCheck = compileOpenApiSchema(objectSchema(op.parameters, "query"));
  const json = op.requestBody?.content["application/json"];
  const bodyCheck: ValidateFunction | undefined = json ? compileOpenApiSchema(json.schema) : undefined;
  const xmlChecks = new Map(
    Object.entries(op.requestBody?.content ?? {})
      .filter(([type]) => XML_MEDIA_TYPE.test(type))
      .map(([type, media]) => [type, compileOpenApiSchema(media.schema)] as const),
  );
  const bodyRequired = op.requestBody?.required === true;
  const successes = Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s));
  if (successes.length !== 1) throw new Error(`${op.operationId} must document exactly one 2xx response`);

  return {
    op,
    alias: `${op.method} ${op.path.replace(/\{(\w+)\}/g, ":$1")}`,
    pathPattern: new RegExp("^" + op.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[^/]+") + "$"),
    successStatus: Number(successes[0]),
    maxBodyBytes: (op as { "x-max-body-bytes"?: number })["x-max-body-bytes"] ?? MAX_BODY_BYTES,
    xmlMediaTypes: [...xmlChecks.keys()],
    bodyCheck,
    validate({ path, query, body }) {
      const out: ContractViolation[] = [];
      if (!pathCheck(path)) out.push(...violations("path", pathCheck.errors));
      if (!queryCheck(query)) out.push(...violations("query", queryCheck.errors));
      if (body === undefined) {
        if (bodyRequired) out.push({ in: "body", pointer: "", detail: xmlChecks.size ? "a body is required" : "a JSON body is required" });
      } else {
        // An XML body is checked as the text it is, against the schema of its media type.
        const check = body instanceof XmlBody ? xmlChecks.get(body.mediaType) : bodyCheck;
        const value = body instanceof XmlBody ? body.text : body;
        if (!check) out.push({ in: "body", pointer: "", detail: "this operation takes no body" });
        else if (!check(value)) out.push(...violations("body", check.errors));
      }
      return out;
    },
  };
}

/** Query values are text; a parameter documented as a number or boolean gets one (when the text is one). */
export function coerceQuery(op: Operation, query: Record<string, unknown>): Record<string, unknown> {
  const out = { ...query };
  for (const p of op.parameters.filter((x) => x.in === "query")) {
    const raw = out[p.name];
    const type = (p.schema as { type?: string }).type;
    if (typeof raw !== "string") continue;
    if ((type === "integer" || type === "number") && /^-?\d+(\.\d+)?$/.test(raw)) out[p.name] = Number(raw);
    if (type === "boolean" && (raw === "true" || raw === "false")) out[p.name] = raw === "true";
  }
  return out;
}

export const OPERATIONS: CompiledOperation[] = operations().map(compile);
export const byOperationId = new Map(OPERATIONS.map((c) => [c.op.operationId, c]));

/** The operations of each documented path as written: most requests name one, found without a scan. */
const AT_PATH = new Map<string, CompiledOperation[]>();
for (const c of OPERATIONS) AT_PATH.set(c.op.path, [...(AT_PATH.get(c.op.path) ?? []), c]);

/**
 * The operations a concrete path names. As in OpenAPI, a path without templates wins over
 * a templated one: /v1/linkages/eid-issuances is not /v1/linkages/{id}.
 */
export function operationsAt(pathname: string): CompiledOperation[] {
  return AT_PATH.get(pathname) ?? OPERATIONS.filter((c) => c.pathPattern.test(pathname));
}

/** The methods the contract allows on a path, for 405 answers and `Allow`. */
export function allowedMethods(pathname: string): string[] {
  return operationsAt(pathname).map((c) => c.op.method);
}
