/**
 * The operations the gateway answers itself (their operationIds start with `api.`): health,
 * metrics, the contract and its reference page, the catalogue page, and the OAuth token endpoint with its keys.
 * Every other operation is the Moleculer action of the same name.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { openapi } from "../contracts";
import type { HubNode } from "../platform/hub-node";
import { metricsText, METRICS_CONTENT_TYPE } from "../platform/metrics";
import { publishedKeys } from "../partners/keys";
import { wholeCatalogue } from "../catalogue/catalogue-list";
import { pageQuery, sendCatalogueAsset, sendCataloguePage } from "./catalogue-page";
import { sendDocsAsset, sendDocsPage } from "./docs";
import { tokenEndpoint } from "./oauth";

export type Handler = (req: IncomingMessage & { $params: Record<string, unknown> }, res: ServerResponse) => Promise<void>;

export function sendJson(res: ServerResponse, status: number, body: unknown, type = "application/json; charset=utf-8"): void {
  res.writeHead(status, { "Content-Type": type });
  res.end(JSON.stringify(body));
}

export function ownOperations(node: HubNode): Record<string, Handler> {
  return {
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
    "api.catalogue.page": async (req, res) => {
      const q = pageQuery(req.url);
      sendCataloguePage(res, q === undefined ? [] : await wholeCatalogue(node.db, node.config.instance), q);
    },
    "api.catalogue.asset": async (req, res) => sendCatalogueAsset(res, req.$params.asset),
    "api.oauth.token": tokenEndpoint(node),
    "api.jwks.get": async (_req, res) => {
      res.setHeader("Cache-Control", "public, max-age=60");
      sendJson(res, 200, { keys: await publishedKeys(node.db, node.config.tokenTtlS) });
    },
  };
}
