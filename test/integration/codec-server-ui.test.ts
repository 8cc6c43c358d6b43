/**
 * The Temporal UI in a real (headless) Chromium with the hub's codec server: an operator who
 * signed in at /codec/ sees a marriage linkage's applicants on its workflow page; a browser
 * without the sign-in sees ciphertext, its codec requests refused.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { chromium, type Browser, type BrowserContext, type Page, type Request } from "playwright-core";
import { ensureChromium, HEADLESS_ARGS } from "../../ops/stack/chromium";
import { ensureBinary } from "../../ops/stack/provision";
import { addOperator } from "../../operators/registry";
import { clusterEnv, json, post, settle, startNode, type TestNode } from "../support/hub";
import { suiteDb } from "../support/partner";

interface Person {
  citizenNo: string;
  fullName: string;
  sex: "MALE" | "FEMALE";
}

const UI = `http://127.0.0.1:${process.env.TEMPORAL_UI_PORT}`;
const SCREENSHOT = "/tmp/codec-server-ui.png";
const nodes: TestNode[] = [];
let api: string;
let browser: Browser;
let workflowPage: string;
let him: Person;
let workflowId: string;

function describeRun(workflowId: string, bin: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(bin, ["workflow", "describe", "-w", workflowId, "--address", process.env.TEMPORAL_ADDRESS!, "-o", "json"], (err, stdout) =>
      err ? reject(err) : resolve((JSON.parse(stdout) as { workflowExecutionInfo: { execution: { runId: string } } }).workflowExecutionInfo.execution.runId),
    ),
  );
}

before(async () => {
  const env = clusterEnv();
  nodes.push(await startNode("civil-registry", env), await startNode("linkages,worker", env), await startNode("api", env));
  api = nodes[2]!.url;
  const people = (await json(await post(`${process.env.CIVIL_REGISTRY_URL}/_sandbox/citizens`, { count: 20, minAge: 30, maxAge: 60 }))) as unknown as Person[];
  him = people.find((p) => p.sex === "MALE")!;
  const her = people.find((p) => p.sex === "FEMALE")!;
  const applicationNo = `MR-UI-${Date.now()}`;
  const res = await post(`${api}/v1/linkages/marriages`, { applicationNo, applicants: [him, her].map((p) => ({ idNumber: p.citizenNo, name: p.fullName })) });
  assert.equal(res.status, 202);
  assert.equal((await settle(api + res.headers.get("location"))).status, "COMPLETED");
  workflowId = `marriage-registration:${applicationNo}`;
  const runId = await describeRun(workflowId, await ensureBinary("temporal", () => {}));
  workflowPage = `${UI}/namespaces/default/workflows/${encodeURIComponent(workflowId)}/${runId}/history`;
  browser = await chromium.launch({ executablePath: await ensureChromium(() => {}), args: HEADLESS_ARGS });
});
after(async () => {
  await browser?.close();
  for (const n of nodes.reverse()) await n.stop();
});

/** Decodes the codec server refused for want of an operator's credentials, from the gateway's /metrics. */
async function refusals(): Promise<number> {
  const metrics = await (await fetch(`${api}/metrics`)).text();
  return Number(/^hub_codec_requests_total\{endpoint="decode",outcome="HUB_ERR_OPERATOR_UNAUTHENTICATED"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
}

/**
 * The linkage's workflow page, with the UI's codec settings as an operator sets them (endpoint,
 * cross-origin credentials); `codecAnswers` gets the status of each decode the page asks for.
 */
async function openWorkflow(context: BrowserContext, codecAnswers: number[]): Promise<Page> {
  const page = await context.newPage();
  const isDecode = (r: Request) => r.url().startsWith(`${api}/codec/decode`) && r.method() === "POST";
  page.on("response", (r) => void (isDecode(r.request()) && codecAnswers.push(r.status())));
  await page.goto(`${UI}/namespaces/default/workflows`);
  const settings = { endpoint: `${api}/codec`, includeCredentials: true, overrideRemoteCodecConfiguration: true };
  await page.evaluate(`for (const [k, v] of Object.entries(${JSON.stringify(settings)})) localStorage.setItem(k, JSON.stringify(v))`);
  await page.goto(workflowPage);
  return page;
}

test("an operator signed in at /codec/ sees the applicants in the Temporal UI; a browser without the sign-in does not", async () => {
  const name = `ui-op-${Date.now()}`;
  const { secret } = await addOperator(await suiteDb(), name);

  const operator = await browser.newContext({ httpCredentials: { username: name, password: secret, origin: api } });
  const signIn = await (await operator.newPage()).goto(`${api}/codec/`);
  assert.equal(signIn?.status(), 200);
  assert.match(await signIn!.text(), new RegExp(`Signed in as ${name}`));
  const answers: number[] = [];
  const page = await openWorkflow(operator, answers);
  await page
    .getByText(him.citizenNo)
    .first()
    .waitFor({ timeout: 30_000 })
    .catch(async (err: Error) => {
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      throw new Error(`${err.message}; codec answers ${answers.join(",")}; screenshot ${SCREENSHOT}`);
    });
  assert.ok(answers.length > 0 && answers.every((s) => s === 200), `codec answers: ${answers.join(",")}`);

  const stranger = await browser.newContext();
  // Chromium reports no answer to a credentialed CORS request refused with 401: the hub's count says it was refused.
  const refusedBefore = await refusals();
  const other = await openWorkflow(stranger, []);
  for (const deadline = Date.now() + 30_000; (await refusals()) === refusedBefore && Date.now() < deadline;) await other.waitForTimeout(250);
  assert.ok((await refusals()) > refusedBefore, "the hub refused the stranger's decodes");
  await other.getByText(workflowId).first().waitFor({ timeout: 10_000 });
  await other.waitForTimeout(3000);
  assert.ok(!(await other.locator("body").innerText()).includes(him.citizenNo), "no id number without the sign-in");
  await operator.close();
  await stranger.close();
});
