/**
 * `npx linkage-hub services` and `access` on the real stack: the CLI runs as a child process
 * against a hub node over the suite's NATS, registers the test's provider from its OpenAPI
 * document (a YAML file, a JSON URL), updates it through oasdiff's verdict, grants and revokes
 * access, and calls through the hub's gateway show each change taking effect.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import YAML from "yaml";
import { ensureBinary } from "../../ops/stack/provision";
import { spawnManaged, tcpReachable, waitFor, type Managed } from "../../ops/stack/processes";
import { clusterEnv, freePort, logDir, startNode, type TestNode } from "../support/hub";
import { SUITE_PARTNER } from "../support/partner";
import { PERSONS_DOCUMENT, startProvider, type Provider } from "../support/provider";

const ROOT = path.resolve(__dirname, "../..");
const env = clusterEnv();
const tag = randomBytes(3).toString("hex");
const PROVIDER = `LOCAL/GOV/50000002/population-registry`;
const SERVICE = `${PROVIDER}/persons-${tag}`;
const FROM_URL = `${PROVIDER}/persons-json-${tag}`;
const CLIENT = `LOCAL/GOV/${SUITE_PARTNER}/default`;
/** The provider's token, in the hub node's environment only: the CLI names it, never carries it. */
const TOKEN = randomBytes(12).toString("hex");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "catalogue-cli-"));

/** Version 1.1.0: one operation more (compatible). */
const V1_1 = `${PERSONS_DOCUMENT.replace("version: 1.0.0", "version: 1.1.0")}  /version:
    get:
      operationId: version
      responses:
        "200": { description: The version, content: { application/json: { schema: { type: object } } } }
`;
/** Version 2.0.0: the notes operation removed (breaking). */
const V2 = V1_1.replace("version: 1.1.0", "version: 2.0.0").replace(/ {2}\/persons\/\{idNumber\}\/notes:[\s\S]*?(?= {2}\/status:)/, "");
/** A valid document of about 1.5 MB, more than NATS's default max_payload of 1 MB. */
const LARGE = PERSONS_DOCUMENT.replace(
  "info: { title: Population registry, version: 1.0.0 }",
  `info:\n  title: Population registry\n  version: 1.0.0\n  description: ${"a".repeat(1_500_000)}`,
);

let hub: TestNode;
let provider: Provider;
let docs: http.Server;
let docsUrl: string;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `bin/linkage-hub.js` as an operator runs it, with the hub node's NATS_URL and HUB_NAMESPACE. */
function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, "bin/linkage-hub.js"), ...args], {
      cwd: ROOT,
      env: { ...process.env, NATS_URL: process.env.NATS_URL, HUB_NAMESPACE: env.HUB_NAMESPACE, ...extraEnv },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("close", (status) => (clearTimeout(timer), resolve({ status, stdout, stderr })));
  });
}

/** Runs the CLI and expects exit 0; answers its stdout. */
async function ok(args: string[]): Promise<string> {
  const run = await cli(args);
  assert.equal(run.status, 0, `linkage-hub ${args.join(" ")}:\n${run.stdout}${run.stderr}`);
  return run.stdout;
}

async function okJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, "--json"])) as T;
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

/** A call through the hub's gateway to the service's /status, as the suite's partner. */
const callStatus = (service = SERVICE) => fetch(`${hub.url}/r1/${service}/status`, { headers: { "x-govstack-client": CLIENT } });

/** The status of the call, once it is `expected` (a change reaches the gateway within the second). */
async function statusBecomes(expected: number): Promise<void> {
  let last = 0;
  for (let i = 0; i < 30; i++) {
    const res = await callStatus();
    last = res.status;
    await res.arrayBuffer();
    if (last === expected) return;
    await sleep(100);
  }
  assert.equal(last, expected);
}

before(async () => {
  provider = await startProvider();
  hub = await startNode("api", { ...env, POPULATION_TOKEN: TOKEN });
  const served: Record<string, string> = { "/persons.json": JSON.stringify(YAML.parse(PERSONS_DOCUMENT), null, 2) };
  docs = http.createServer((req, res) => {
    const body = served[req.url ?? ""];
    if (!body) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => docs.listen(0, "127.0.0.1", resolve));
  docsUrl = `http://127.0.0.1:${(docs.address() as AddressInfo).port}`;
});

after(async () => {
  await hub?.stop();
  await provider?.close();
  await new Promise((resolve) => docs?.close(resolve));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("help", () => {
  test("the top level names services and access; each subcommand has its --help", async () => {
    const top = await ok(["--help"]);
    assert.match(top, /^ {2}services /m);
    assert.match(top, /^ {2}access /m);
    for (const sub of ["add", "update", "list", "show", "disable", "enable", "remove"]) {
      const text = await ok(["services", sub, "--help"]);
      assert.match(text, new RegExp(`npx linkage-hub services ${sub}`), sub);
    }
    for (const sub of ["grant", "revoke", "list"]) assert.match(await ok(["access", sub, "--help"]), new RegExp(`npx linkage-hub access ${sub}`), sub);
    assert.match(await ok(["services", "--help"]), /update +a new version/);
    const bare = await cli(["access"]);
    assert.equal(bare.status, 2);
    assert.match(bare.stdout, /grant/);
  });
});

describe("services", () => {
  test("add from a YAML file: the answer names the service, its methods and only the credentials' reference", async () => {
    const added = await okJson<{ id: string; version: string; auth: string; methods: unknown[]; disabled: boolean }>([
      "services",
      "add",
      SERVICE,
      "--openapi",
      file("persons.yaml", PERSONS_DOCUMENT),
      "--base-url",
      provider.url,
      "--auth",
      "bearer:env:POPULATION_TOKEN",
      "--timeout-ms",
      "5000",
    ]);
    assert.equal(added.id, SERVICE);
    assert.equal(added.version, "1.0.0");
    assert.equal(added.auth, "bearer:env:POPULATION_TOKEN");
    assert.equal(added.methods.length, 4);
    assert.equal(added.disabled, false);
  });

  test("add from a local URL (JSON), in text", async () => {
    const out = await ok(["services", "add", FROM_URL, "--openapi", `${docsUrl}/persons.json`, "--base-url", provider.url]);
    assert.match(out, new RegExp(`^Added ${FROM_URL}: Population registry 1\\.0\\.0, 4 methods`));
    assert.match(out, /access grant --client/);
  });

  test("a second add of the same id is the hub's refusal, exit 1", async () => {
    const run = await cli(["services", "add", SERVICE, "--openapi", file("again.yaml", PERSONS_DOCUMENT), "--base-url", provider.url]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /registered already/);
  });

  test("list and show, in JSON and in text", async () => {
    const list = await okJson<{ id: string }[]>(["services", "list"]);
    assert.ok(list.some((s) => s.id === SERVICE) && list.some((s) => s.id === FROM_URL), JSON.stringify(list));
    const table = await ok(["services", "list"]);
    assert.match(table, /^ID +VERSION +STATE +METHODS +BASE URL +AUTH$/m);
    assert.match(table, new RegExp(`^${SERVICE} +1\\.0\\.0 +active +4 +${provider.url} +bearer:env:POPULATION_TOKEN$`, "m"));
    const shown = await okJson<{ id: string; timeoutMs: number }>(["services", "show", SERVICE]);
    assert.equal(shown.id, SERVICE);
    assert.equal(shown.timeoutMs, 5000);
    const text = await ok(["services", "show", SERVICE]);
    assert.match(text, /^auth: +bearer:env:POPULATION_TOKEN$/m);
    assert.match(text, /^ {2}GET +\/persons\/\{idNumber\} +\(personal data/m);
    assert.match(text, /^ {2}GET +\/status$/m);
  });

  test("a document with problems: each printed with its JSON pointer, exit 1, nothing registered", async () => {
    const broken = PERSONS_DOCUMENT.replace("operationId: status\n", "operationId: status\n      parameters:\n        - { name: q, in: nowhere }\n").replace(
      "schema: { type: object, required: [text]",
      'schema: { $ref: "#/components/schemas/Missing", type: object, required: [text]',
    );
    const id = `${PROVIDER}/broken-${tag}`;
    const run = await cli(["services", "add", id, "--openapi", file("broken.yaml", broken), "--base-url", provider.url]);
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /^The OpenAPI document is not taken: .*more problems, listed below\)$/m);
    assert.match(run.stderr, /^ {2}\/paths\/~1status\/get\/parameters\/0\/in: must be "path", "query", "header" or "cookie"/m);
    assert.match(run.stderr, /^ {2}\/paths\/~1persons~1\{idNumber\}~1notes\/post\/requestBody\/content\/application~1json\/schema\/\$ref: /m);
    const json = await cli(["services", "add", id, "--openapi", path.join(dir, "broken.yaml"), "--base-url", provider.url, "--json"]);
    assert.equal(json.status, 1);
    const error = (JSON.parse(json.stdout) as { error: { type: string; errors: { pointer: string }[] } }).error;
    assert.equal(error.type, "HUB_ERR_REQUEST_UNPROCESSABLE");
    assert.ok(error.errors.length >= 2);
    const shown = await cli(["services", "show", id]);
    assert.equal(shown.status, 1);
    assert.match(shown.stderr, /No service .* in the catalogue/);
  });

  test("an over-size file is refused before anything is read or sent", async () => {
    const big = file("big.yaml", `${PERSONS_DOCUMENT}# ${"x".repeat(2 * 1024 * 1024)}\n`);
    const run = await cli(["services", "add", `${PROVIDER}/big-${tag}`, "--openapi", big, "--base-url", provider.url]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /big\.yaml is \d+ bytes; a service's OpenAPI document may be at most 2097152 bytes/);
  });

  test("sources and arguments the CLI does not take are usage errors (exit 2); a secret given as --auth is not echoed", async () => {
    const yaml = path.join(dir, "persons.yaml");
    const plainHttp = await cli(["services", "add", `${PROVIDER}/x-${tag}`, "--openapi", "http://example.com/api.yaml", "--base-url", provider.url]);
    assert.equal(plainHttp.status, 2);
    assert.match(plainHttp.stderr, /http:\/\/ is taken only from 127\.0\.0\.1 or localhost; use https:\/\//);
    const fileUrl = await cli(["services", "add", `${PROVIDER}/x-${tag}`, "--openapi", `file://${yaml}`, "--base-url", provider.url]);
    assert.equal(fileUrl.status, 2);
    const secret = await cli(["services", "add", `${PROVIDER}/x-${tag}`, "--openapi", yaml, "--base-url", provider.url, "--auth", "bearer:s3cr3t-t0ken"]);
    assert.equal(secret.status, 2);
    assert.match(secret.stderr, /--auth takes a reference/);
    assert.doesNotMatch(secret.stdout + secret.stderr, /s3cr3t/);
    const badId = await cli(["services", "show", "LOCAL/GOV/only-three"]);
    assert.equal(badId.status, 2);
    assert.match(badId.stderr, /not a service id/);
  });

  test("a forbidden base URL is the hub's refusal, exit 1", async () => {
    const run = await cli([
      "services",
      "add",
      `${PROVIDER}/metadata-${tag}`,
      "--openapi",
      path.join(dir, "persons.yaml"),
      "--base-url",
      "http://169.254.169.254",
    ]);
    assert.equal(run.status, 1);
    assert.match(run.stderr, /The base URL http:\/\/169\.254\.169\.254 is refused: .*link-local/);
  });
});

describe("access, and calls through the hub", () => {
  test("grant with --methods; a method the document lacks is refused with its pointer", async () => {
    const refused = await cli(["access", "grant", "--client", CLIENT, "--service", SERVICE, "--methods", "GET /status,GET /nope", "--purposes", "all"]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /has no GET \/nope/);
    assert.match(refused.stderr, /^ {2}\/methods\/1: is not a method of the service's document$/m);
    assert.equal((await callStatus()).status, 403, "nothing granted by a refused grant");
    const out = await ok([
      "access",
      "grant",
      "--client",
      CLIENT,
      "--service",
      SERVICE,
      "--methods",
      "get /status, POST /persons/{idNumber}/notes",
      "--purposes",
      "all",
    ]);
    assert.match(out, new RegExp(`^Granted ${CLIENT} GET /status, POST /persons/\\{idNumber\\}/notes of ${SERVICE}, for all\\.$`, "m"));
    await statusBecomes(200);
    assert.equal(provider.received.at(-1)?.headers.authorization, `Bearer ${TOKEN}`, "the hub sends the credentials the reference names");
    assert.doesNotMatch((await ok(["services", "show", SERVICE])) + (await ok(["services", "list", "--json"])), new RegExp(TOKEN));
  });

  test("list, in JSON and text", async () => {
    const grants = await okJson<{ client: string; method: string; path: string; purposes: string[] }[]>(["access", "list", "--service", SERVICE]);
    assert.deepEqual(
      grants.map((g) => `${g.client} ${g.method} ${g.path} ${g.purposes.join(",")}`),
      [`${CLIENT} GET /status all`, `${CLIENT} POST /persons/{idNumber}/notes all`],
    );
    const text = await ok(["access", "list", "--client", CLIENT, "--service", SERVICE]);
    assert.match(text, /^CLIENT +SERVICE +OPERATION +PURPOSES +GRANTED$/m);
    assert.match(text, new RegExp(`^${CLIENT} +${SERVICE} +GET /status +all +\\d{4}-`, "m"));
    const unknownPurpose = await cli(["access", "grant", "--client", CLIENT, "--service", SERVICE, "--purposes", "curiosity"]);
    assert.equal(unknownPurpose.status, 2);
    assert.match(unknownPurpose.stderr, /no purpose curiosity/);
  });

  test("revoke: the call is refused; granted again: allowed", async () => {
    const out = await ok(["access", "revoke", "--client", CLIENT, "--service", SERVICE, "--methods", "GET /status"]);
    assert.match(out, /Revoked .* GET \/status/);
    assert.match(out, /POST \/persons\/\{idNumber\}\/notes/, "the other right stays");
    await statusBecomes(403);
    const refused = await callStatus();
    assert.equal(((await refused.json()) as { type: string }).type, "/problems/forbidden");
    await ok(["access", "grant", "--client", CLIENT, "--service", SERVICE, "--methods", "GET /status", "--purposes", "all"]);
    await statusBecomes(200);
  });
});

describe("services update", () => {
  test("a compatible change is taken, with the version change said", async () => {
    const out = await ok(["services", "update", SERVICE, "--openapi", file("v1.1.yaml", V1_1)]);
    assert.match(out, new RegExp(`^Updated ${SERVICE}: Population registry 1\\.0\\.0 → 1\\.1\\.0\\.$`, "m"));
    assert.match(out, /No breaking change/);
    assert.equal((await okJson<{ version: string; methods: unknown[] }>(["services", "show", SERVICE])).methods.length, 5);
  });

  test("a breaking change is listed and refused; with --allow-breaking it is taken, and rights on the dropped operation go", async () => {
    const v2 = file("v2.yaml", V2);
    const refused = await cli(["services", "update", SERVICE, "--openapi", v2]);
    assert.equal(refused.status, 1, refused.stdout + refused.stderr);
    assert.match(refused.stderr, /not updated \(1\.1\.0 → 2\.0\.0\): 1 breaking change/);
    assert.match(refused.stderr, /^ {2}POST \/persons\/\{idNumber\}\/notes: .*\[api-path-removed-without-deprecation\]$/m);
    assert.match(refused.stderr, /--allow-breaking/);
    assert.equal((await okJson<{ version: string }>(["services", "show", SERVICE])).version, "1.1.0");

    const taken = await okJson<{
      updated: boolean;
      from: string;
      to: string;
      breaking: { id: string }[];
      droppedRights: { client: string; method: string; path: string }[];
    }>(["services", "update", SERVICE, "--openapi", v2, "--allow-breaking"]);
    assert.deepEqual([taken.updated, taken.from, taken.to], [true, "1.1.0", "2.0.0"]);
    assert.deepEqual(
      taken.breaking.map((c) => c.id),
      ["api-path-removed-without-deprecation"],
    );
    assert.deepEqual(
      taken.droppedRights.map((g) => `${g.client} ${g.method} ${g.path}`),
      [`${CLIENT} POST /persons/{idNumber}/notes`],
    );
    const grants = await okJson<{ method: string; path: string }[]>(["access", "list", "--client", CLIENT, "--service", SERVICE]);
    assert.deepEqual(
      grants.map((g) => `${g.method} ${g.path}`),
      ["GET /status"],
    );
  });
});

describe("disable, enable, remove", () => {
  test("a disabled service's calls are refused, an enabled one's taken", async () => {
    assert.match(await ok(["services", "disable", SERVICE]), /is disabled: its calls are refused/);
    await statusBecomes(403);
    const res = await callStatus();
    assert.equal(((await res.json()) as { type: string }).type, "/problems/service-disabled");
    assert.equal((await okJson<{ disabled: boolean }>(["services", "enable", SERVICE])).disabled, false);
    await statusBecomes(200);
  });

  test("remove takes the service and its rights; a second remove says there was nothing", async () => {
    assert.match(await ok(["services", "remove", SERVICE]), new RegExp(`^Removed ${SERVICE} and every access right on it\\.$`, "m"));
    await statusBecomes(404);
    assert.deepEqual(await okJson(["access", "list", "--service", SERVICE]), []);
    assert.match(await ok(["services", "remove", SERVICE]), /nothing removed/);
    await ok(["services", "remove", FROM_URL]);
  });
});

describe("messages of NATS's size", () => {
  test("a 1.5 MB document travels on the stack's NATS (max_payload 8MB)", async () => {
    const id = `${PROVIDER}/large-${tag}`;
    const added = await okJson<{ id: string }>(["services", "add", id, "--openapi", file("large.yaml", LARGE), "--base-url", provider.url]);
    assert.equal(added.id, id);
    await ok(["services", "remove", id]);
  });

  test("a NATS with the default max_payload: the CLI says how large the document is and what to raise", async () => {
    const bin = await ensureBinary("nats-server", () => {});
    const port = await freePort();
    const nats: Managed = spawnManaged({ name: `nats-default-${port}`, command: bin, args: ["-a", "127.0.0.1", "-p", String(port)], logDir });
    try {
      await waitFor("nats-server", () => tcpReachable("127.0.0.1", port), 15_000, nats.child);
      const run = await cli(["services", "add", `${PROVIDER}/large-${tag}`, "--openapi", path.join(dir, "large.yaml"), "--base-url", provider.url], {
        NATS_URL: `nats://127.0.0.1:${port}`,
      });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /the document is \d{7} bytes, .* more than the 1048576 bytes the NATS server at nats:\/\/127\.0\.0\.1:\d+ takes .*max_payload/);
    } finally {
      await nats.stop();
    }
  });

  test("with no hub in the namespace, the CLI asks whether the hub is running", async () => {
    const run = await cli(["services", "list"], { HUB_NAMESPACE: `nobody-${tag}` });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /no running hub answers at .*: is the hub running\?/);
  });
});
