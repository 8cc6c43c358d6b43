/**
 * What the repository's Dockerfile does, done on this machine, which has no container engine:
 * each stage in a directory of its own standing for its WORKDIR, its COPY lines (the build
 * context filtered by .dockerignore, or another stage's files), ENV and RUN lines run as
 * written, and the CMD to start. Stages run side by side until one copies from another, as
 * BuildKit runs them. Only the instructions the Dockerfile uses are understood; anything else
 * fails, so the file cannot grow a step this reading skips.
 *
 * One substitution, said where it is made: a build stage's `npm ci` links the checkout's
 * node_modules, installed by `npm ci` from the same package-lock.json, instead of installing
 * every development dependency again.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

interface Step {
  op: string;
  args: string;
}
interface Stage {
  name?: string;
  steps: Step[];
}
export interface Image {
  /** The last stage's directory (its WORKDIR). */
  dir: string;
  env: Record<string, string>;
  /** CMD, as written. */
  cmd: string[];
  /** Every RUN line run, with the stage's name, or "(linked)" for the substitution. */
  ran: string[];
}

export function readDockerfile(file: string): Stage[] {
  const stages: Stage[] = [];
  for (const raw of fs.readFileSync(file, "utf8").split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    if (line.endsWith("\\")) throw new Error(`${file}: continued lines are not read here: ${line}`);
    const [, op, args] = /^([A-Z]+)\s+(.*)$/.exec(line) ?? [];
    if (!op || args === undefined) throw new Error(`${file}: not an instruction: ${line}`);
    if (op === "FROM") stages.push({ name: /\sAS\s+(\S+)$/i.exec(args)?.[1], steps: [] });
    else if (!stages.at(-1)) throw new Error(`${file}: ${op} before FROM`);
    else stages.at(-1)!.steps.push({ op, args });
  }
  return stages;
}

/** .dockerignore's patterns as this file uses them: `dir/` at the top of the context, `*.ext` anywhere. */
function ignored(patterns: string[], rel: string): boolean {
  return patterns.some((p) => {
    if (p.endsWith("/") && !p.includes("*")) return rel === p.slice(0, -1) || rel.startsWith(p);
    if (/^\*\.[\w.]+$/.test(p)) return rel.endsWith(p.slice(1));
    throw new Error(`.dockerignore: pattern not read here: ${p}`);
  });
}

function copyContext(context: string, src: string, dest: string): void {
  const patterns = fs
    .readFileSync(path.join(context, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  fs.cpSync(path.join(context, src), dest, { recursive: true, filter: (from) => !ignored(patterns, path.relative(context, from)) });
}

interface Build {
  context: string;
  stageDirs: Map<string, Promise<string>>;
  ran: string[];
}

interface StageRun {
  name: string;
  dir: string;
  workdir: string;
  env: Record<string, string>;
  /** A build stage: its `npm ci` is the substitution. */
  linkNpmCi: boolean;
}

/** The environment of a RUN line: npm's own variables left out (npm test's would point npm at the checkout). */
function runEnv(stage: StageRun): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  // The machine's npm cache first: the same packages, fetched from the registry only when missing.
  return { ...env, ...stage.env, npm_config_prefer_offline: "true" };
}

async function runStep(step: Step, stage: StageRun, build: Build): Promise<void> {
  const at = (p: string) => path.join(stage.dir, path.posix.relative(stage.workdir, path.posix.resolve(stage.workdir, p)));
  const words = step.args.split(/\s+/);
  if (step.op === "WORKDIR") stage.workdir = step.args;
  else if (step.op === "ENV") for (const pair of words) stage.env[pair.split("=")[0]!] = pair.slice(pair.indexOf("=") + 1);
  else if (step.op === "COPY" && words[0]?.startsWith("--from=")) {
    const [from, src, dest] = words as [string, string, string];
    const fromStage = build.stageDirs.get(from.slice("--from=".length));
    if (!fromStage) throw new Error(`Dockerfile: COPY ${from}: no such stage before it`);
    const fromDir = await fromStage;
    fs.cpSync(path.join(fromDir, path.posix.relative("/app", src)), at(dest), { recursive: true });
  } else if (step.op === "COPY") {
    const dest = words.pop()!;
    for (const src of words) copyContext(build.context, src, src === "." ? at(dest) : path.join(at(dest), dest.endsWith("/") ? path.basename(src) : ""));
  } else if (step.op === "RUN" && step.args === "npm ci" && stage.linkNpmCi) {
    fs.symlinkSync(path.join(build.context, "node_modules"), path.join(stage.dir, "node_modules"));
    build.ran.push(`${stage.name}: ${step.args} (linked)`);
  } else if (step.op === "RUN") {
    await promisify(execFile)("sh", ["-c", step.args], { cwd: stage.dir, env: runEnv(stage), maxBuffer: 64 << 20 }).catch(
      (err: { stdout?: string; stderr?: string }) => {
        throw new Error(`RUN ${step.args} (${stage.name}) failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
      },
    );
    build.ran.push(`${stage.name}: ${step.args}`);
  } else if (!["USER", "EXPOSE", "CMD"].includes(step.op)) throw new Error(`Dockerfile: ${step.op} is not read here`);
}

/** Runs every stage of `dockerfile` under `into`; the last one is the image. */
export async function buildImage(context: string, into: string, dockerfile = path.join(context, "Dockerfile")): Promise<Image> {
  const stages = readDockerfile(dockerfile);
  const build: Build = { context, stageDirs: new Map(), ran: [] };
  let image: Image | undefined;
  stages.forEach((s, i) => {
    const last = i === stages.length - 1;
    const name = s.name ?? `stage-${i}`;
    const stage: StageRun = { name, dir: path.join(into, name), workdir: "/", env: {}, linkNpmCi: !last };
    fs.mkdirSync(stage.dir, { recursive: true });
    const done = (async () => {
      for (const step of s.steps) await runStep(step, stage, build);
      return stage.dir;
    })();
    build.stageDirs.set(name, done);
    if (last) {
      const cmd = s.steps.findLast((step) => step.op === "CMD");
      if (!cmd) throw new Error("Dockerfile: no CMD");
      image = { dir: stage.dir, env: stage.env, cmd: JSON.parse(cmd.args) as string[], ran: build.ran };
    }
  });
  await Promise.all(build.stageDirs.values());
  return image!;
}
