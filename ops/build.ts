/**
 * `npm run build`: the hub for production in dist/, run with `node dist/...` and production
 * dependencies only (see the Dockerfile and docs/operations.md#production-build).
 *
 * 1. TypeScript compiled with tsconfig.build.json (everything but test/ and ops/bench/), into
 *    dist/ at the same paths as the sources;
 * 2. the files the code reads beside itself (`__dirname`-relative: the contract and its
 *    schemas, migrations, the agencies' documents, Prometheus and Grafana files) copied there
 *    at the same paths, so every such read works alike from the sources and from dist/;
 * 3. the workflow code bundled once (workflows/bundle.ts), so a worker starts without webpack.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = path.resolve(__dirname, "..");
const DIST = path.join(ROOT, "dist");
const HELP = `Usage: npm run build

Compiles the hub into dist/: JavaScript, the files it reads beside itself, and the workflow
bundle. Run the result with node, e.g. \`node dist/hub/node.js\`.`;

/** Never copied: not read at run time (tests, docs, recorded histories, released contracts), or not source at all. */
const NOT_ASSETS = ["node_modules", ".data", ".git", ".ci", "dist", "test", "docs", "bin", "ops/bench", "workflows/histories", "contracts/released"];
const isSource = (file: string) => file.endsWith(".ts") || file.endsWith(".md");

/** Files beside the code, below ROOT's folders: every file that is neither TypeScript nor Markdown, outside NOT_ASSETS. */
export function assetFiles(root = ROOT, dir = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, entry.name);
    if (NOT_ASSETS.includes(rel) || (dir === "" && !entry.isDirectory()) || entry.name.startsWith(".")) continue;
    if (entry.isDirectory()) out.push(...assetFiles(root, rel));
    else if (!isSource(entry.name)) out.push(rel);
  }
  return out;
}

export async function build(): Promise<{ files: number; assets: number; bundleBytes: number }> {
  // From scratch: a file whose source is gone must not linger in the build.
  fs.rmSync(DIST, { recursive: true, force: true });
  execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "-p", path.join(ROOT, "tsconfig.build.json")], {
    cwd: ROOT,
    stdio: "inherit",
  });
  const assets = assetFiles();
  for (const file of assets) fs.cpSync(path.join(ROOT, file), path.join(DIST, file));
  // The compiled module bundles, so the bundle's paths are dist/'s.
  const { writeWorkflowBundle } = (await import(pathToFileURL(path.join(DIST, "workflows/bundle.js")).href)) as typeof import("../workflows/bundle");
  const bundleBytes = await writeWorkflowBundle();
  return { files: fs.readdirSync(DIST, { recursive: true }).length, assets: assets.length, bundleBytes };
}

async function main(args: string[]): Promise<void> {
  if (args.includes("--help")) return void console.log(HELP);
  const started = Date.now();
  const { files, assets, bundleBytes } = await build();
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `build: dist/ in ${seconds} s (${files} entries, ${assets} files copied beside the code, workflow bundle ${(bundleBytes / 1024).toFixed(0)} KiB)`,
  );
}

if (require.main === module)
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
