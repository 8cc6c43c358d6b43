/**
 * Contract checks and releases:
 *   lint      the OpenAPI document against Redocly's recommended rules (redocly.yaml)
 *   breaking  the served document against the last released one (contracts/released/),
 *             with oasdiff, the domain events (x-events) too, each compared as the answer
 *             of an operation of its own (what a consumer reads): a breaking change fails
 *             unless the major version is raised
 *             (the minor while it is 0.y.z, initial development), and even then, from 1.0
 *             on, a published /vN operation may be removed but not changed in place
 *             (the changed one comes as a new /v(N+1) path)
 *   release   writes the served document as contracts/released/v<info.version>.json
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { openapi } from "../contracts";
import { oasdiffBreaking, type BreakingChange } from "./oasdiff";

const ROOT = path.resolve(__dirname, "..");
const RELEASED = path.join(ROOT, "contracts/released");

const HELP = `Usage: node --import tsx ops/contracts.ts <command>
  lint       lint contracts/openapi.yaml with Redocly (rules in redocly.yaml)
  breaking   compare with the last released contract (contracts/released/) using oasdiff,
             the domain events (x-events) as answers of operations of their own;
             fails on a breaking change unless info.version's major is raised (its minor
             while the contract is 0.y.z); from 1.0 on, a published /v<N> operation may be
             removed but not changed in place (serve the changed one under /v<N+1>)
  release    record the current contract as contracts/released/v<info.version>.json
npm scripts: contracts:lint, contracts:breaking, contracts:release, contracts:gen.`;

type Doc = { info: { version: string }; paths: Record<string, unknown>; [k: string]: unknown };

const major = (version: string) => Number(version.split(".")[0]);
const minor = (version: string) => Number(version.split(".")[1]);

/** A release that may break: a new major, or (semver's initial development, 0.y.z) a new minor. */
export function breakingRelease(from: string, to: string): boolean {
  return major(to) > major(from) || (major(from) === 0 && major(to) === 0 && minor(to) > minor(from));
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number),
    pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export function latestRelease(dir = RELEASED): { file: string; doc: Doc } | undefined {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => /^v\d+\.\d+\.\d+\.json$/.test(f)) : [];
  const file = files.sort((a, b) => compareVersions(a.slice(1, -5), b.slice(1, -5))).pop();
  return file ? { file: path.join(dir, file), doc: JSON.parse(fs.readFileSync(path.join(dir, file), "utf8")) } : undefined;
}

export type { BreakingChange };

/**
 * The document's domain events as operations oasdiff compares: `GET /x-events/<type>`
 * answering the event's data schema, so a consumer's break (a field it reads removed, a type
 * changed, an event type gone) is one, as it is for a REST answer.
 */
export function eventsAsOperations(doc: Doc): Doc {
  const events = (doc["x-events"] ?? {}) as Record<string, object>;
  const paths = Object.fromEntries(
    Object.entries(events).map(([type, schema]) => [
      `/x-events/${type}`,
      {
        get: {
          operationId: `x-events.${type}`,
          responses: { "200": { description: `The data of ${type}`, content: { "application/json": { schema } } } },
        },
      },
    ]),
  );
  return { openapi: doc.openapi, info: doc.info, components: doc.components, paths };
}

/** Breaking changes (oasdiff level ERR) from `base` to `revision`, its events' included, and which of them are not allowed. */
export async function breakingChanges(base: Doc, revision: Doc): Promise<{ changes: BreakingChange[]; refused: BreakingChange[] }> {
  const changes = [...(await oasdiffBreaking(base, revision)), ...(await oasdiffBreaking(eventsAsOperations(base), eventsAsOperations(revision)))];
  const raised = breakingRelease(base.info.version, revision.info.version);
  const initial = major(base.info.version) === 0;
  const pathVersion = (p: string | undefined) => /^\/v(\d+)\//.exec(p ?? "")?.[1];
  const released = new Set(
    Object.keys(base.paths as object)
      .map(pathVersion)
      .filter(Boolean),
  );
  const refused = changes.filter((c) => {
    if (!raised) return true;
    if (initial || /removed/.test(c.id)) return false; // 0.x promises nothing; a major release may drop operations
    // Published /vN operations never change in place: the changed one is served as /v(N+1).
    return released.has(pathVersion(c.path));
  });
  return { changes, refused };
}

async function main(command: string | undefined): Promise<number> {
  const current = openapi as unknown as Doc;
  switch (command) {
    case "lint":
      execFileSync(path.join(ROOT, "node_modules/.bin/redocly"), ["lint", "contracts/openapi.yaml", "--format=summary"], { cwd: ROOT, stdio: "inherit" });
      return 0;
    case "breaking": {
      const released = latestRelease();
      if (!released) {
        console.log("No released contract yet (contracts/released/ is empty): nothing to compare.");
        return 0;
      }
      const { changes, refused } = await breakingChanges(released.doc, current);
      const from = `v${released.doc.info.version} (${path.relative(ROOT, released.file)})`;
      if (changes.length === 0) console.log(`No breaking change since ${from}.`);
      for (const c of changes) console.log(`${refused.includes(c) ? "BREAKING" : "allowed "} ${c.operation ?? ""} ${c.path ?? ""}: ${c.text}`);
      if (refused.length) {
        console.error(
          `\n${refused.length} breaking change(s) since ${from} at version ${current.info.version}.\n` +
            `Keep the contract compatible, or raise info.version's major and serve the changed operations under a new /v<N> path.`,
        );
        return 1;
      }
      return 0;
    }
    case "release": {
      const file = path.join(RELEASED, `v${current.info.version}.json`);
      if (fs.existsSync(file)) {
        console.error(`${path.relative(ROOT, file)} exists: raise info.version in contracts/openapi.yaml first.`);
        return 1;
      }
      fs.mkdirSync(RELEASED, { recursive: true });
      fs.writeFileSync(file, JSON.stringify(current, null, 2) + "\n");
      console.log(`Released the contract as ${path.relative(ROOT, file)}; commit it.`);
      return 0;
    }
    default:
      console.log(HELP);
      return command === "--help" || command === "-h" ? 0 : 2;
  }
}

if (require.main === module)
  main(process.argv[2]).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err.message ?? err);
      process.exit(1);
    },
  );
