/**
 * The catalogue for people: GET /v1/catalogue (public, paged, searched) and the /catalogue
 * page in a real (headless) Chromium. A service registered a moment before is listed, found
 * by search as one types (the others hidden), readable without JavaScript, with the figures
 * the JSON gives; a provider's title holding markup is shown as text; absurd searches are
 * refused or find nothing, at once.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chromium, type Browser, type Page } from "playwright-core";
import { ensureChromium, HEADLESS_ARGS } from "../../ops/stack/chromium";
import { shownFigures } from "../../gateway/catalogue-page";
import type { CatalogueEntry } from "../../catalogue/catalogue-entries";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";
import { closeSuiteDb, freshCode, granted, rawRequest, registered, SUITE_CLIENT, ZHANG } from "../support/catalogue";

/** Waits (up to 15 s) until `done` says so. */
async function until(done: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 15_000; !(await done()); await new Promise((r) => setTimeout(r, 100)))
    if (Date.now() > deadline) throw new Error("the catalogue's figures did not come within 15 s");
}

/** A provider subsystem of this run's own: searching its member code finds this run's services only. */
const MEMBER = `m${randomBytes(4).toString("hex")}`;
const PROVIDER = `LOCAL/GOV/${MEMBER}/page-registry`;
const XSS_TITLE = `Evil <script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & "quotes"`;
const [fresh, evil] = [freshCode("fresh"), freshCode("evil")];
const FRESH_TITLE = `Residents lookup ${fresh}`;

const withTitle = (title: string) =>
  PERSONS_DOCUMENT.replace("info: { title: Population registry, version: 1.0.0 }", `info: { title: ${JSON.stringify(title)}, version: 1.0.0 }`);

type Page_ = { items: CatalogueEntry[]; next: string | null };

describe("the catalogue for people", () => {
  let hub: TestNode;
  let provider: Provider;
  let browser: Browser;
  let freshId: string;
  let evilId: string;
  const requested: string[] = [];
  const consoleErrors: string[] = [];

  const listing = async (query: string) => {
    // Without a token: the catalogue is public (a raw request, which the suite does not sign).
    const res = await rawRequest(hub.url, "GET", `/v1/catalogue${query}`);
    assert.equal(res.status, 200, res.body);
    return { page: JSON.parse(res.body) as Page_, link: res.headers.link };
  };

  before(async () => {
    // Calls counted and written within the test's time, so the page shows counted figures, not "no data";
    // no probe while it compares (a probe between the page and the JSON would change the figures).
    const counting = { HUB_FIGURES_FLUSH_MS: "200", HUB_SERVICE_PROBE_MS: "3600000" };
    [provider, hub] = await Promise.all([startProvider(), startNode("api", { ...clusterEnv(), ...counting })]);
    freshId = await registered(hub.url, { code: fresh, subsystem: PROVIDER, baseUrl: provider.url, openapi: withTitle(FRESH_TITLE) });
    evilId = await registered(hub.url, { code: evil, subsystem: PROVIDER, baseUrl: provider.url, openapi: withTitle(XSS_TITLE) });
    await granted(hub.url, SUITE_CLIENT, freshId, ["identity-verification"]);
    for (const person of [ZHANG, ZHANG, "110101199001010012"]) {
      const res = await fetch(`${hub.url}/r1/${freshId}/persons/${person}`, { headers: { "data-purpose": "identity-verification" } });
      assert.ok(res.status === 200 || res.status === 404, `${res.status} ${await res.text()}`);
    }
    await until(async () => {
      const { page } = await listing(`?q=${fresh}`);
      const week = page.items[0]?.figures.last7Days;
      return week?.completion.total === 3;
    });
    const executablePath = await ensureChromium((line) => console.log(`[catalogue-page.test] ${line}`));
    browser = await chromium.launch({ executablePath, args: HEADLESS_ARGS });
  });
  after(async () => {
    await browser?.close();
    await hub?.stop();
    await provider?.close();
    await closeSuiteDb();
  });

  const watch = (page: Page) => {
    page.on("request", (r) => requested.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
  };

  test("GET /v1/catalogue lists the service registered a moment before, public, with provider, operations, purposes, links and figures", async () => {
    const { page } = await listing(`?q=${fresh}`);
    assert.deepEqual(
      page.items.map((e) => e.id),
      [freshId],
    );
    const entry = page.items[0]!;
    assert.equal(entry.kind, "service");
    assert.equal(entry.title, FRESH_TITLE);
    assert.deepEqual(entry.provider, { id: PROVIDER, name: "page-registry" });
    assert.deepEqual(entry.purposes, ["identity-verification"], "no x-purposes in the document: the purposes granted");
    assert.ok(entry.operations.some((o) => o.method === "GET" && o.path === "/persons/{idNumber}"));
    assert.equal(entry.links.openapi, `/r1/${PROVIDER}/getOpenAPI?serviceCode=${fresh}`);
    for (const window of [entry.figures.last7Days, entry.figures.last30Days]) {
      assert.ok(window.completion.rate === null || (window.completion.rate >= 0 && window.completion.rate <= 1));
      if (window.completion.total === 0) assert.equal(window.completion.rate, null, "nothing counted is no data, not 0 % or 100 %");
    }
    // The hub's linkage types are there, provided by the hub, pointing at /docs.
    const linkages = (await listing(`?q=linkage%2Feid-issuance`)).page.items;
    assert.equal(linkages[0]?.id, "linkage/eid-issuance");
    assert.deepEqual(linkages[0]?.provider, { id: "hub", name: "Linkage Hub" });
    assert.equal(linkages[0]?.links.docs, "/docs");
    assert.ok(linkages[0]?.operations.some((o) => o.path === "/v1/linkages/eid-issuances"));
  });

  test("GET /v1/catalogue pages by cursor, with a Link; a made-up cursor is a 404", async () => {
    const first = await listing(`?q=${MEMBER}&limit=1`);
    assert.equal(first.page.items.length, 1);
    assert.ok(first.page.next);
    assert.match(String(first.link), /rel="next"/);
    const second = await listing(`?q=${MEMBER}&limit=1&cursor=${first.page.next}`);
    assert.deepEqual([first.page.items[0]!.id, second.page.items[0]!.id].sort(), [freshId, evilId].sort());
    assert.equal(second.page.next, null);
    const other = await rawRequest(hub.url, "GET", `/v1/catalogue?q=other&limit=1&cursor=${first.page.next}`);
    assert.equal(other.status, 404, "a cursor of another search names no page");
    const made = await rawRequest(hub.url, "GET", `/v1/catalogue?cursor=AAAAAAAAAAAAAAAAAAAA`);
    assert.equal(made.status, 404);
  });

  test("the page reads without JavaScript: listed, the search a GET form, others hidden, markup escaped", async () => {
    const res = await fetch(`${hub.url}/catalogue`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(
      res.headers.get("content-security-policy"),
      "default-src 'self'; img-src 'self' data:; style-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    const html = await res.text();
    assert.doesNotMatch(html, /https?:\/\//, "the page names no other host");
    assert.ok(html.includes(`data-id="${freshId}" `), "the new service is listed");
    assert.ok(!html.includes("<script>window.__pwned"), "a provider's markup is never markup here");
    assert.ok(
      html.includes("Evil &lt;script&gt;window.__pwned = 1&lt;/script&gt;&lt;img src=x onerror=&quot;window.__pwned = 2&quot;&gt; &amp; &quot;quotes&quot;"),
    );
    assert.match(html, /<form method="get" action="\/catalogue" role="search">/);
    assert.match(html, /<label for="q">/);

    const found = await (await fetch(`${hub.url}/catalogue?q=${fresh}`)).text();
    assert.match(found, new RegExp(`data-id="${freshId}" data-search="[^"]*">`), "found: shown");
    assert.match(found, new RegExp(`data-id="${evilId}" data-search="[^"]*" hidden>`), "not found: hidden");
    assert.match(found, /data-id="linkage\/eid-issuance" data-search="[^"]*" hidden>/);
    assert.match(found, /<p id="count" aria-live="polite">1 entry shown<\/p>/);

    for (const [asset, type] of [
      ["catalogue.js", /^text\/javascript/],
      ["catalogue.css", /^text\/css/],
    ] as const) {
      const a = await fetch(`${hub.url}/catalogue/${asset}`);
      assert.equal(a.status, 200);
      assert.match(a.headers.get("content-type") ?? "", type);
    }
    assert.equal((await fetch(`${hub.url}/catalogue/nope.js`)).status, 404);
  });

  test("in Chromium: listed, found as one types (others hidden), its figures those of the JSON, a title with <script> shown as text", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    watch(page);
    await page.goto(`${hub.url}/catalogue`, { waitUntil: "load" });
    assert.equal(await page.title(), "Service catalogue · Linkage Hub");
    const item = (id: string) => page.locator(`#entries > li[data-id="${id}"]`);
    assert.ok(await item(freshId).isVisible(), "the service registered a moment before is listed");
    assert.ok(await item("linkage/eid-issuance").isVisible());

    await page.locator("#q").pressSequentially(fresh.slice(0, 8), { delay: 10 });
    await page.locator("#q").fill(fresh);
    await page.locator("#q").dispatchEvent("input");
    assert.ok(await item(freshId).isVisible(), "search finds it");
    assert.ok(!(await item(evilId).isVisible()), "and hides the others");
    assert.ok(!(await item("linkage/eid-issuance").isVisible()));
    assert.equal(await page.locator("#count").textContent(), "1 entry shown");

    // By provider (this run's member code) and by purpose.
    await page.locator("#q").fill(MEMBER);
    assert.ok((await item(freshId).isVisible()) && (await item(evilId).isVisible()));
    await page.locator("#q").fill(`${MEMBER} identity-verification`);
    assert.ok((await item(freshId).isVisible()) && !(await item(evilId).isVisible()));

    const { page: json } = await listing(`?q=${fresh}`);
    const entry = json.items[0]!;
    const shown = async (key: string) => (await item(freshId).locator(`td[data-figure="${key}"]`).textContent())?.trim();
    assert.equal(entry.figures.last7Days.completion.total, 3, "the page is compared with counted figures");
    const [week, month] = [shownFigures(entry.figures.last7Days), shownFigures(entry.figures.last30Days)];
    for (const key of ["completion", "availability", "latency"] as const) {
      assert.equal(await shown(`${key}-7`), week[key], `${key}, 7 days`);
      assert.equal(await shown(`${key}-30`), month[key], `${key}, 30 days`);
    }
    if (entry.figures.last30Days.completion.rate === null) assert.equal(await shown("completion-30"), "no data");

    await page.locator("#q").fill(evil);
    const heading = item(evilId).locator("h2");
    assert.equal((await heading.textContent())?.replace(/service$/, ""), XSS_TITLE, "the title is text");
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned), undefined, "nothing of it ran");

    const origin = new URL(hub.url).origin;
    assert.deepEqual(
      requested.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin),
      [],
      "every request goes to the hub",
    );
    assert.deepEqual(consoleErrors, [], "no script errors and no CSP violations");
    await page.screenshot({ path: "/tmp/catalogue.png", fullPage: false });
    await page.close();
  });

  test("in Chromium without JavaScript: the search form finds it", async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(`${hub.url}/catalogue`, { waitUntil: "load" });
    await page.locator("#q").fill(fresh);
    await Promise.all([page.waitForURL(/\?q=/), page.locator('button[type="submit"]').click()]);
    assert.ok(await page.locator(`#entries > li[data-id="${freshId}"]`).isVisible());
    assert.ok(!(await page.locator(`#entries > li[data-id="${evilId}"]`).isVisible()));
    assert.equal(await page.locator("#q").inputValue(), fresh);
    await context.close();
  });

  test("absurd searches are refused (400) or find nothing, at once", async () => {
    const absurd = ["a".repeat(10_000), "(a+)+$", ".*", "[", "\\", "中文", "العربية", "%00", "%E0%A4%A", "'\"<>"];
    for (const raw of absurd) {
      const q = raw.startsWith("%") ? raw : encodeURIComponent(raw);
      for (const path of ["/v1/catalogue", "/catalogue"]) {
        const started = performance.now();
        const res = await rawRequest(hub.url, "GET", `${path}?q=${q}`);
        const ms = performance.now() - started;
        assert.ok(ms < 2000, `${path}?q=${raw.slice(0, 20)} answered in ${Math.round(ms)} ms`);
        assert.ok([200, 400].includes(res.status), `${path}?q=${raw.slice(0, 20)}: ${res.status}`);
        if (raw.length > 200 || raw === "%00") assert.equal(res.status, 400, `${path}?q=${raw.slice(0, 20)} is refused`);
        if (res.status === 200 && path === "/v1/catalogue") assert.deepEqual((JSON.parse(res.body) as Page_).items, [], `${raw.slice(0, 20)} finds nothing`);
        if (res.status === 200 && path === "/catalogue") assert.match(res.body, /0 entries shown/, `${raw.slice(0, 20)} shows nothing`);
        if (res.status === 400 && path === "/catalogue") assert.match(res.body, /role="alert"/, "the page says why");
      }
    }
  });
});
