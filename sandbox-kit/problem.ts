/**
 * The dialect of agencies that answer errors as RFC 9457 problem+json, and read request bodies
 * against the schemas of their own OpenAPI document: what they publish is what they check,
 * each refusal naming the field (a JSON pointer into the body).
 */
import fs from "node:fs";
import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import YAML from "yaml";
import { HTTP_STYLE_CODES, SandboxError, type Dialect } from "./errors";

export interface FieldProblem {
  pointer: string;
  detail: string;
}

/** An error as `{type, title, status, detail, code, errors?}`, sent as application/problem+json. */
export class ProblemError extends SandboxError {
  constructor(
    readonly agency: string,
    status: number,
    code: string,
    message: string,
    readonly errors?: FieldProblem[],
  ) {
    super(status, code, message);
  }
  body(): Record<string, unknown> {
    return {
      type: `urn:${this.agency}:problem:${this.code.toLowerCase().replace(/_/g, "-")}`,
      title: TITLES[this.status] ?? "Error",
      status: this.status,
      detail: this.message,
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
  override headers(): Record<string, string> {
    return { "content-type": "application/problem+json" };
  }
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problemDialect(agency: string): Dialect {
  return {
    error: (status, code, message) => new ProblemError(agency, status, code, message),
    codes: HTTP_STYLE_CODES,
    maxBodyBytes: 64 * 1024,
    mediaTypeName: () => "application/json",
  };
}

/** Where an Ajv error points in the body: the field missing or unknown, else the value refused. */
function problemOf(e: ErrorObject): FieldProblem {
  const params = e.params as { missingProperty?: string; additionalProperty?: string };
  const field = params.missingProperty ?? params.additionalProperty;
  const pointer = field === undefined ? e.instancePath : `${e.instancePath}/${field.replace(/~/g, "~0").replace(/\//g, "~1")}`;
  const detail = params.additionalProperty !== undefined ? "is not a field of this request" : (e.message ?? "is invalid");
  return { pointer, detail };
}

/**
 * A reader of request bodies against `components/schemas` of the OpenAPI document at `file`:
 * `read(name, body)` answers the body, or throws a 400 problem naming each field refused.
 */
export function documentSchemas(agency: string, file: string): { read<T>(name: string, body: unknown): T; doc: Record<string, unknown> } {
  const doc = YAML.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  // OpenAPI's own keywords (`example`) are not JSON Schema's: not strict.
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats(ajv);
  ajv.addSchema({ $id: "agency", components: doc.components }, "agency");
  const compiled = new Map<string, ValidateFunction>();
  return {
    doc,
    read<T>(name: string, body: unknown): T {
      let validate = compiled.get(name);
      if (!validate) compiled.set(name, (validate = ajv.getSchema(`agency#/components/schemas/${name}`)!));
      if (validate(body)) return body as T;
      const errors = (validate.errors ?? []).map(problemOf);
      const named = errors.map((p) => `${p.pointer || "the body"} ${p.detail}`).join("; ");
      throw new ProblemError(agency, 400, "INVALID_REQUEST", `the request is invalid: ${named}`, errors);
    },
  };
}
