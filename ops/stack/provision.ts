/**
 * Finds or builds the stack's binaries at the versions pinned in ops/versions.json:
 * on PATH, else in the per-user cache, else built once with `go install` into the cache.
 * Nothing is downloaded from a vendor site; Go modules come from the Go module proxy.
 */
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import versions from "../versions.json";

type Pins = typeof versions;
/** The pins built with `go install`. */
export type Binary = { [K in keyof Pins]: Pins[K] extends { module: string } ? K : never }[keyof Pins];

/**
 * A pin built with `go install`. `goToolchain` names the Go release the module needs when the
 * machine's own Go is older (the go command takes it from the Go module proxy, as GOTOOLCHAIN);
 * `goBinary` is the name `go install` gives the binary when it is not the pin's name.
 */
interface GoPin {
  module: string;
  version: string;
  versionArgs: string[];
  goToolchain?: string;
  goBinary?: string;
}

export class MissingPieceError extends Error {}

export const CACHE_DIR = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache"), "linkage-hub");

export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function versionLine(bin: string, args: string[]): string {
  try {
    return execFileSync(bin, args, { encoding: "utf8", timeout: 10_000 }).trim().split("\n")[0]!;
  } catch {
    return "unknown version";
  }
}

/** The command that builds `pin` (for messages), with the toolchain it needs. */
const goInstallLine = (pin: GoPin) => `${pin.goToolchain ? `GOTOOLCHAIN=${pin.goToolchain} ` : ""}go install ${pin.module}@${pin.version}`;

/** The path of a runnable binary, building it first if need be. `say` reports progress. */
export async function ensureBinary(name: Binary, say: (line: string) => void = console.log): Promise<string> {
  const pin: GoPin = versions[name];
  const found = onPath(name);
  if (found) {
    say(`${name}: using ${found} (${versionLine(found, pin.versionArgs)})`);
    return found;
  }
  const dir = path.join(CACHE_DIR, `${name}-${pin.version}`);
  const cached = path.join(dir, name);
  if (fs.existsSync(cached)) return cached;

  const go = onPath("go");
  if (!go)
    throw new MissingPieceError(
      `${name} ${pin.version} is not on PATH and Go is not installed to build it.\n` +
        `  Either put ${name} on PATH, or install Go and run again (it builds with: ${goInstallLine(pin)}).`,
    );
  say(`${name}: building with ${goInstallLine(pin)} into ${dir} (first time only; a few minutes)`);
  const staging = fs.mkdtempSync(path.join(CACHE_DIR + "-"));
  const started = Date.now();
  const ticker = setInterval(() => say(`${name}: still building (${Math.round((Date.now() - started) / 1000)} s)`), 20_000);
  try {
    await goInstall(go, pin, staging);
    fs.mkdirSync(dir, { recursive: true });
    // Rename is atomic: a concurrent build of the same version cannot leave half a binary.
    fs.renameSync(path.join(staging, pin.goBinary ?? name), cached);
  } finally {
    clearInterval(ticker);
    fs.rmSync(staging, { recursive: true, force: true });
  }
  say(`${name}: built in ${Math.round((Date.now() - started) / 1000)} s`);
  return cached;
}

/** Runs `go install` for `pin` with GOBIN `gobin` (and the pin's toolchain, if it names one). */
function goInstall(go: string, pin: GoPin, gobin: string): Promise<void> {
  const env: NodeJS.ProcessEnv = { ...process.env, GOBIN: gobin, GOFLAGS: process.env.GOFLAGS ?? "-trimpath" };
  if (pin.goToolchain) env.GOTOOLCHAIN = pin.goToolchain;
  return new Promise<void>((resolve, reject) => {
    const child = spawn(go, ["install", `${pin.module}@${pin.version}`], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new MissingPieceError(`${goInstallLine(pin)} failed (exit ${code}):\n${stderr.trim().split("\n").slice(-10).join("\n")}`)),
    );
  });
}
