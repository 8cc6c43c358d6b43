/**
 * What the gateway learns about one request on its way down the pipeline (pipeline.ts), kept
 * in one object beside the request: its id and path, the documented operation (found once),
 * the caller once admitted, the body once read, and the hash binding the answer to it.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Caller } from "./access";
import type { CompiledOperation } from "./operations";

export interface RequestState {
  /** `X-Request-Id`: the caller's when well formed, else one of ours. */
  id: string;
  /** The path without query or trailing slash. */
  path: string;
  /** The documented operation for this path and method, if any. */
  operation?: CompiledOperation;
  /** What the metrics and the access log call a request that is not a documented operation (`catalogue.call`). */
  label?: string;
  /** The partner of a request admitted outside the contract's operations (a mediated call). */
  partnerId?: string;
  /** The methods the contract documents for this path (for 405 and `Allow`). */
  allowed: string[];
  caller?: Caller;
  /** The body, read once within the size limit (body.ts). */
  body?: Buffer;
  /** `Request-Hash` (access.ts). */
  requestHash?: string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request id an answer carries, REST or NATS: the caller's `X-Request-Id` when well formed, else a new one. */
export const requestIdOf = (given: unknown): string => (typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID());

const states = new WeakMap<IncomingMessage, RequestState>();

export function pathOf(url = "/"): string {
  const path = url.split("?")[0]!;
  return path.length > 1 ? path.replace(/\/$/, "") : path;
}

/** The request's state; a request that never passed the first step gets a bare one. */
export function stateOf(req: IncomingMessage): RequestState {
  let state = states.get(req);
  if (!state) states.set(req, (state = { id: String(req.headers["x-request-id"] ?? ""), path: pathOf(req.url), allowed: [] }));
  return state;
}

export function startState(req: IncomingMessage, state: RequestState): RequestState {
  states.set(req, state);
  return state;
}
