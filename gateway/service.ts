/**
 * The REST face (moleculer-web). Routes come from the contract: each operationId is the
 * action that serves it, or one of the gateway's own handlers below. The request path is
 * one pipeline: request id → body → validate against the contract → call → answer as
 * documented; any error → problem+json.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import ApiGateway, { type ApiSettingsSchema } from "moleculer-web";
import client from "prom-client";
import type { Context, ServiceSchema } from "moleculer";
import { openapi, type Operation } from "../contracts";
import { HubError } from "../platform/errors";
import { metricsText, METRICS_CONTENT_TYPE } from "../platform/metrics";
import type { HubNode } from "../platform/hub-node";
import type { AuditLog } from "../audit/log";
import { readJsonBody, XmlBody } from "./body";
import { sendDocsAsset, sendDocsPage } from "./docs";
import { OPERATIONS, allowedMethods, byOperationId, coerceQuery, operationsAt } from "./operations";
import { toProblem } from "./problem";
import { partnerAccess, requestHashOf, type Caller } from "./access";
import { idempotency } from "./idempotency";
import { tokenEndpoint } from "./oauth";
import { ensureKeys, publishedKeys } from "../partners/keys";
import { linkageIdOf } from "../platform/call-meta";
import { sweepQuotaWindows } from "../partners/quota";

type Req = IncomingMessage & {
  $params: Record<string, unknown>;
  $alias?: { action?: string };
  query: Record<string, unknown>;
  parsedUrl: string;
  operation?: Operation;
  caller?: Caller;
  requestHash?: string;
  $ctx?: Context;
};
type Res = ServerResponse;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const pathOf = (req: Req) => {
  const path = (req.parsedUrl ?? req.url ?? "/").split("?")[0]!;
  return path.length > 1 ? path.replace(/\/$/, "") : path;
};

const restRequests = new client.Counter({
  name: "hub_http_requests_total",
  help: "REST answers by partner (none: not authenticated), operation and status class",
  labelNames: ["partner", "operation", "status_class"] as const,
});
const restDuration = new client.Histogram({
  name: "hub_http_request_duration_seconds",
  help: "REST request duration by partner and operation",
  labelNames: ["partner", "operation"] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

/** Answered every few seconds to Prometheus and load balancers: counted, not logged. */
const QUIET = new Set(["api.metrics.get", "api.health.live", "api.health.ready"]);

const documentsLink = (op: Operation) => Object.entries(op.responses).some(([status, r]) => /^2/.test(status) && r.headers && "Link" in r.headers);

function sendJson(res: Res, status: number, body: unknown, type = "application/json; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": type });
  res.end(JSON.stringify(body));
}

export function gatewayService(node: HubNode, audit: AuditLog): ServiceSchema<ApiSettingsSchema> {
  const authorize = partnerAccess(node, audit);
  const idempotent = idempotency(node);
  let sweeper: NodeJS.Timeout | undefined;
  /** Operations the gateway answers itself, by operationId. */
  const own: Record<string, (req: Req, res: Res) => Promise<void>> = {
    "api.health.live": async (_req, res) => sendJson(res, 200, { status: "ok", node: node.broker.nodeID }),
    "api.health.ready": async (_req, res) => {
      const health = await node.readiness();
      sendJson(res, health.status === "ok" ? 200 : 503, health);
    },
    "api.metrics.get": async (_req, res) => {
      const text = await metricsText(node.broker);
      res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE });
      res.end(text);
    },
    "api.openapi.get": async (req, res) =>
      sendJson(res, 200, { ...openapi, servers: [{ url: `http://${req.headers.host ?? `${node.config.host}:${node.config.port}`}` }] }),
    "api.docs.get": async (_req, res) => sendDocsPage(res),
    "api.docs.asset": async (req, res) => sendDocsAsset(res, req.$params.asset),
    "api.oauth.token": tokenEndpoint(node),
    "api.jwks.get": async (_req, res) => {
      res.setHeader("Cache-Control", "public, max-age=60");
      sendJson(res, 200, { keys: await publishedKeys(node.db, node.config.tokenTtlS) });
    },
  };

  const aliases: Record<string, string | ((req: Req, res: Res) => void)> = {};
  for (const c of OPERATIONS) {
    const id = c.op.operationId;
    if (id.startsWith("api.")) {
      const handler = own[id];
      if (!handler) throw new Error(`the contract names ${id}, which the gateway does not implement`);
      aliases[c.alias] = (req: Req, res: Res) => void handler(req, res).catch((err) => sendProblem(req, res, err));
    } else {
      aliases[c.alias] = id;
    }
  }

  function sendProblem(req: Req, res: Res, err: unknown): void {
    const requestId = String(req.headers["x-request-id"]);
    const pathname = pathOf(req);
    const { problem, internal } = toProblem(err, pathname, requestId);
    if ((err as { type?: string }).type === "NOT_FOUND") problem.detail = `Nothing is served at ${pathname}; /openapi.json lists what is`;
    if (internal) node.broker.logger.error({ requestId, err: String((err as Error)?.stack ?? err) }, "request failed");
    if (res.headersSent) return void res.destroy();
    // A body we refused unread must not be taken for the next request on this connection.
    if (!req.complete) res.setHeader("Connection", "close");
    sendJson(res, problem.status, problem, "application/problem+json");
  }

  return {
    name: "api",
    mixins: [ApiGateway],
    async started() {
      await ensureKeys(node.db);
      const sweep = async () => {
        await sweepQuotaWindows(node.db);
        await node.db.query("DELETE FROM hub.idempotency_key WHERE created_at < now() - make_interval(secs => $1::int)", [node.config.idempotencyTtlS]);
      };
      sweeper = setInterval(() => void sweep().catch(() => {}), 600_000).unref();
    },
    stopped() {
      clearInterval(sweeper);
    },
    settings: {
      port: node.config.port,
      ip: node.config.host,
      // Before routing: the request id every answer carries (a caller's, when well formed),
      // and HEAD answered as GET without a body (RFC 9110).
      // (moleculer-web calls a function here; its typings know only the object form)
      rootCallOptions: function (options: { requestID?: string }, req: Req, res: Res) {
        const given = req.headers["x-request-id"];
        const id = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID();
        req.headers["x-request-id"] = id;
        delete req.headers["x-correlation-id"];
        options.requestID = id;
        res.setHeader("X-Request-Id", id);
        if (req.method === "HEAD" && allowedMethods(pathOf(req)).includes("GET")) req.method = "GET";
      } as unknown as ApiSettingsSchema["rootCallOptions"],
      // A documented path with another method (OPTIONS included) is a 405 naming the allowed
      // ones; a concrete path is never taken for a template (/v1/linkages/eid-issuances).
      use: [
        // The documented operation, found once; every answer is counted and timed per partner, operation and status class.
        (req: Req, res: Res, next: () => void) => {
          req.operation = operationsAt(pathOf(req)).find((c) => c.op.method === req.method)?.op;
          const stop = restDuration.startTimer();
          res.once("finish", () => {
            const labels = { partner: req.caller?.partner.id ?? "none", operation: req.operation?.operationId ?? "none" };
            restRequests.inc({ ...labels, status_class: `${Math.floor(res.statusCode / 100)}xx` });
            const seconds = stop(labels);
            // The access log line, but for scrapes and probes: the path is left out (it may hold an id number), the operation says enough.
            if (QUIET.has(labels.operation)) return;
            node.broker.logger.info(
              {
                requestId: req.headers["x-request-id"],
                linkageId: req.$ctx && linkageIdOf(req.$ctx),
                ...labels,
                method: req.method,
                status: res.statusCode,
                ms: Math.round(seconds * 1000),
              },
              "request answered",
            );
          });
          next();
        },
        (req: Req, res: Res, next: () => void) => {
          const allowed = allowedMethods(pathOf(req));
          if (allowed.length && !allowed.includes(req.method!)) {
            res.setHeader("Allow", allowed.join(", "));
            return sendProblem(req, res, new HubError("HUB_ERR_ROUTE_METHOD", `${req.method} is not allowed here; use ${allowed.join(", ")}`));
          }
          next();
        },
        // Who calls (token, scope, purpose, quota), then a POST with an Idempotency-Key runs once.
        (req: Req, res: Res, next: () => void) => {
          const op = req.operation;
          if (!op) return next();
          void (async () => {
            req.caller = await authorize(req, res, op);
            if (req.caller) res.setHeader("Request-Hash", await requestHashOf(req));
            if (req.caller && (await idempotent(req, res, req.caller.partner.id, pathOf(req)))) return;
            next();
          })().catch((err) => sendProblem(req, res, err));
        },
      ],
      routes: [
        {
          path: "",
          mappingPolicy: "restrict",
          autoAliases: false,
          bodyParsers: false,
          mergeParams: true,
          aliases,
          async onBeforeCall(ctx, _route, incoming) {
            const req = incoming as unknown as Req;
            const action = req.$alias?.action;
            if (!action) return;
            const compiled = byOperationId.get(action)!;
            const body = await readJsonBody(req, compiled.xmlMediaTypes);
            const pathParams = Object.fromEntries(
              Object.entries(req.$params).filter(([k]) => compiled.op.parameters.some((p) => p.in === "path" && p.name === k)),
            ) as Record<string, string>;
            const query = coerceQuery(compiled.op, req.query ?? {});
            const errors = compiled.validate({ path: pathParams, query, body });
            if (errors.length) throw new HubError("HUB_ERR_REQUEST_INVALID", `The request does not match ${compiled.op.operationId}`, { errors });
            Object.assign(req.$params, query);
            if (body instanceof XmlBody) Object.assign(req.$params, { xml: body.text });
            else if (body && typeof body === "object" && !Array.isArray(body)) Object.assign(req.$params, body);
            Object.assign(ctx.meta as Record<string, unknown>, {
              operationId: compiled.op.operationId,
              partner: req.caller?.partner.id,
              purpose: req.caller?.purpose,
              requestHash: req.requestHash,
            });
          },
          onAfterCall(ctx, _route, req, res, data: Record<string, unknown>) {
            const compiled = byOperationId.get((ctx.meta as { operationId: string }).operationId)!;
            (ctx.meta as Record<string, unknown>).$statusCode = compiled.successStatus;
            const location = compiled.op["x-location"];
            if (location)
              res.setHeader(
                "Location",
                location.replace(/\{(\w+)\}/g, (_m, k: string) => encodeURIComponent(String(data[k]))),
              );
            // A page with a next one links to it (RFC 8288), where the contract documents `Link`.
            if (typeof data.next === "string" && documentsLink(compiled.op)) {
              const url = new URL(req.url ?? "/", "http://hub");
              url.searchParams.set("cursor", data.next);
              res.setHeader("Link", `<${url.pathname}${url.search}>; rel="next"`);
            }
            return data;
          },
        },
      ],
      onError(req: Req, res: Res, err: unknown) {
        sendProblem(req, res, err);
      },
      logRequest: "debug",
      logResponse: "debug",
      logRequestParams: null,
      logResponseData: null,
      log4XXResponses: false,
    },
  };
}
