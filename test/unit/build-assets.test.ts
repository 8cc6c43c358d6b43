/** `npm run build` copies beside the compiled code every file the code reads relative to its own file. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { assetFiles } from "../../ops/build";
import { BUNDLE_FILE } from "../../workflows/bundle";

const ROOT = path.resolve(__dirname, "../..");

/** Files a compiled source reads as `path.join|resolve(__dirname, "<literal>")`, below ROOT and not the checkout itself. */
function readBesideCode(): { source: string; target: string }[] {
  const sources = execFileSync("git", ["ls-files", "*.ts"], { cwd: ROOT, encoding: "utf8" })
    .split("\n")
    .filter((f) => f && !f.startsWith("test/") && !f.startsWith("ops/bench/"));
  const reads: { source: string; target: string }[] = [];
  for (const source of sources)
    for (const [, rel] of fs.readFileSync(path.join(ROOT, source), "utf8").matchAll(/path\.(?:join|resolve)\(__dirname, "([^"]+)"\)/g)) {
      const target = path.relative(ROOT, path.resolve(ROOT, path.dirname(source), rel!));
      // The workflow bundle is the build's own output, not a file it copies.
      if (target && !target.startsWith("..") && path.resolve(ROOT, target) !== BUNDLE_FILE) reads.push({ source, target });
    }
  return reads;
}

test("every file read beside the code is copied into dist/", () => {
  const copied = new Set(assetFiles());
  const reads = readBesideCode();
  assert.ok(reads.length >= 10, `found only ${reads.length} reads`);
  for (const { source, target } of reads) {
    const full = path.join(ROOT, target);
    const files = fs.statSync(full).isDirectory()
      ? fs.readdirSync(full, { recursive: true, encoding: "utf8" }).map((f) => path.posix.join(target, f))
      : [target];
    for (const file of files.filter((f) => !f.endsWith(".ts") && fs.statSync(path.join(ROOT, f)).isFile()))
      assert.ok(copied.has(file), `${source} reads ${file}, which the build does not copy`);
  }
  assert.ok(copied.has("contracts/openapi.yaml") && copied.has("hub/migrations/001_linkages.sql"));
  assert.ok(![...copied].some((f) => f.startsWith("test/") || f.endsWith(".ts") || f.endsWith(".md")), "no tests, sources or docs");
});
