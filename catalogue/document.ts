/**
 * A service's OpenAPI document, as an agency hands it to the hub's catalogue: read safely,
 * checked (OpenAPI 3.0.x or 3.1.x, structure, local references only, the hub's rules), and
 * described by its operations. `validatorsOf` then checks calls and answers against it.
 *
 * Order of the checks: reading (size, YAML/JSON, aliases, depth) and the version stop at
 * their first problem; structure, references, schemas and the hub's rules are reported
 * together, every problem with a JSON pointer into the document.
 */
import { openApiVersion, parseDocument, refuse, type Problem } from "./document-read";
import { structureProblems } from "./document-structure";
import { referenceProblems } from "./document-refs";
import { schemaProblems } from "./schema-dialect";
import { hubRules } from "./document-rules";
import { isObject, type JsonObject } from "./json-pointer";

export { MAX_DOCUMENT_BYTES } from "./document-read";
export { validatorsOf, type OperationValidators, type RequestInput, type ResponseInput } from "./call-validation";
export { subjectsIn, type SubjectInput } from "./subjects";

export interface ServiceDocument {
  openapi: "3.0" | "3.1";
  title: string;
  version: string;
  /** The parsed document (a JSON tree, frozen). */
  raw: Readonly<JsonObject>;
  operations: ServiceOperation[];
}

export interface ServiceOperation {
  /** Upper case. */
  method: string;
  /** The template, "/persons/{idNumber}". */
  path: string;
  /** Where the operation is in the document ("/paths/~1persons~1{idNumber}/get"). */
  pointer: string;
  operationId?: string;
  /** `x-personal-data: true` on the operation. */
  personalData: boolean;
  /**
   * Where the people concerned are named in a request: parameters (in, name) and JSON body
   * fields (pointers into the body, "*" for any array item) marked `x-subject: true`.
   */
  subjects: { in: "path" | "query" | "header" | "body"; name?: string; pointer?: string }[];
  /** `x-linkage`: the linkage the operation takes part in (linkage-operations.ts). */
  linkage?: string;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Keeps the first problem at each pointer (one mistake can break several rules). */
function firstAtEachPointer(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => !seen.has(p.pointer) && (seen.add(p.pointer), true));
}

/**
 * Parses and checks a provider's document. Throws HubError HUB_ERR_REQUEST_UNPROCESSABLE (or
 * HUB_ERR_REQUEST_TOO_LARGE past MAX_DOCUMENT_BYTES) with `errors: [{ in: "body", pointer, detail }]`,
 * each pointer into the document.
 */
export function readServiceDocument(text: string): ServiceDocument {
  const raw = parseDocument(text);
  const openapi = openApiVersion(raw);
  const rules = hubRules(raw);
  const problems = firstAtEachPointer([...structureProblems(raw, openapi), ...referenceProblems(raw), ...schemaProblems(raw, openapi), ...rules.problems]);
  if (problems.length) refuse(problems);
  const info = isObject(raw.info) ? raw.info : {};
  return deepFreeze({ openapi, title: String(info.title), version: String(info.version), raw, operations: rules.operations });
}
