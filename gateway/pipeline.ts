/**
 * The REST request path as named steps, in the order moleculer-web runs them:
 *   identify (request id, HEAD, the documented operation, found once)
 *   → measure (count, time and log the answer when it leaves)
 *   → refuseOtherMethods (405 with `Allow`)
 *   → admit (token, scope, purpose, quota; an Idempotency-Key runs once)
 *   → readParams (body, validation against the contract, the action's params and meta)
 *   → the action → answerAsDocumented (status, `Location`, `Link`)
 * and fail (any error, from any step or layer, as problem+json). The steps share the request's
 * state (request-state.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "moleculer";
import client from "prom-client";
import type { Operation } from "../contracts";
import { linkageIdOf, metaOf } from "../platform/call-meta";
import { HubError } from "../platform/errors";
import type { HubNode } from "../platform/hub-node";
import { logsAt } from "../platform/log-level";
import { requestHashOf } from "./access";
import { readJsonBody, readRawBody } from "./body";
import { actionCall, admission, problemOf, type Authorize, type ClaimOnce, type HubRequest } from "./exchange";
import { restIdempotency } from "./idempotency";
import type { Mediator } from "../catalogue/mediation";
import { coerceQuery, operationsAt, type CompiledOperation } from "./operations";
import { sendJson } from "./own-operations";
import { pathOf, requestIdOf, startState, stateOf } from "./request-state";

/** moleculer-web's additions to a request that the steps read. */
export type Req = IncomingMessage & { $params: Record<string, unknown>; $alias?: { action?: string }; query?: Record<string, unknown>; $ctx?: Context };
type Res = ServerResponse;
type Next = (err?: unknown) => void;

export interface Gateway {
  node: HubNode;
  authorize: Authorize;
  claimOnce: ClaimOnce;
  mediation: Mediator;
}

const restRequests = new client.Counter({
  name: "hub_http_requests_total",
  help: "REST answers by partner (none: not authenticated), operation and status class",
  labelNames: ["partner", "operation", "status_class"] as const,
});
/** An answer's duration buckets, over REST and over NATS alike (so the two compare). */
export const ANSWER_SECONDS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const restDuration = new client.Histogram({
  name: "hub_http_request_duration_seconds",
  help: "REST request duration by partner and operation",
  labelNames: ["partner", "operation"] as const,
  buckets: ANSWER_SECONDS_BUCKETS,
});

/** Answered every few seconds to Prometheus and load balancers: counted, not logged. */
const QUIET = new Set(["api.metrics.get", "api.health.live", "api.health.ready"]);

/**
 * Before routing: the request id every answer carries (a caller's, when well formed), HEAD
 * answered as GET without a body (RFC 9110), and the documented operation: a concrete path is
 * never taken for a template (/v1/linkages/eid-issuances is not /v1/linkages/{id}).
 */
export function identify(options: { requestID?: string }, req: Req, res: Res): void {
  const id = requestIdOf(req.headers["x-request-id"]);
  req.headers["x-request-id"] = id;
  delete req.headers["x-correlation-id"];
  options.requestID = id;
  res.setHeader("X-Request-Id", id);
  const path = pathOf(req.url);
  const candidates = operationsAt(path);
  const allowed = candidates.map((c) => c.op.method);
  if (req.method === "HEAD" && allowed.includes("GET")) req.method = "GET";
  startState(req, { id, path, allowed, operation: candidates.find((c) => c.op.method === req.method) });
}

/** Every answer is counted and timed per partner, operation and status class, and logged (but scrapes and probes). */
export const measure = (gw: Gateway) => {
  const writes = logsAt(gw.node.broker, "info");
  return (req: Req, res: Res, next: Next) => {
    const stop = restDuration.startTimer();
    res.once("finish", () => {
      const state = stateOf(req);
      const labels = { partner: state.caller?.partner.id ?? state.partnerId ?? "none", operation: state.operation?.op.operationId ?? state.label ?? "none" };
      restRequests.inc({ ...labels, status_class: `${Math.floor(res.statusCode / 100)}xx` });
      const seconds = stop(labels);
      if (!writes || QUIET.has(labels.operation)) return;
      // The path is left out (it may hold an id number): the operation says enough.
      const line = { requestId: state.id, linkageId: req.$ctx && linkageIdOf(req.$ctx), ...labels, method: req.method, status: res.statusCode };
      gw.node.broker.logger.info({ ...line, ms: Math.round(seconds * 1000) }, "request answered");
    });
    next();
  };
};

/** A documented path with another method (OPTIONS included) is a 405 naming the allowed ones. */
export const refuseOtherMethods = (gw: Gateway) => (req: Req, res: Res, next: Next) => {
  const { allowed } = stateOf(req);
  if (!allowed.length || allowed.includes(req.method!)) return next();
  res.setHeader("Allow", allowed.join(", "));
  fail(gw)(req, res, new HubError("HUB_ERR_ROUTE_METHOD", `${req.method} is not allowed here; use ${allowed.join(", ")}`));
};

/** Who calls (token, scope, purpose, quota); then a POST with an Idempotency-Key runs once (a repeat is answered here). */
export const admit = (gw: Gateway) => (req: Req, res: Res, next: Next) => {
  const state = stateOf(req);
  if (!state.operation) return next();
  void (async () => {
    const headers: Record<string, string> = {};
    const admitted = await admission(gw, restRequest(req), headers).finally(() => {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    });
    state.caller = admitted.caller;
    if (await restIdempotency(gw.node, res, admitted)) return;
    next();
  })().catch((err) => fail(gw)(req, res, err));
};

/** A REST request as the transport-neutral steps see it (exchange.ts). */
function restRequest(req: Req): HubRequest {
  const state = stateOf(req);
  return {
    operation: state.operation!,
    path: state.path,
    headers: req.headers as Record<string, string | undefined>,
    requestId: state.id,
    body: () => readRawBody(req),
    requestHash: () => requestHashOf(req),
  };
}

/** The body and query read and checked against the operation's contract, then handed to its action as params. */
export async function readParams(ctx: Context, _route: unknown, incoming: IncomingMessage): Promise<void> {
  const req = incoming as Req;
  // The gateway's own operations (handler aliases) read their requests themselves.
  if (!req.$alias?.action) return;
  const state = stateOf(req);
  const compiled = state.operation as CompiledOperation;
  const body = await readJsonBody(req, compiled.xmlMediaTypes);
  const pathParams = Object.fromEntries(Object.entries(req.$params).filter(([k]) => isPathParameter(compiled.op, k))) as Record<string, string>;
  const query = coerceQuery(compiled.op, req.query ?? {});
  const { params, meta } = actionCall(compiled, { pathParams, query, body }, { caller: state.caller, requestHash: state.requestHash });
  // moleculer-web hands the action req.$params as they are after this step.
  req.$params = params;
  Object.assign(metaOf(ctx), meta);
}

const isPathParameter = (op: Operation, name: string) => op.parameters.some((p) => p.in === "path" && p.name === name);

/** The documented success status, `Location` for what was created, and `Link` to a next page (RFC 8288). */
export function answerAsDocumented(ctx: Context, _route: unknown, req: IncomingMessage, res: Res, data: Record<string, unknown>): Record<string, unknown> {
  const compiled = stateOf(req).operation as CompiledOperation;
  (ctx.meta as { $statusCode?: number }).$statusCode = compiled.successStatus;
  const location = compiled.op["x-location"];
  if (location)
    res.setHeader(
      "Location",
      location.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(String(data[k]))),
    );
  if (typeof data.next === "string" && documentsLink(compiled.op)) {
    const url = new URL(req.url ?? "/", "http://hub");
    url.searchParams.set("cursor", data.next);
    res.setHeader("Link", `<${url.pathname}${url.search}>; rel="next"`);
  }
  return data;
}

const documentsLink = (op: Operation) => Object.entries(op.responses).some(([status, r]) => /^2/.test(status) && r.headers && "Link" in r.headers);

/** Any error as RFC 9457 problem+json; an internal one is logged with its stack and told as the request id only. */
export const fail = (gw: Gateway) => (req: IncomingMessage, res: Res, err: unknown) => {
  const { id, path } = stateOf(req);
  const { problem, headers } = problemOf(err, path, id, gw.node.broker.logger);
  if ((err as { type?: string }).type === "NOT_FOUND") problem.detail = `Nothing is served at ${path}; /openapi.json lists what is`;
  if (res.headersSent) return void res.destroy();
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  // A body we refused unread must not be taken for the next request on this connection.
  if (!req.complete) res.setHeader("Connection", "close");
  sendJson(res, problem.status, problem, "application/problem+json");
};
