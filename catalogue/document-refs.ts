/**
 * The document's `$ref`s: each must be a local JSON pointer ("#/components/schemas/Pet") that
 * resolves inside the document. The hub fetches nothing: remote and file references are
 * refused, and so are `$id` and dynamic references, which would move the base that local
 * pointers resolve against. Recursion through a property or an item is fine (a tree of
 * people); a loop that comes back to the same value without going deeper is refused.
 */
import { isObject, localRefTokens, pointerOf, valueAt, type JsonObject } from "./json-pointer";
import { SAME_INSTANCE, forEachKeywordObject, forEachSchema } from "./openapi-walk";
import { longestReferenceChain } from "./reference-depth";
import type { Problem } from "./document-read";

/** The longest chain of schemas referring to one another that a document may hold (Ajv overflows its stack near 300). */
export const MAX_REFERENCE_CHAIN = 64;

const REFUSED_KEYWORDS: Record<string, string> = {
  $id: "$id would change what the document's local references resolve against; the hub takes schemas without it",
  $dynamicRef: "$dynamicRef is not supported by the hub's validator",
  $recursiveRef: "$recursiveRef is not supported by the hub's validator",
};

function refProblem(doc: JsonObject, ref: unknown): string | undefined {
  if (typeof ref !== "string") return `a $ref must be a string, not ${JSON.stringify(ref)}`;
  if (/^https?:/i.test(ref)) return `"${ref}" is a remote reference: the hub fetches nothing, so the document must hold all it refers to ("#/...")`;
  if (!ref.startsWith("#")) return `"${ref}" refers to another file: the hub reads one document, so it must hold all it refers to ("#/...")`;
  const tokens = localRefTokens(ref);
  if (!tokens) return `"${ref}" is not a JSON pointer into the document (such as "#/components/schemas/Name")`;
  const target = valueAt(doc, tokens);
  if (target === undefined) return `"${ref}" does not resolve inside the document`;
  if (!isObject(target) && typeof target !== "boolean") return `"${ref}" names ${Array.isArray(target) ? "a list" : "a value"}, not an object of the document`;
  return undefined;
}

/** Whether following `$ref` after `$ref` from this object comes back to it. */
function refersToItself(doc: JsonObject, start: JsonObject): boolean {
  const seen = new Set<unknown>();
  let node: unknown = start;
  while (isObject(node) && typeof node.$ref === "string") {
    const tokens = localRefTokens(node.$ref);
    if (!tokens || seen.has(node)) return false;
    seen.add(node);
    node = valueAt(doc, tokens);
    if (node === start) return true;
  }
  return false;
}

/** The schemas a schema applies to the same value: its `$ref` target and its combinators' branches. */
function sameValueEdges(doc: JsonObject, node: unknown, tokens: string[]): string[][] {
  if (!isObject(node)) return [];
  const edges: string[][] = [];
  const target = typeof node.$ref === "string" ? localRefTokens(node.$ref) : undefined;
  if (target && valueAt(doc, target) !== undefined) edges.push(target);
  for (const k of SAME_INSTANCE) {
    const v = node[k];
    if (Array.isArray(v)) v.forEach((_, i) => edges.push([...tokens, k, String(i)]));
    else if (k === "dependentSchemas" && isObject(v)) for (const name of Object.keys(v)) edges.push([...tokens, k, name]);
    else if (isObject(v) || typeof v === "boolean") edges.push([...tokens, k]);
  }
  return edges;
}

/** Schemas whose check would come back to the same value forever (`A: {$ref: B}, B: {allOf: [{$ref: A}]}`). */
function validationLoops(doc: JsonObject): Problem[] {
  const found: Problem[] = [];
  const state = new Map<string, "open" | "done">();
  const visit = (start: string[]) => {
    const stack = [{ tokens: start, edges: sameValueEdges(doc, valueAt(doc, start), start), next: 0 }];
    state.set(pointerOf(start), "open");
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const edge = top.edges[top.next++];
      if (!edge) {
        state.set(pointerOf(top.tokens), "done");
        stack.pop();
        continue;
      }
      const key = pointerOf(edge);
      if (state.get(key) === "open")
        found.push({
          pointer: pointerOf(top.tokens),
          detail:
            "this schema comes back to itself (through $ref or allOf/anyOf/oneOf) without going into a property or an item: checking a value against it would never end",
        });
      else if (!state.has(key)) {
        state.set(key, "open");
        stack.push({ tokens: edge, edges: sameValueEdges(doc, valueAt(doc, edge), edge), next: 0 });
      }
    }
  };
  forEachSchema(doc, (_node, tokens) => {
    if (!state.has(pointerOf(tokens))) visit(tokens);
  });
  return found;
}

/** Every problem with the document's references, each with the pointer of the object holding it. */
export function referenceProblems(doc: JsonObject): Problem[] {
  const out: Problem[] = [];
  forEachKeywordObject(doc, (node, tokens) => {
    for (const [keyword, why] of Object.entries(REFUSED_KEYWORDS))
      if (typeof node[keyword] === "string") out.push({ pointer: pointerOf([...tokens, keyword]), detail: why });
    if (node.$ref === undefined) return;
    const problem = refProblem(doc, node.$ref);
    if (problem) out.push({ pointer: pointerOf([...tokens, "$ref"]), detail: problem });
    else if (refersToItself(doc, node))
      out.push({ pointer: pointerOf([...tokens, "$ref"]), detail: `"${String(node.$ref)}" leads back here through other references: it names nothing` });
  });
  if (out.length) return out; // loops and chains are looked for once every reference resolves
  const loops = validationLoops(doc);
  if (loops.length) return loops;
  const { links, from } = longestReferenceChain(doc);
  if (links > MAX_REFERENCE_CHAIN)
    out.push({
      pointer: from ?? "",
      detail: `starts a chain of ${links} references (schemas referring to schemas); the hub follows at most ${MAX_REFERENCE_CHAIN}`,
    });
  return out;
}
