/**
 * Tools from Debian's packages (Chromium for the docs test, Prometheus with promtool for the
 * ops checks), installed with apt-get when missing and this process may (root, apt-get on
 * PATH). The Debian mirror is a package registry: nothing comes from a vendor's site.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { MissingPieceError } from "./provision";

export function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

const onPath = (name: string) => (process.env.PATH ?? "").split(":").some((dir) => dir && executable(`${dir}/${name}`));

/** Runs one apt-get command; reports progress through `say` and fails with its last lines. */
function aptGet(pkg: string, args: string[], say: (line: string) => void): Promise<void> {
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
      for (const line of chunk
        .split("\n")
        .map((l) => l.trim())
        .filter(Boolean)) {
        last = line;
        tail.push(line);
        if (tail.length > 15) tail.shift();
        if (line.startsWith(`Setting up ${pkg}`) || /^(E:|W:|Err:)/.test(line)) say(`${pkg}: ${line}`);
      }
    };
    child.stdout.setEncoding("utf8").on("data", keep);
    child.stderr.setEncoding("utf8").on("data", keep);
    const ticker = setInterval(() => say(`${pkg}: ${label} still running (${Math.round((Date.now() - started) / 1000)} s): ${last}`), 15_000);
    child.on("error", (err) => {
      clearInterval(ticker);
      reject(new MissingPieceError(`${pkg}: could not run apt-get (${err.message})`));
    });
    child.on("exit", (code, signal) => {
      clearInterval(ticker);
      if (code === 0) return resolve();
      reject(new MissingPieceError(`${pkg}: ${label} failed (${signal ?? `exit ${code}`}):\n${tail.join("\n")}`));
    });
  });
}

/**
 * Makes sure Debian's package `pkg` provides every file in `files`, installing it (without
 * recommends) when one is missing. `help` says how to supply it otherwise.
 */
export async function ensureDebianPackage(pkg: string, files: string[], help: string, say: (line: string) => void): Promise<void> {
  const missing = files.filter((f) => !executable(f));
  if (!missing.length) return;
  if (process.getuid?.() !== 0)
    throw new MissingPieceError(`No ${missing.join(", ")}, and this process is not root, so it cannot install Debian's ${pkg} package. ${help}`);
  if (!onPath("apt-get")) throw new MissingPieceError(`No ${missing.join(", ")}, and apt-get is not available to install Debian's ${pkg} package. ${help}`);
  const started = Date.now();
  say(`${pkg}: ${missing.join(", ")} not found; installing Debian's ${pkg} package (first time only; up to a minute or two)`);
  await aptGet(pkg, ["update"], say);
  await aptGet(pkg, ["install", "-y", "--no-install-recommends", pkg], say);
  const still = files.filter((f) => !executable(f));
  if (still.length) throw new MissingPieceError(`apt-get installed ${pkg}, yet ${still.join(", ")} is not there. ${help}`);
  say(`${pkg}: installed in ${Math.round((Date.now() - started) / 1000)} s`);
}
