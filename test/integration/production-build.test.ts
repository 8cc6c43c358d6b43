/**
 * The production build as the Dockerfile makes and runs it (test/support/dockerfile.ts: this
 * machine has no container engine): `npm run build` in a copy of the checkout, `npm ci
 * --omit=dev` in a directory of its own with the build copied in, then the Dockerfile's CMD,
 * a hub node from dist/ without tsx, against the suite's NATS, Temporal and PostgreSQL.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { builtinModules } from "node:module";
import { promisify } from "node:util";
import { buildImage, type Image } from "../support/dockerfile";
import { clusterEnv, freePort, logDir, post, seedCitizens, settle } from "../support/hub";
import { signRequestsTo } from "../support/partner";
import { spawnManaged, waitFor, type Managed } from "../../ops/stack/processes";

const ROOT = path.resolve(__dirname, "../..");
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

/** Every package a compiled file requires by name (`require("x")`, `require("@x/y/z")`). */
function requiredPackages(dir: string): Set<string> {
  const names = new Set<string>();
  for (const file of fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".js") && !f.endsWith("workflow-bundle.js")))
    for (const [, spec] of fs.readFileSync(path.join(dir, file), "utf8").matchAll(/require\("([^".][^"]*)"\)/g)) {
      const name = spec!.startsWith("@") ? spec!.split("/").slice(0, 2).join("/") : spec!.split("/")[0]!;
      if (!name.startsWith("node:") && !builtinModules.includes(name)) names.add(name);
    }
  return names;
}

describe("production build: the Dockerfile's stages and CMD, without tsx", () => {
  let tmp: string;
  let image: Image;
  let node: Managed;
  let url: string;
  const env = clusterEnv();

  before(async () => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hub-image-"));
    const started = Date.now();
    image = await buildImage(ROOT, tmp);
    console.log(`# image built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${image.ran.join("; ")}`);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const [command, ...args] = image.cmd;
    assert.equal(command, "node");
    // As `docker run -e`: the suite's settings over the image's ENV (HUB_HOST: this machine's loopback).
    const nodeEnv = { ...image.env, ...env, HUB_HOST: "127.0.0.1", HUB_PORT: String(port), HUB_SERVICES: "all", HUB_NODE_ID: `dist-${port}` };
    node = spawnManaged({ name: `dist-node-${port}`, command: process.execPath, args, cwd: image.dir, env: nodeEnv, logDir });
    await waitFor("the Dockerfile's CMD", () => fetch(`${url}/readyz`).then((r) => r.ok), 90_000, node.child, node.logFile);
    signRequestsTo(url);
  });
  after(async () => {
    await node?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("the build holds the compiled hub, the files it reads, and the workflow bundle with the failure converter", () => {
    const dist = path.join(image.dir, "dist");
    for (const file of ["hub/node.js", "ops/cli/main.js", "contracts/openapi.yaml", "contracts/schemas/Problem.json", "hub/migrations/001_linkages.sql"])
      assert.ok(fs.existsSync(path.join(dist, file)), file);
    assert.ok(!fs.existsSync(path.join(dist, "test")), "no tests in the build");
    const bundle = fs.readFileSync(path.join(dist, "workflows/workflow-bundle.js"), "utf8");
    assert.match(bundle, /encodeCommonAttributes: true/, "the hub's failure converter is in the bundle");
  });

  test("production dependencies only: no tsx, and every package the build requires is installed", () => {
    const app = image.dir;
    assert.throws(() => require.resolve("tsx", { paths: [app] }), /Cannot find module/);
    assert.ok(!fs.existsSync(path.join(app, "node_modules/typescript")), "no dev dependencies");
    const missing = [...requiredPackages(path.join(app, "dist"))].filter((name) => {
      if (!(name in pkg.dependencies)) return true;
      return !fs.existsSync(path.join(app, "node_modules", name, "package.json"));
    });
    assert.deepEqual(missing, [], "required by dist/ but not a production dependency");
  });

  test("the node from dist/ answers a REST call, and its worker completes a linkage on the bundled workflow code", async () => {
    const [citizen] = await seedCitizens(1);
    const verified = await post(`${url}/v1/identity-verifications`, { idNumber: citizen!.citizenNo, name: citizen!.fullName });
    assert.equal(verified.status, 200);
    assert.deepEqual(await verified.json(), { match: true });

    const res = await post(`${url}/v1/linkages/eid-issuances`, {
      applicationNo: `APP-DIST-${Date.now()}`,
      idNumber: citizen!.citizenNo,
      name: citizen!.fullName,
    });
    assert.equal(res.status, 202);
    const done = await settle(url + res.headers.get("location"));
    assert.equal(done.status, "COMPLETED", JSON.stringify(done));
    assert.deepEqual(done.stepsDone, ["verify-identity", "issue-eid"]);

    const loaded = fs
      .readFileSync(node.logFile!, "utf8")
      .split("\n")
      .filter((l) => l.includes("workflow code loaded"))
      .map((l) => JSON.parse(l) as { workflowCode: string });
    assert.deepEqual(
      loaded.map((l) => l.workflowCode),
      [path.join(image.dir, "dist/workflows/workflow-bundle.js")],
    );
  });

  test("the CLI's bin runs from the build: partners show over NATS", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["bin/linkage-hub.js", "partners", "show", "suite-partner", "--json"], {
      cwd: image.dir,
      env: { ...process.env, ...env },
    });
    assert.equal((JSON.parse(stdout) as { id: string }).id, "suite-partner");
  });

  test("SIGTERM stops the node cleanly", async () => {
    await node.stop();
    assert.equal(node.child!.exitCode, 0);
  });
});
