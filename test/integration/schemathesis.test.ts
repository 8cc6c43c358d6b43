/**
 * Schemathesis (PyPI, in a venv that ops/stack/python-tools.ts creates) against the
 * `/openapi.json` of a running hub node, with its default checks: every operation's
 * responses must match the contract, valid data must be accepted, invalid data refused,
 * and nothing may answer a 5xx. POSTs start real linkages on Temporal and reach the sandbox.
 *
 * Custom formats (resident-id, e164) come from test/schemathesis/hooks.py. To reproduce a
 * run by hand against `npm start`:
 *   cd test/schemathesis && SCHEMATHESIS_HOOKS=hooks \
 *     ~/.cache/linkage-hub/venv-schemathesis-<version>/bin/schemathesis --no-color --config-file schemathesis.toml \
 *     run http://127.0.0.1:3000/openapi.json --max-examples 100 --seed 20261128 --generation-database none
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { ensureSchemathesis } from "../../ops/stack/python-tools";
import { clusterEnv, startNode, type TestNode } from "../support/hub";
import { suiteToken } from "../support/partner";

const HOOKS_DIR = path.resolve(__dirname, "../schemathesis");
// About 20 s on 2 cores at 100; raise it (and vary the seed) to search harder by hand.
const MAX_EXAMPLES = process.env.SCHEMATHESIS_MAX_EXAMPLES ?? "100";
const SEED = process.env.SCHEMATHESIS_SEED ?? "20261128";

function runSchemathesis(exe: string, args: string[]): Promise<{ code: number | null; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, {
      cwd: HOOKS_DIR, // the hooks module is imported by name from here, as schemathesis' docs do it
      env: {
        ...process.env,
        SCHEMATHESIS_HOOKS: "hooks",
        // Hypothesis' own files (Unicode tables, constants) go with the test state, not the sources.
        HYPOTHESIS_STORAGE_DIRECTORY: path.join(process.env.HUB_DATA_DIR ?? os.tmpdir(), "schemathesis", "hypothesis"),
        PYTHONDONTWRITEBYTECODE: "1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, output, ms: Date.now() - started }));
  });
}

describe("schemathesis against the running hub", { timeout: 600_000 }, () => {
  let node: TestNode;
  let exe: string;

  before(async () => {
    exe = await ensureSchemathesis((line) => console.log(`[schemathesis] ${line}`));
    node = await startNode("all", clusterEnv());
  });
  after(async () => {
    await node?.stop();
  });

  test("finds nothing with its default checks", { timeout: 600_000 }, async () => {
    const args = [
      "--no-color",
      "--config-file",
      "schemathesis.toml",
      "run",
      `${node.url}/openapi.json`,
      "--max-examples",
      MAX_EXAMPLES,
      "--seed",
      SEED,
      // No stored examples from earlier runs: the same seed gives the same run.
      "--generation-database",
      "none",
      // The suite partner's token; schemathesis also checks that calls without it are refused.
      "--header",
      `Authorization: Bearer ${await suiteToken()}`,
    ];
    const { code, output, ms } = await runSchemathesis(exe, args);
    console.log(
      `[schemathesis] ${path.basename(exe)} ${args.join(" ").replace(/Bearer \S+/, "Bearer <token>")}\n[schemathesis] exit ${code} after ${Math.round(ms / 1000)} s\n${output}`,
    );
    assert.equal(code, 0, `schemathesis found problems (exit ${code}); its report is printed above`);
  });
});
