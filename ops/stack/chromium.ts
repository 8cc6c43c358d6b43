/**
 * A Chromium for browser tests (playwright-core drives it; Playwright never downloads a
 * browser of its own). CHROMIUM_PATH if set, else Debian's /usr/bin/chromium, installed
 * with apt-get when missing and this process may (root, apt-get present).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { MissingPieceError } from "./provision";

export const DEBIAN_CHROMIUM = "/usr/bin/chromium";

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): boolean {
  return (process.env.PATH ?? "").split(":").some((dir) => dir && executable(`${dir}/${name}`));
}

/** Runs one apt-get command; reports progress through `say` and fails with its last lines. */
function aptGet(args: string[], say: (line: string) => void): Promise<void> {
  const label = `apt-get ${args.filter((a) => !a.startsWith("-")).join(" ")}`;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn("apt-get", ["-q", "-o", "DPkg::Lock::Timeout=300", ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    let last = "";
    const keep = (chunk: string) => {
      for (const line of chunk.split("\n").map((l) => l.trim()).filter(Boolean)) {
        last = line;
        tail.push(line);
        if (tail.length > 15) tail.shift();
        if (/^(Setting up chromium|E:|W:|Err:)/.test(line)) say(`chromium: ${line}`);
      }
    };
    child.stdout.setEncoding("utf8").on("data", keep);
    child.stderr.setEncoding("utf8").on("data", keep);
    const ticker = setInterval(() => say(`chromium: ${label} still running (${Math.round((Date.now() - started) / 1000)} s): ${last}`), 15_000);
    child.on("error", (err) => {
      clearInterval(ticker);
      reject(new MissingPieceError(`chromium: could not run apt-get (${err.message})`));
    });
    child.on("exit", (code, signal) => {
      clearInterval(ticker);
      if (code === 0) return resolve();
      reject(new MissingPieceError(`chromium: ${label} failed (${signal ?? `exit ${code}`}):\n${tail.join("\n")}`));
    });
  });
}

/**
 * The path of a Chromium binary: CHROMIUM_PATH, else /usr/bin/chromium, installing
 * Debian's `chromium` package first if it is missing and we are root with apt-get.
 */
export async function ensureChromium(say: (line: string) => void = console.log): Promise<string> {
  const given = process.env.CHROMIUM_PATH;
  if (given) {
    if (!executable(given)) throw new MissingPieceError(`CHROMIUM_PATH is ${given}, which is not an executable file.`);
    return given;
  }
  if (executable(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;

  const help =
    "Install Debian's chromium package (as root: apt-get update && apt-get install -y --no-install-recommends chromium), " +
    "or set CHROMIUM_PATH to a Chromium or Chrome binary.";
  const isRoot = process.getuid?.() === 0;
  if (!isRoot) throw new MissingPieceError(`No Chromium at ${DEBIAN_CHROMIUM}, and this process is not root, so it cannot install one. ${help}`);
  if (!onPath("apt-get")) throw new MissingPieceError(`No Chromium at ${DEBIAN_CHROMIUM}, and apt-get is not available to install one. ${help}`);

  const started = Date.now();
  say(`chromium: not found at ${DEBIAN_CHROMIUM}; installing Debian's chromium package (first time only; a minute or two)`);
  await aptGet(["update"], say);
  await aptGet(["install", "-y", "--no-install-recommends", "chromium"], say);
  if (!executable(DEBIAN_CHROMIUM)) throw new MissingPieceError(`apt-get installed chromium, yet ${DEBIAN_CHROMIUM} is not there. ${help}`);
  say(`chromium: installed ${DEBIAN_CHROMIUM} in ${Math.round((Date.now() - started) / 1000)} s`);
  return DEBIAN_CHROMIUM;
}
