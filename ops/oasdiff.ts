/**
 * oasdiff, the one way the repository compares two OpenAPI documents: the hub's own contract
 * against its last release (ops/contracts.ts) and a catalogue service's new document against
 * the registered one (`linkage-hub services update`). Both documents are written to a
 * temporary folder and compared with `oasdiff breaking base new --format json`.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { ensureBinary } from "./stack/provision";

/** One breaking change, as oasdiff reports it. */
export interface BreakingChange {
  id: string;
  text: string;
  operation?: string;
  path?: string;
}

/** oasdiff's level for a change that breaks clients (WARN is 2, INFO 1). */
const ERR = 3;

/**
 * The ERR-level changes from `base` to `revision` (parsed documents, written as JSON).
 * `say` hears where oasdiff comes from (found on PATH, or built once with Go).
 */
export async function oasdiffBreaking(base: object, revision: object, say: (line: string) => void = (line) => console.error(line)): Promise<BreakingChange[]> {
  const oasdiff = await ensureBinary("oasdiff", say);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "oasdiff-"));
  try {
    fs.writeFileSync(path.join(dir, "base.json"), JSON.stringify(base));
    fs.writeFileSync(path.join(dir, "revision.json"), JSON.stringify(revision));
    const { stdout } = await promisify(execFile)(oasdiff, ["breaking", "base.json", "revision.json", "--format", "json"], {
      cwd: dir,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    });
    return (JSON.parse(stdout || "[]") as (BreakingChange & { level: number })[]).filter((c) => c.level === ERR);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
