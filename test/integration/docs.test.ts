/**
 * The API reference at /docs in a real (headless) Chromium: it loads from the hub alone,
 * lists every operation of the contract, and sends an example request from the page.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { chromium, type Browser, type Page } from "playwright-core";
import { operations } from "../../contracts";
import { ensureChromium, HEADLESS_ARGS } from "../../ops/stack/chromium";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { ensureTestPartner, TEST_PARTNER } from "../support/partner";

const SCREENSHOT = "/tmp/docs.png";

describe("API reference at /docs", () => {
  const nodes: TestNode[] = [];
  let hub: string;
  let browser: Browser;
  let page: Page;
  const requested: string[] = [];
  const consoleErrors: string[] = [];

  before(async () => {
    const env = clusterEnv();
    // The adapter answers the example identity verification sent from the page.
    nodes.push(await startNode("civil-registry", env));
    nodes.push(await startNode("api", env));
    hub = nodes[1]!.url;
    const executablePath = await ensureChromium((line) => console.log(`[docs.test] ${line}`));
    browser = await chromium.launch({
      executablePath,
      args: HEADLESS_ARGS,
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("request", (r) => requested.push(r.url()));
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
  });
  after(async () => {
    await browser?.close();
    for (const n of nodes.reverse()) await n.stop();
  });

  test("the page and its assets are served with their types, CSP and caching", async () => {
    const pageRes = await fetch(`${hub}/docs`);
    assert.equal(pageRes.status, 200);
    assert.match(pageRes.headers.get("content-type") ?? "", /^text\/html/);
    assert.equal(pageRes.headers.get("content-security-policy"), "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'");
    const html = await pageRes.text();
    assert.match(html, /<title>Linkage Hub API<\/title>/);
    assert.doesNotMatch(html, /https?:\/\//, "the page names no other host");
    for (const [asset, type] of [
      ["swagger-ui.css", /^text\/css/],
      ["swagger-ui-bundle.js", /^text\/javascript/],
      ["docs.js", /^text\/javascript/],
    ] as const) {
      const res = await fetch(`${hub}/docs/${asset}`);
      assert.equal(res.status, 200, asset);
      assert.match(res.headers.get("content-type") ?? "", type, asset);
      assert.equal(res.headers.get("cache-control"), "public, max-age=3600", asset);
      assert.ok((await res.arrayBuffer()).byteLength > 0, asset);
    }
    const docsJs = await (await fetch(`${hub}/docs/docs.js`)).text();
    assert.match(docsJs, /url: "\/openapi\.json"/);
  });

  test("an unknown asset is a 404 problem+json", async () => {
    const res = await fetch(`${hub}/docs/nope.js`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get("content-type") ?? "", /^application\/problem\+json/);
    const problem = (await res.json()) as Record<string, unknown>;
    assert.equal(problem.status, 404);
    assert.equal(problem.instance, "/docs/nope.js");
    assert.equal(problem.requestId, res.headers.get("x-request-id"));
  });

  test("the page loads from the hub alone and lists every operation of the contract", async (t) => {
    await page.goto(`${hub}/docs`, { waitUntil: "load" });
    await page.locator(".opblock").first().waitFor({ timeout: 30_000 });
    assert.equal(await page.title(), "Linkage Hub API");
    const boxes = await page.locator(".errors-wrapper h4").allTextContents();
    assert.ok(!boxes.some((h) => /error/i.test(h)), `Swagger UI reports no errors in the document (boxes: ${boxes.join(", ")})`);

    const shown = await page.locator(".opblock").evaluateAll((blocks) =>
      blocks.map((b) => {
        const method = b.querySelector(".opblock-summary-method")?.textContent?.trim() ?? "";
        const path = b.querySelector(".opblock-summary-path")?.getAttribute("data-path") ?? "";
        return `${method.toUpperCase()} ${path}`;
      }),
    );
    const expected = operations().map((op) => `${op.method} ${op.path}`);
    assert.deepEqual([...shown].sort(), [...expected].sort());
    const summaries = await page.locator(".opblock-summary-description").allTextContents();
    for (const op of operations() as { summary?: string }[]) if (op.summary) assert.ok(summaries.includes(op.summary), `summary "${op.summary}" shown`);

    const origin = new URL(hub).origin;
    t.diagnostic(`the page requested: ${requested.map((u) => u.replace(origin, "")).join(" ")}`);
    const foreign = requested.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], "every request goes to the hub's own origin");
    for (const asset of ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/docs.js", "/openapi.json"])
      assert.ok(requested.includes(origin + asset), `the page fetched ${asset}`);
    assert.deepEqual(consoleErrors, [], "no script errors and no CSP violations");
  });

  test("an example request is sent from the page and its live answer shown", async () => {
    const op = page.locator(".opblock-post").filter({ has: page.locator('.opblock-summary-path[data-path="/v1/identity-verifications"]') });
    await op.locator(".opblock-summary").first().click();
    const tryItOut = op.locator("button.try-out__btn", { hasText: "Try it out" });
    // tryItOutEnabled opens the form in "Try it out" mode already; click it where it is offered.
    if (await tryItOut.isVisible()) await tryItOut.click();
    // A partner authorises first, as the page explains: client credentials in the Authorize dialog.
    await ensureTestPartner();
    await page.locator(".auth-wrapper button.authorize").click();
    await page.locator("#client_id_clientCredentials").fill(TEST_PARTNER.id);
    await page.locator("#client_secret_clientCredentials").fill(TEST_PARTNER.secret);
    const token = page.waitForResponse((r) => r.url() === `${hub}/v1/oauth/token`);
    await page.locator(".modal-ux button.modal-btn.auth.authorize").click();
    assert.equal((await token).status(), 200);
    await page.locator(".modal-ux button.btn-done").click();
    const sent = page.waitForRequest((r) => r.url() === `${hub}/v1/identity-verifications` && r.method() === "POST");
    await op.locator("button.execute").click();
    const request = await sent;
    assert.match(request.headers().authorization ?? "", /^Bearer /, "the page sends the token");
    const verify = operations().find((o) => o.method === "POST" && o.path === "/v1/identity-verifications")!;
    const examples = (verify.requestBody?.content["application/json"] as { examples?: Record<string, { value: unknown }> }).examples ?? {};
    assert.deepEqual(JSON.parse(request.postData() ?? "null"), Object.values(examples)[0]?.value, "the contract's first example is sent");

    const live = op.locator(".live-responses-table .response");
    await live.first().waitFor({ timeout: 30_000 });
    assert.equal((await live.locator(".response-col_status").first().textContent())?.trim(), "200");
    const body = (await live.locator(".response-col_description").first().textContent()) ?? "";
    assert.match(body, /"match"\s*:\s*true/);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const origin = new URL(hub).origin;
    assert.deepEqual(
      requested.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin),
      [],
    );
    assert.deepEqual(consoleErrors, []);
  });
});
