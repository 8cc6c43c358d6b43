/**
 * Python tools (schemathesis, nats-py), installed from PyPI into a virtual environment per
 * tool and version in the per-user cache (~/.cache/linkage-hub/venv-<tool>-<version>/), so fresh clones and CI
 * reuse it. Versions are pinned in ops/versions.json. Only `python3` with its `venv` module
 * is needed; nothing is installed outside the cache.
 */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import versions from "../versions.json";
import { CACHE_DIR, MissingPieceError, onPath } from "./provision";

const execFileAsync = promisify(execFile);

/** schemathesis 4 needs Python 3.11 or later (nats-py 3.8): one floor for every tool. */
const MIN_PYTHON: [number, number] = [3, 11];

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, output }));
  });
}

const tail = (text: string, lines = 15) => text.trim().split("\n").slice(-lines).join("\n");

/** python3 on PATH, at least MIN_PYTHON, with a working `venv` (and `ensurepip`), else a MissingPieceError saying what to install. */
async function findPython(tool: string): Promise<string> {
  const python = onPath("python3");
  if (!python)
    throw new MissingPieceError(
      `${tool} runs from a Python virtual environment, and python3 is not on PATH.\n` +
        `  Install Python ${MIN_PYTHON.join(".")} or later with its venv module (Debian: apt-get install python3 python3-venv) and run again.`,
    );
  let probe: string;
  try {
    ({ stdout: probe } = await execFileAsync(python, ["-c", "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"], { timeout: 30_000 }));
  } catch (err) {
    const detail = (err as { stderr?: string }).stderr ?? String(err);
    throw new MissingPieceError(
      `${python} cannot create virtual environments (its venv or ensurepip module is missing):\n${tail(detail, 3)}\n` +
        `  Install it (Debian: apt-get install python3-venv) and run again.`,
    );
  }
  const [major, minor] = probe.trim().split(".").map(Number) as [number, number];
  if (major < MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor < MIN_PYTHON[1]))
    throw new MissingPieceError(`${tool} needs Python ${MIN_PYTHON.join(".")} or later; ${python} is ${probe.trim()}.`);
  return python;
}

/**
 * Scripts pip writes into a venv's bin/ carry the venv's absolute path (shebangs, activate),
 * and so does pyvenv.cfg. Point them at where the venv will live before it is renamed there.
 */
function relocate(venvDir: string, to: string): void {
  const binDir = path.join(venvDir, "bin");
  const files = fs
    .readdirSync(binDir, { withFileTypes: true })
    .filter((entry) => entry.isFile()) // python, python3: symlinks to the base interpreter
    .map((entry) => path.join(binDir, entry.name));
  for (const file of [...files, path.join(venvDir, "pyvenv.cfg")]) {
    const text = fs.readFileSync(file, "latin1");
    if (text.includes(venvDir)) fs.writeFileSync(file, text.split(venvDir).join(to), "latin1");
  }
}

/** The tools ops/versions.json pins on PyPI (each with `pypi`, `version` and maybe `extras`). */
type Pins = typeof versions;
export type PythonTool = { [K in keyof Pins]: Pins[K] extends { pypi: string } ? K : never }[keyof Pins];

/** The installed distribution's version, read by the venv's own Python: proves the install is whole. */
async function installedVersion(python: string, pypi: string): Promise<{ code: number | null; output: string }> {
  return run(python, ["-c", `import importlib.metadata as m; print(m.version(${JSON.stringify(pypi)}))`]);
}

/**
 * The directory of `tool`'s virtual environment, at the version pinned in ops/versions.json,
 * creating it first if need be. `say` reports progress.
 *
 * Atomic: the venv is built in a staging directory next to its final place, then renamed
 * there, so a concurrent or interrupted build never leaves half a venv at the cached path.
 */
export async function ensureVenv(tool: PythonTool, say: (line: string) => void = console.log): Promise<string> {
  const pin: { pypi: string; version: string; extras?: string } = versions[tool];
  const { pypi, version } = pin;
  const requirement = `${pypi}${pin.extras ? `[${pin.extras}]` : ""}==${version}`;
  const dir = path.join(CACHE_DIR, `venv-${tool}-${version}`);
  const ready = path.join(dir, "bin", "python"); // the venv is renamed into place whole, so there means complete
  if (fs.existsSync(ready)) return dir;

  const python = await findPython(tool);
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const staging = fs.mkdtempSync(path.join(CACHE_DIR, `.venv-${tool}-${version}-`));
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
  const ticker = setInterval(() => say(`${tool}: still installing (${elapsed()})`), 20_000);
  say(`${tool}: creating a virtual environment with ${python} and installing ${requirement} from PyPI into ${dir} (first time only; under a minute)`);
  try {
    await buildVenv(python, staging, requirement);
    relocate(staging, dir);
    try {
      // Rename is atomic: whoever renames first wins; a loser finds the winner's venv in place.
      fs.renameSync(staging, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !fs.existsSync(ready)) throw err;
      say(`${tool}: another process installed it meanwhile; using that one`);
    }
  } finally {
    clearInterval(ticker);
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const check = await installedVersion(path.join(dir, "bin", "python"), pypi);
  if (check.code !== 0) throw new MissingPieceError(`${pypi} in ${dir} does not load (exit ${check.code}):\n${tail(check.output)}`);
  say(`${tool}: ${pypi} ${check.output.trim()} ready in ${elapsed()}`);
  return dir;
}

async function buildVenv(python: string, dir: string, requirement: string): Promise<void> {
  const venv = await run(python, ["-m", "venv", dir]);
  if (venv.code !== 0) throw new MissingPieceError(`${python} -m venv failed (exit ${venv.code}):\n${tail(venv.output)}`);
  const pip = await run(
    path.join(dir, "bin", "python"),
    ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-compile", "--quiet", requirement],
    { ...process.env, PIP_REQUIRE_VIRTUALENV: "1" },
  );
  if (pip.code !== 0) throw new MissingPieceError(`pip install ${requirement} failed (exit ${pip.code}):\n${tail(pip.output)}`);
}

/** The path of a runnable `schemathesis` (its venv's console script). */
export async function ensureSchemathesis(say: (line: string) => void = console.log): Promise<string> {
  return path.join(await ensureVenv("schemathesis", say), "bin", "schemathesis");
}

/** The Python of the venv that has nats-py, for the NATS client examples and their tests. */
export async function ensureNatsPy(say: (line: string) => void = console.log): Promise<string> {
  return path.join(await ensureVenv("nats-py", say), "bin", "python");
}
