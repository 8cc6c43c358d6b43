/**
 * The catalogue for people at /catalogue: rendered here, whole, so it reads without
 * JavaScript (entries a `?q=` search leaves out carry `hidden`; the search is a plain GET
 * form), and searched as one types with the page's script. Nothing comes from another host;
 * every text is escaped, titles and descriptions being what providers wrote in their documents.
 */
import type { ServerResponse } from "node:http";
import { compileOpenApiSchema } from "../contracts";
import type { CatalogueEntry } from "../catalogue/catalogue-entries";
import type { WindowFigures } from "../catalogue/figures";
import { matches, searchTextOf, wordsOf } from "../catalogue/catalogue-search";
import { HubError } from "../platform/errors";
import { CATALOGUE_CSS, CATALOGUE_JS } from "./catalogue-assets";

export const CATALOGUE_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const ASSET_CACHE = "public, max-age=3600";
const ASSETS: Record<string, { type: string; body: Buffer }> = {
  "catalogue.css": { type: "text/css; charset=utf-8", body: Buffer.from(CATALOGUE_CSS) },
  "catalogue.js": { type: "text/javascript; charset=utf-8", body: Buffer.from(CATALOGUE_JS) },
};

const validQuery = compileOpenApiSchema({ $ref: "#/components/schemas/CatalogueQuery" });

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
/** Text as HTML text or a quoted attribute value. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** A share as people read it; null is "no data", never 0 % or 100 %. */
export function shownRate(part: { rate: number | null }, counted: string): string {
  return part.rate === null ? "no data" : `${(part.rate * 100).toFixed(1)} % (${counted})`;
}
export const shownLatency = (ms: number | null) => (ms === null ? "no data" : `${Math.round(ms)} ms`);

/** The figures as the page shows them, by row and window: what the browser test compares with the JSON. */
export function shownFigures(f: WindowFigures): Record<"completion" | "availability" | "latency", string> {
  return {
    completion: shownRate(f.completion, `${f.completion.completed} of ${f.completion.total}`),
    availability: shownRate(f.availability, `${f.availability.ok} of ${f.availability.probes} probes`),
    latency: shownLatency(f.latencyP95Ms),
  };
}

function figuresTable(e: CatalogueEntry, n: number): string {
  const week = shownFigures(e.figures.last7Days);
  const month = shownFigures(e.figures.last30Days);
  const cell = (key: keyof typeof week, window: string, text: string) =>
    `<td data-figure="${key}-${window}"${text === "no data" ? ' class="no-data"' : ""}>${escapeHtml(text)}</td>`;
  const row = (key: keyof typeof week, label: string) => `<tr><th scope="row">${label}</th>${cell(key, "7", week[key])}${cell(key, "30", month[key])}</tr>`;
  return `<table aria-describedby="t${n}"><caption id="t${n}">How it served</caption>
<thead><tr><th scope="col">Figure</th><th scope="col">Last 7 days</th><th scope="col">Last 30 days</th></tr></thead>
<tbody>${row("completion", "Completion")}${row("availability", "Availability")}${row("latency", "p95 latency")}</tbody></table>`;
}

function entryHtml(e: CatalogueEntry, n: number, shown: boolean): string {
  const ops = e.operations.map((o) => `<li><code>${escapeHtml(`${o.method} ${o.path}`)}</code>${o.summary ? ` ${escapeHtml(o.summary)}` : ""}</li>`).join("");
  const purposes = e.purposes.length ? escapeHtml(e.purposes.join(", ")) : "none stated";
  const links = [`<a href="${escapeHtml(e.links.openapi)}">OpenAPI document</a>${e.kind === "service" ? " (partners, with a token)" : ""}`];
  if (e.links.docs) links.push(`<a href="${escapeHtml(e.links.docs)}">API reference</a>`);
  return `<li class="entry" data-id="${escapeHtml(e.id)}" data-search="${escapeHtml(searchTextOf(e))}"${shown ? "" : " hidden"}>
<article aria-labelledby="e${n}">
<h2 id="e${n}">${escapeHtml(e.title)}<span class="kind">${e.kind === "linkage" ? "linkage" : "service"}</span></h2>
<p class="meta">Provider: <span class="provider">${escapeHtml(e.provider.name)}</span> (<code>${escapeHtml(e.provider.id)}</code>) · <code class="id">${escapeHtml(e.id)}</code>${e.version ? ` · version ${escapeHtml(e.version)}` : ""}</p>
${e.description ? `<p class="description">${escapeHtml(e.description)}</p>` : ""}
<h3>Operations</h3><ul class="operations">${ops || "<li>none</li>"}</ul>
<h3>Purposes</h3><p class="purposes">${purposes}</p>
${figuresTable(e, n)}
<p class="links">${links.join(" · ")}</p>
</article></li>`;
}

const shownCount = (n: number) => (n === 1 ? "1 entry shown" : `${n} entries shown`);

/** The whole page; `q` (already checked) hides the entries it does not find. */
export function catalogueHtml(entries: CatalogueEntry[], q: string, problem?: string): string {
  const words = wordsOf(q);
  const shown = entries.map((e) => matches(e, words));
  const count = shown.filter(Boolean).length;
  const items = entries.map((e, i) => entryHtml(e, i, shown[i]!)).join("\n");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Service catalogue · Linkage Hub</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/catalogue/catalogue.css">
</head>
<body>
<header><h1>Service catalogue</h1>
<p>Every service the hub mediates and every linkage it runs, with how each served over the last 7 and 30 days. Developers: the <a href="/docs">API reference</a>, and the same list as JSON at <a href="/v1/catalogue">/v1/catalogue</a>.</p></header>
<main>
<form method="get" action="/catalogue" role="search">
<label for="q">Search by name, provider or purpose</label>
<input id="q" name="q" type="search" maxlength="200" autocomplete="off" value="${escapeHtml(q)}">
<button type="submit">Search</button>
</form>
${problem ? `<p role="alert" class="problem">${escapeHtml(problem)}</p>` : ""}
<p id="count" aria-live="polite">${shownCount(count)}</p>
<p id="none"${count ? " hidden" : ""}>No entry matches this search.</p>
<ul id="entries" class="entries">
${items}
</ul>
</main>
<script src="/catalogue/catalogue.js"></script>
</body>
</html>
`;
}

/** The `q` of a page request: the first given, or "" when none; undefined when the contract refuses it. */
export function pageQuery(url: string | undefined): string | undefined {
  const q = new URL(url ?? "/", "http://hub").searchParams.get("q") ?? "";
  return validQuery(q) ? q : undefined;
}

/** GET /catalogue: 200, or 400 with the page saying what is wrong with the search (and listing nothing). */
export function sendCataloguePage(res: ServerResponse, entries: CatalogueEntry[], q: string | undefined): void {
  const html =
    q === undefined
      ? catalogueHtml([], "", "This search is not one the catalogue takes: at most 200 characters, and no control characters.")
      : catalogueHtml(entries, q);
  res.writeHead(q === undefined ? 400 : 200, {
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": CATALOGUE_CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
  });
  res.end(html);
}

/** GET /catalogue/{asset}; an unknown name is a 404 (the gateway turns the throw into problem+json). */
export function sendCatalogueAsset(res: ServerResponse, name: unknown): void {
  const asset = typeof name === "string" && Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!asset) throw new HubError("HUB_ERR_ROUTE_NOT_FOUND", `The catalogue page has no asset ${String(name)}`);
  res.writeHead(200, { "Content-Type": asset.type, "Content-Length": asset.body.length, "Cache-Control": ASSET_CACHE, "X-Content-Type-Options": "nosniff" });
  res.end(asset.body);
}
