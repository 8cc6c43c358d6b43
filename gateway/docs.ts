/**
 * The API reference at /docs: Swagger UI rendering /openapi.json, served entirely from this
 * gateway (swagger-ui-dist from node_modules), so it works offline and names no other host.
 * The page's own script is a file (/docs/docs.js), not inline, so the page's CSP needs no
 * inline-script exception; requests sent with "Try it out" go to this same origin.
 */
import fs from "node:fs";
import path from "node:path";
import type { ServerResponse } from "node:http";
import { HubError } from "../platform/errors";

export const DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'";
const ASSET_CACHE = "public, max-age=3600";

// `<link rel="icon" href="data:,">` keeps the browser from asking for /favicon.ico.
export const DOCS_HTML = `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Linkage Hub API</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/docs.js"></script>
</body>
</html>
`;

// validatorUrl: null — never ask validator.swagger.io about the document.
export const DOCS_JS = `window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  validatorUrl: null,
});
`;

export interface DocsAsset {
  type: string;
  body: Buffer;
}

const CSS = "text/css; charset=utf-8";
const JS = "text/javascript; charset=utf-8";

/** Served asset name → file in swagger-ui-dist (or our own text). Keep in step with the contract's enum. */
const FROM_DIST: Record<string, { file: string; type: string }> = {
  "swagger-ui.css": { file: "swagger-ui.css", type: CSS },
  "swagger-ui-bundle.js": { file: "swagger-ui-bundle.js", type: JS },
};

let assets: Map<string, DocsAsset> | undefined;

/** The served assets, read from node_modules/swagger-ui-dist on first use. */
export function docsAssets(): Map<string, DocsAsset> {
  if (!assets) {
    const dist = path.dirname(require.resolve("swagger-ui-dist/package.json"));
    const loaded = new Map<string, DocsAsset>();
    for (const [name, { file, type }] of Object.entries(FROM_DIST)) loaded.set(name, { type, body: fs.readFileSync(path.join(dist, file)) });
    loaded.set("docs.js", { type: JS, body: Buffer.from(DOCS_JS) });
    assets = loaded;
  }
  return assets;
}

/** GET /docs */
export function sendDocsPage(res: ServerResponse): void {
  res.writeHead(200, {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": DOCS_CSP,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
  });
  res.end(DOCS_HTML);
}

/** GET /docs/{asset}; an unknown name is a 404 (the gateway turns the throw into problem+json). */
export function sendDocsAsset(res: ServerResponse, name: unknown): void {
  const asset = typeof name === "string" ? docsAssets().get(name) : undefined;
  if (!asset) throw new HubError("HUB_ERR_ROUTE_NOT_FOUND", `The API reference has no asset ${String(name)}`);
  res.writeHead(200, {
    "Content-Type": asset.type,
    "Content-Length": asset.body.length,
    "Cache-Control": ASSET_CACHE,
    "X-Content-Type-Options": "nosniff",
  });
  res.end(asset.body);
}
