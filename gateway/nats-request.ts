/**
 * A NATS request to an operation as the parts REST has: path parameters, query and body.
 *
 * The message is one JSON object: the operation's path and query parameters are fields of it
 * by their contract names, and the other fields are the body, as REST takes it. An operation
 * without path or query parameters takes the message as its body, as sent. One that takes no
 * body treats an empty object (or an empty message) as none. The contract keeps a body's
 * property names apart from its operation's parameter names (a unit test holds it to that).
 *
 * What REST would hash for `Request-Hash` and the Idempotency-Key's comparison: the method and
 * path the operation has over REST, the query in its fields' order, and the body: the message
 * as sent when nothing was taken out of it, else the JSON of the fields left.
 */
import { HubError } from "../platform/errors";
import type { RequestParts } from "./exchange";
import { coerceQuery, type CompiledOperation } from "./operations";

export interface NatsParts extends RequestParts {
  /** The REST path (parameters in place, percent-encoded), without query. */
  path: string;
  /** The path with its query, as REST's request line names it. */
  target: string;
  /** The body's bytes as REST would have received them. */
  bodyBytes: Buffer;
}

const tooLarge = (limit: number) => new HubError("HUB_ERR_REQUEST_TOO_LARGE", `The body may be at most ${limit} bytes`);

/** The message as JSON (undefined when empty); a message over `limit` bytes is the REST 413, bad JSON the REST 400. */
export function parsedMessage(data: Uint8Array, limit: number): unknown {
  if (data.length > limit) throw tooLarge(limit);
  const text = Buffer.from(data).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HubError("HUB_ERR_REQUEST_MALFORMED", `The body is not valid JSON: ${(err as Error).message}`);
  }
}

/** The path and query parameters of an operation (headers travel as NATS headers). */
export const fieldParameters = (operation: CompiledOperation) => operation.op.parameters.filter((p) => p.in === "path" || p.in === "query");

export function natsParts(operation: CompiledOperation, data: Uint8Array): NatsParts {
  const message = parsedMessage(data, operation.maxBodyBytes);
  const named = fieldParameters(operation);
  const takesBody = operation.op.requestBody !== undefined;
  if (!named.length || !isObject(message)) {
    const body = !takesBody && isObject(message) && Object.keys(message).length === 0 ? undefined : message;
    const bodyBytes = body === undefined ? Buffer.alloc(0) : Buffer.from(data);
    return { pathParams: {}, query: {}, body, bodyBytes, path: operation.op.path, target: operation.op.path };
  }
  const rest: Record<string, unknown> = { ...message };
  const pathParams: Record<string, string> = {};
  const given: Record<string, unknown> = {};
  for (const p of named) {
    if (!(p.name in rest)) continue;
    const value = rest[p.name];
    delete rest[p.name];
    if (p.in === "query") given[p.name] = value;
    // A path segment is text: a number or boolean is written as REST's path would carry it.
    else pathParams[p.name] = (typeof value === "number" || typeof value === "boolean" ? String(value) : value) as string;
  }
  // Nothing left is no body, unless the operation requires one: then its checks say what is missing.
  const body = Object.keys(rest).length === 0 && operation.op.requestBody?.required !== true ? undefined : rest;
  const path = operation.op.path.replace(/\{(\w+)\}/g, (_m, name: string) => encodeURIComponent(String(pathParams[name] ?? "")));
  const search = queryString(given);
  return {
    pathParams,
    query: coerceQuery(operation.op, given),
    body,
    bodyBytes: body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(body)),
    path,
    target: search ? `${path}?${search}` : path,
  };
}

/** The query as REST would send it: a list as repeated names, text as it is, anything else as JSON. */
export function queryString(query: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query))
    for (const one of Array.isArray(value) ? value : [value]) search.append(name, typeof one === "string" ? one : JSON.stringify(one));
  return search.toString();
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
