/**
 * How deep the document's references nest: schema A refers to B, which refers to C... Ajv
 * compiles a referenced schema inside the compilation of the one referring to it, so a long
 * chain overflows the stack at the first call (about 300 links in Ajv 8). Counted here as
 * the longest path through the references, each group of schemas that refer to one another
 * (a recursion) counting as many links as it has schemas: a bound on what Ajv would follow.
 */
import { isObject, localRefTokens, pointerOf, tokensOf, valueAt, type JsonObject } from "./json-pointer";
import { forEachKeywordObject } from "./openapi-walk";

/** The places `$ref`s name, each with the places named by the `$ref`s inside it. */
function referenceGraph(doc: JsonObject): Map<string, string[]> {
  const targetsIn = (root: unknown) => {
    const found = new Set<string>();
    if (isObject(root))
      forEachKeywordObject(root, (node) => {
        const tokens = typeof node.$ref === "string" ? localRefTokens(node.$ref) : undefined;
        if (tokens && valueAt(doc, tokens) !== undefined) found.add(pointerOf(tokens));
      });
    return [...found];
  };
  return new Map(targetsIn(doc).map((target) => [target, targetsIn(valueAt(doc, tokensOf(target)))]));
}

/** The longest chain of references (links, recursions counted by their size) and where it starts. */
export function longestReferenceChain(doc: JsonObject): { links: number; from?: string } {
  const graph = referenceGraph(doc);
  // Tarjan's strongly connected components, without recursion; each is closed after those it reaches.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const chain = new Map<string, number>(); // node → the longest chain from its component
  let best = { links: 0, from: undefined as string | undefined };
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work: { node: string; next: number }[] = [{ node: start, next: 0 }];
    index.set(start, index.size);
    low.set(start, index.get(start)!);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const edges = graph.get(top.node) ?? [];
      if (top.next < edges.length) {
        const next = edges[top.next++]!;
        if (!index.has(next)) {
          index.set(next, index.size);
          low.set(next, index.get(next)!);
          stack.push(next);
          onStack.add(next);
          work.push({ node: next, next: 0 });
        } else if (onStack.has(next)) low.set(top.node, Math.min(low.get(top.node)!, index.get(next)!));
        continue;
      }
      work.pop();
      if (work.length) low.set(work[work.length - 1]!.node, Math.min(low.get(work[work.length - 1]!.node)!, low.get(top.node)!));
      if (low.get(top.node) !== index.get(top.node)) continue;
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== top.node);
      const inside = new Set(component);
      const after = component.flatMap((n) => (graph.get(n) ?? []).filter((m) => !inside.has(m))).reduce((most, m) => Math.max(most, chain.get(m) ?? 0), 0);
      const links = component.length + after;
      for (const n of component) chain.set(n, links);
      if (links > best.links) best = { links, from: top.node };
    }
  }
  return best;
}
