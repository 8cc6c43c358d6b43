/** The static checks, run as `npm test` runs: each tool from the repository root with this Node, its output shown when it fails. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

function passes(args: string[]) {
  const run = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8" });
  assert.equal(run.status, 0, `node ${args.join(" ")} failed:\n${run.stdout}${run.stderr}${run.error ?? ""}`);
}

test("typecheck: tsc -p .", () => passes(["node_modules/typescript/bin/tsc", "-p", "."]));

test("lint: eslint .", () => passes(["node_modules/eslint/bin/eslint.js", "."]));

test("formatting: prettier --check .", () => passes(["node_modules/prettier/bin/prettier.cjs", "--check", "."]));

test("imports point one way: ops/check-imports.ts", () => passes(["--import", "tsx", "ops/check-imports.ts"]));
