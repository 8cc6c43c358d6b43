/**
 * Python test tools, installed from PyPI into a virtual environment per tool and version in
 * the per-user cache (~/.cache/linkage-hub/venv-<tool>-<version>/), so fresh clones and CI
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

/** schemathesis 4 needs Python 3.11 or later. */
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

/**
 * The path of a runnable `schemathesis` at the version pinned in ops/versions.json, creating
 * its virtual environment first if need be. `say` reports progress.
 *
 * Atomic: the venv is built in a staging directory next to its final place, then renamed
 * there, so a concurrent or interrupted build never leaves half a venv at the cached path.
 */
export async function ensureSchemathesis(say: (line: string) => void = console.log): Promise<string> {
  const { pypi, version } = versions.schemathesis;
  const dir = path.join(CACHE_DIR, `venv-schemathesis-${version}`);
  const exe = path.join(dir, "bin", "schemathesis");
  if (fs.existsSync(exe)) return exe;

  const python = await findPython("schemathesis");
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const staging = fs.mkdtempSync(path.join(CACHE_DIR, `.venv-schemathesis-${version}-`));
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)} s`;
  const ticker = setInterval(() => say(`schemathesis: still installing (${elapsed()})`), 20_000);
  say(`schemathesis: creating a virtual environment with ${python} and installing ${pypi}==${version} from PyPI into ${dir} (first time only; under a minute)`);
  try {
    const venv = await run(python, ["-m", "venv", staging]);
    if (venv.code !== 0) throw new MissingPieceError(`${python} -m venv failed (exit ${venv.code}):\n${tail(venv.output)}`);
    const pip = await run(
      path.join(staging, "bin", "python"),
      ["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-compile", "--quiet", `${pypi}==${version}`],
      {
        ...process.env,
        PIP_REQUIRE_VIRTUALENV: "1",
      },
    );
    if (pip.code !== 0) throw new MissingPieceError(`pip install ${pypi}==${version} failed (exit ${pip.code}):\n${tail(pip.output)}`);
    relocate(staging, dir);
    try {
      // Rename is atomic: whoever renames first wins; a loser finds the winner's venv in place.
      fs.renameSync(staging, dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code !== "ENOTEMPTY" && code !== "EEXIST") || !fs.existsSync(exe)) throw err;
      say(`schemathesis: another process installed it meanwhile; using that one`);
    }
  } finally {
    clearInterval(ticker);
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const check = await run(exe, ["--version"]);
  if (check.code !== 0) throw new MissingPieceError(`${exe} --version failed (exit ${check.code}):\n${tail(check.output)}`);
  say(`schemathesis: ${check.output.trim()} ready in ${elapsed()}`);
  return exe;
}
