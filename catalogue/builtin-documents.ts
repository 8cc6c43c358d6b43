/**
 * Each built-in agency operation's part of the contract, as an OpenAPI document that stands on
 * its own: the operation's path item with just that operation, every component it refers to
 * (followed through the components themselves), the security schemes it names, its tags, the
 * contract's info and servers (the hub). Links to operations the part does not hold are left
 * out, so every reference in it resolves inside it.
 */
import { openapi } from "../contracts";
import { agencyOf, builtinServiceId } from "./builtin-ids";
import { isObject, type JsonObject } from "./json-pointer";
import { HTTP_METHODS } from "./openapi-walk";

export interface BuiltinOperation {
  operationId: string;
  serviceId: string;
  /** Upper case. */
  method: string;
  path: string;
  /** The token scope the contract asks of it. */
  scope: string;
  personalData: boolean;
  document: JsonObject;
}

const COMPONENT_REF = /^#\/components\/([^/]+)\/([^/]+)/;

/** The agencies' operations in `contract` (the hub's own, by default), each with its document. */
export function builtinOperations(instance: string, contract: JsonObject = openapi as JsonObject): BuiltinOperation[] {
  const found: BuiltinOperation[] = [];
  for (const [path, item] of Object.entries(contract.paths as Record<string, JsonObject>))
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (!isObject(op) || typeof op.operationId !== "string" || !agencyOf(op.operationId)) continue;
      const security = op.security as { partnerToken?: string[] }[] | undefined;
      const scope = security?.[0]?.partnerToken?.[0];
      if (!scope) throw new Error(`${op.operationId} names no partnerToken scope, so the catalogue cannot say who may call it`);
      found.push({
        operationId: op.operationId,
        serviceId: builtinServiceId(instance, op.operationId)!,
        method: method.toUpperCase(),
        path,
        scope,
        personalData: op["x-personal-data"] === true,
        document: documentOf(contract, path, method, item),
      });
    }
  return found;
}

function documentOf(contract: JsonObject, path: string, method: string, item: JsonObject): JsonObject {
  const op = item[method] as JsonObject;
  // The path item's own fields (shared parameters, say), with this one operation.
  const shared = Object.fromEntries(Object.entries(item).filter(([k]) => !(HTTP_METHODS as readonly string[]).includes(k)));
  const paths = { [path]: { ...shared, [method]: withoutForeignLinks(op) } };
  const all = contract.components as Record<string, JsonObject>;
  const components = referencedComponents(all, paths);
  const schemes = new Set((op.security as Record<string, string[]>[] | undefined)?.flatMap((s) => Object.keys(s)) ?? []);
  components.securitySchemes = Object.fromEntries(Object.entries(all.securitySchemes ?? {}).filter(([name]) => schemes.has(name)));
  const info = contract.info as JsonObject;
  const tags = ((contract.tags ?? []) as JsonObject[]).filter((t) => ((op.tags ?? []) as string[]).includes(t.name as string));
  return {
    openapi: contract.openapi,
    info: {
      title: op.summary ?? op.operationId,
      description: op.description ?? op.summary,
      version: info.version,
      ...(info.license ? { license: info.license } : {}),
      "x-contract": { title: info.title, operationId: op.operationId },
    },
    servers: contract.servers,
    ...(tags.length ? { tags } : {}),
    paths,
    components,
  };
}

/** The operation without response links to other operations (they are not in its document). */
function withoutForeignLinks(op: JsonObject): JsonObject {
  const responses = Object.entries((op.responses ?? {}) as Record<string, JsonObject>).map(([status, response]) => {
    if (!isObject(response.links)) return [status, response];
    const links = Object.entries(response.links).filter(([, link]) => isObject(link) && link.operationId === op.operationId);
    const { links: _all, ...rest } = response;
    return [status, links.length ? { ...rest, links: Object.fromEntries(links) } : rest];
  });
  return { ...op, responses: Object.fromEntries(responses) };
}

/** Every component `root` refers to, and those they refer to in turn, by kind and name. */
function referencedComponents(all: Record<string, JsonObject>, root: unknown): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  const pending: unknown[] = [root];
  while (pending.length) {
    const node = pending.pop();
    if (Array.isArray(node)) pending.push(...node);
    else if (isObject(node)) {
      const ref = typeof node.$ref === "string" ? COMPONENT_REF.exec(node.$ref) : null;
      if (ref && !out[ref[1]!]?.[ref[2]!]) {
        const target = all[ref[1]!]?.[ref[2]!];
        if (target === undefined) throw new Error(`the contract refers to ${node.$ref}, which it does not hold`);
        (out[ref[1]!] ??= {})[ref[2]!] = target;
        pending.push(target);
      }
      pending.push(...Object.values(node));
    }
  }
  return out;
}

/** `METHOD /path` of an agency operation in the contract (the hub's own REST route), if the contract has it. */
export function restRouteOf(operationId: string, contract: JsonObject = openapi as JsonObject): string | undefined {
  for (const [path, item] of Object.entries(contract.paths as Record<string, JsonObject>))
    for (const method of HTTP_METHODS) if ((item[method] as JsonObject | undefined)?.operationId === operationId) return `${method.toUpperCase()} ${path}`;
  return undefined;
}
