/** /metrics, /healthz and /readyz for a node without the gateway (which serves them on its own port otherwise). */
import http from "node:http";
import type { HubNode } from "../platform/hub-node";
import { metricsText, METRICS_CONTENT_TYPE } from "../platform/metrics";

export async function serveOps(node: HubNode, port: number): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    try {
      if (req.url === "/metrics") {
        res.writeHead(200, { "Content-Type": METRICS_CONTENT_TYPE }).end(await metricsText(node.broker));
      } else if (req.url === "/healthz" || req.url === "/readyz") {
        const health = req.url === "/healthz" ? { status: "ok", node: node.broker.nodeID } : await node.readiness();
        res.writeHead(health.status === "ok" ? 200 : 503, { "Content-Type": "application/json" }).end(JSON.stringify(health));
      } else {
        res.writeHead(404, { "Content-Type": "application/json" }).end(JSON.stringify({ status: 404, title: "Not found" }));
      }
    } catch (err) {
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, node.config.host, resolve));
  return server;
}
