/**
 * The hub's own rules for a service document, beyond OpenAPI: path templates well formed
 * and declared, operationIds unique, and personal data traceable. An operation marked
 * `x-personal-data: true` must mark where its request names the people concerned
 * (`x-subject: true` on a parameter, or on a field of its JSON request body), so the audit
 * log can say whose data was asked for; `x-subject` anywhere it cannot mark such a value is
 * refused.
 */
import { isObject, localRefTokens, pointerOf, valueAt, type JsonObject } from "./json-pointer";
import { isJsonMediaType, mediaTypeOf } from "./media-types";
import { deref, forEachKeywordObject, forEachSchema, operationsOf, parametersOf, visitDocument, type OperationAt } from "./openapi-walk";
import type { Problem } from "./document-read";
import type { ServiceOperation } from "./document";
import { linkageOf, repeatedLinkages } from "./linkage-operations";

type Subject = ServiceOperation["subjects"][number];
/** Schema visits allowed when looking for x-subject fields in one request body, and how far a walk may go. */
const MAX_SUBJECT_VISITS = 20_000;
const MAX_SUBJECT_STEPS = 200;
/** How deep into a body x-subject fields are looked for. */
export const MAX_SUBJECT_DEPTH = 16;

/** The names a path template declares, or what is wrong with it. */
export function templateNames(path: string): { names: string[]; problem?: string } {
  const names: string[] = [];
  const rest = path.replace(/\{([^{}/]*)\}/g, (_, name: string) => (names.push(name), "-"));
  if (/[{}]/.test(rest)) return { names, problem: "is not a well-formed template: each {name} stands within one segment, braces unnested" };
  if (names.includes("")) return { names, problem: "has an empty {} in its template" };
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) return { names, problem: `names {${twice}} twice` };
  return { names };
}

function templateProblems(doc: JsonObject, out: Problem[]) {
  const shapes = new Map<string, string>();
  for (const path of Object.keys(isObject(doc.paths) ? doc.paths : {})) {
    if (!path.startsWith("/")) continue;
    const { problem } = templateNames(path);
    if (problem) out.push({ pointer: pointerOf(["paths", path]), detail: problem });
    const shape = path.replace(/\{[^{}/]*\}/g, "{}");
    const same = shapes.get(shape);
    if (same !== undefined) out.push({ pointer: pointerOf(["paths", path]), detail: `has the same shape as "${same}": a call could not tell them apart` });
    else shapes.set(shape, path);
  }
}

/** Where a JSON body holds its x-subject fields: pointers into it, "*" for any item; undefined when the schema is too intricate to tell. */
function bodySubjects(doc: JsonObject, schema: unknown): string[] | undefined {
  const found = new Set<string>();
  let visits = 0;
  // `open` holds the schemas on the way here (the document is a tree: each object is one place in it).
  const open = new Set<unknown>();
  const walk = (node: unknown, path: string[]): boolean => {
    if (++visits > MAX_SUBJECT_VISITS || open.size > MAX_SUBJECT_STEPS) return false;
    // A recursive schema's deeper levels are not followed, nor is a body past MAX_SUBJECT_DEPTH.
    if (!isObject(node) || open.has(node) || path.length > MAX_SUBJECT_DEPTH) return true;
    open.add(node);
    const target = typeof node.$ref === "string" ? localRefTokens(node.$ref) : undefined;
    if (node["x-subject"] === true) found.add(pointerOf(path) + (node.type === "array" ? "/*" : ""));
    const ok = [
      target ? walk(valueAt(doc, target), path) : true,
      ...Object.entries(isObject(node.properties) ? node.properties : {}).map(([name, s]) => walk(s, [...path, name])),
      ...Object.values(isObject(node.patternProperties) ? node.patternProperties : {}).map((s) => walk(s, [...path, "*"])),
      walk(node.items, [...path, "*"]),
      walk(node.additionalProperties, [...path, "*"]),
      ...["allOf", "anyOf", "oneOf", "prefixItems"].flatMap((k) =>
        Array.isArray(node[k]) ? (node[k] as unknown[]).map((s) => walk(s, k === "prefixItems" ? [...path, "*"] : path)) : [],
      ),
    ].every(Boolean);
    open.delete(node);
    return ok;
  };
  return walk(schema, []) ? [...found] : undefined;
}

/** The request fields of an operation marked x-subject: parameters, then JSON body fields. */
function subjectsOf(doc: JsonObject, op: OperationAt, out: Problem[]): Subject[] {
  const subjects: Subject[] = parametersOf(doc, op)
    .filter((p) => p.node["x-subject"] === true && p.in !== "cookie")
    .map((p) => ({ in: p.in as Subject["in"], name: p.name }));
  const body = op.node.requestBody === undefined ? undefined : deref(doc, op.node.requestBody, [...op.tokens, "requestBody"]);
  const pointers = new Set<string>();
  for (const [type, media] of Object.entries(isObject(body?.node.content) ? body.node.content : {})) {
    if (!isJsonMediaType(mediaTypeOf(type) ?? "") || !isObject(media) || media.schema === undefined) continue;
    const found = bodySubjects(doc, media.schema);
    if (!found) out.push({ pointer: pointerOf([...body!.tokens, "content", type, "schema"]), detail: "is too intricate to look for x-subject fields in" });
    for (const pointer of found ?? []) pointers.add(pointer);
  }
  return [...subjects, ...[...pointers].map((pointer) => ({ in: "body" as const, pointer }))];
}

function pathParameterProblems(doc: JsonObject, op: OperationAt, out: Problem[]) {
  const declared = parametersOf(doc, op, out).filter((p) => p.in === "path");
  const { names } = templateNames(op.path);
  for (const name of names)
    if (!declared.some((p) => p.name === name))
      out.push({ pointer: pointerOf(op.tokens), detail: `the path names {${name}}, but the operation declares no path parameter "${name}"` });
  for (const p of declared)
    if (!names.includes(p.name)) out.push({ pointer: pointerOf(p.tokens), detail: `is a path parameter that the path "${op.path}" does not name` });
}

/** What is wrong with a value marked x-subject (where it cannot name a person), if anything. */
function misplacedSubjects(doc: JsonObject, out: Problem[]) {
  const parameters = new Map<string, JsonObject>();
  const schemas = new Map<string, unknown>();
  visitDocument(doc, { parameter: (node, tokens) => parameters.set(pointerOf(tokens), node) });
  forEachSchema(doc, (node, tokens) => schemas.set(pointerOf(tokens), node));
  const isObjectSchema = (s: unknown) =>
    isObject(s) && (s.type === "object" || (Array.isArray(s.type) && s.type.includes("object")) || (s.type === undefined && isObject(s.properties)));
  forEachKeywordObject(doc, (node, tokens) => {
    if (node["x-subject"] === undefined) return;
    const at = pointerOf(tokens);
    const add = (detail: string) => out.push({ pointer: at + "/x-subject", detail });
    if (typeof node["x-subject"] !== "boolean") return add("must be true or false");
    if (parameters.has(at)) {
      if (node.in === "cookie") add("cannot mark a cookie: the hub does not read cookies");
    } else if (schemas.has(at)) {
      if (isObjectSchema(node) || (node.type === "array" && isObjectSchema(node.items)))
        add("marks an object: x-subject marks a value that names a person (a string or number, or an array of them)");
    } else add("marks a request parameter or a field of a request body schema; here it marks nothing that carries a value");
  });
}

/** The document's operations as the hub sees them, and every rule they break. */
export function hubRules(doc: JsonObject): { operations: ServiceOperation[]; problems: Problem[] } {
  const problems: Problem[] = [];
  templateProblems(doc, problems);
  misplacedSubjects(doc, problems);
  const ids = new Map<string, string>();
  const operations = operationsOf(doc).map((op) => {
    pathParameterProblems(doc, op, problems);
    const subjects = subjectsOf(doc, op, problems);
    const personalData = op.node["x-personal-data"] === true;
    if (personalData && subjects.length === 0)
      problems.push({
        pointer: pointerOf(op.tokens),
        detail:
          "is marked x-personal-data: true, but no parameter or request body field is marked x-subject: true, so whose data is asked for could not be logged",
      });
    const operationId = typeof op.node.operationId === "string" ? op.node.operationId : undefined;
    if (operationId !== undefined && ids.has(operationId))
      problems.push({ pointer: pointerOf([...op.tokens, "operationId"]), detail: `"${operationId}" is the operationId of ${ids.get(operationId)} already` });
    if (operationId !== undefined) ids.set(operationId, `${op.method.toUpperCase()} ${op.path}`);
    const linkage = linkageOf(doc, op, problems);
    return {
      method: op.method.toUpperCase(),
      path: op.path,
      pointer: pointerOf(op.tokens),
      ...(operationId !== undefined ? { operationId } : {}),
      personalData,
      subjects,
      ...(linkage !== undefined ? { linkage } : {}),
    };
  });
  problems.push(...repeatedLinkages(operations));
  if (operations.length === 0) problems.push({ pointer: "/paths", detail: "documents no operation: a service offers at least one" });
  return { operations, problems };
}
