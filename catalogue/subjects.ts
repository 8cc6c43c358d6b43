/** The people a call is about: the values of the request fields its operation marks `x-subject: true`. */
import { isObject, tokensOf } from "./json-pointer";
import type { ServiceOperation } from "./document";

export interface SubjectInput {
  path?: Record<string, string>;
  query?: URLSearchParams;
  /** Lower-case names. */
  headers?: Record<string, string | undefined>;
  body?: unknown;
}

/** The values at a pointer into a body, "*" standing for every item of an array (or every value of an object). */
function valuesAt(node: unknown, tokens: string[]): unknown[] {
  if (tokens.length === 0) return Array.isArray(node) ? node : [node];
  const [token, ...rest] = tokens as [string, ...string[]];
  if (token === "*") {
    const children = Array.isArray(node) ? node : isObject(node) ? Object.values(node) : [];
    return children.flatMap((child) => valuesAt(child, rest));
  }
  if (Array.isArray(node)) return /^\d+$/.test(token) ? valuesAt(node[Number(token)], rest) : [];
  return isObject(node) && Object.hasOwn(node, token) ? valuesAt(node[token], rest) : [];
}

/** The subjects' values in a call, each once, in the order the operation lists them (id numbers for the audit log). */
export function subjectsIn(op: ServiceOperation, input: SubjectInput): string[] {
  const found: unknown[] = [];
  for (const s of op.subjects) {
    if (s.in === "path" && s.name) found.push(input.path?.[s.name]);
    if (s.in === "query" && s.name) found.push(...(input.query?.getAll(s.name) ?? []));
    if (s.in === "header" && s.name) found.push(input.headers?.[s.name.toLowerCase()]);
    if (s.in === "body" && s.pointer !== undefined) found.push(...valuesAt(input.body, tokensOf(s.pointer)));
  }
  const values = found.filter((v) => typeof v === "string" || typeof v === "number").map(String);
  return [...new Set(values.filter((v) => v !== ""))];
}
