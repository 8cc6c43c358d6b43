/**
 * `x-linkage` on an operation of a provider's document: the provider takes part in a linkage
 * the hub runs, and the hub calls that operation when it does (`address-change`: told of every
 * household's new address, by the `address-change-notification` linkage). The hub makes the
 * call from the linkage's own data, so the operation must be one it can make without asking
 * anyone: a POST, PUT or PATCH with a JSON request body (the linkage's data, checked against
 * the operation's schema as any mediated call is), no path parameters, no required query or
 * header parameters; one such operation per linkage in a document.
 */
import { isObject, pointerOf, type JsonObject } from "./json-pointer";
import { isJsonMediaType, mediaTypeOf } from "./media-types";
import { deref, parametersOf, type OperationAt } from "./openapi-walk";
import type { Problem } from "./document-read";

/** The linkages a provider may take part in, and what the hub sends each one. */
export const LINKAGE_KINDS: Record<string, string> = {
  "address-change":
    "the household address change that `civil-registry.household.address-changed` names, as the civil registry records it (`civil-registry.address-change.get`: changeNo, idNumbers, names, address, effectiveAt)",
};

const METHODS = ["post", "put", "patch"];

/** The linkage the operation declares (undefined when none), with what is wrong with the declaration added to `out`. */
export function linkageOf(doc: JsonObject, op: OperationAt, out: Problem[]): string | undefined {
  const declared = op.node["x-linkage"];
  if (declared === undefined) return undefined;
  const at = pointerOf([...op.tokens, "x-linkage"]);
  const before = out.length;
  if (typeof declared !== "string" || !Object.hasOwn(LINKAGE_KINDS, declared))
    out.push({ pointer: at, detail: `names no linkage the hub runs; known: ${Object.keys(LINKAGE_KINDS).join(", ")}` });
  else {
    if (!METHODS.includes(op.method))
      out.push({ pointer: at, detail: `marks a ${op.method.toUpperCase()}: the hub sends a linkage's data with POST, PUT or PATCH` });
    const needed = parametersOf(doc, op).filter((p) => p.in === "path" || p.node.required === true);
    for (const p of needed)
      out.push({
        pointer: at,
        detail: `the operation needs the ${p.in} parameter "${p.name}", which the hub cannot fill: the linkage's data is the whole call`,
      });
    if (!takesJson(doc, op)) out.push({ pointer: at, detail: "the operation takes no JSON request body: the hub sends the linkage's data as JSON" });
  }
  return out.length === before ? (declared as string) : undefined;
}

function takesJson(doc: JsonObject, op: OperationAt): boolean {
  const body = op.node.requestBody === undefined ? undefined : deref(doc, op.node.requestBody, [...op.tokens, "requestBody"]);
  const content = isObject(body?.node.content) ? body.node.content : {};
  return Object.keys(content).some((type) => isJsonMediaType(mediaTypeOf(type) ?? ""));
}

/** A second operation of a document for the same linkage, which would leave the hub to guess. */
export function repeatedLinkages(operations: { method: string; path: string; pointer: string; linkage?: string }[]): Problem[] {
  const first = new Map<string, string>();
  const problems: Problem[] = [];
  for (const op of operations) {
    if (!op.linkage) continue;
    const seen = first.get(op.linkage);
    if (seen) problems.push({ pointer: `${op.pointer}/x-linkage`, detail: `${seen} takes part in ${op.linkage} already: one operation per linkage` });
    else first.set(op.linkage, `${op.method} ${op.path}`);
  }
  return problems;
}
