/** The hub's CLI as a child process, as an operator runs it: from the sources through tsx in a checkout, compiled in dist/. */
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const CLI = fs.existsSync(path.join(ROOT, "ops/cli/main.ts")) ? ["--import", "tsx", "ops/cli/main.ts"] : ["ops/cli/main.js"];

export function runCli(args: string[], env: NodeJS.ProcessEnv): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [...CLI, ...args], { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
}
