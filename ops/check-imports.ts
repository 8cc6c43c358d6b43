/**
 * `npm run check:imports`: the hub's layers point one way. Every import of every .ts file in
 * the tree (`import`, `import type`, `export … from`, `require()`, `import()`) is read with
 * the TypeScript parser, relative ones are resolved to files, and each is checked against
 * PARTS below. Packages are not checked.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import ts from "typescript";

interface Part {
  name: string;
  /** Folders (ending in "/") or files; `<agency>` stands for one folder name. */
  paths: string[];
  /** Parts it may import besides its own files; "*" is every part. */
  mayImport: string[];
  /** Folders it may import from with `import type` only. */
  typesFrom?: string[];
}

/** The map: a file belongs to the first part with a matching path. */
export const PARTS: Part[] = [
  { name: "contracts", paths: ["contracts/"], mayImport: [] },
  { name: "platform", paths: ["platform/"], mayImport: ["contracts"] },
  { name: "sandbox-kit", paths: ["sandbox-kit/"], mayImport: ["platform", "contracts"] },
  { name: "sandbox", paths: ["adapters/<agency>/sandbox/", "agencies/<agency>/sandbox/"], mayImport: ["sandbox-kit", "platform", "contracts"] },
  { name: "adapter", paths: ["adapters/<agency>/"], mayImport: ["platform", "contracts"] },
  { name: "partners", paths: ["partners/"], mayImport: ["platform", "contracts"] },
  { name: "audit", paths: ["audit/"], mayImport: ["platform", "contracts"] },
  { name: "crowd", paths: ["crowd/"], mayImport: ["platform", "contracts"] },
  { name: "flights", paths: ["flights/"], mayImport: ["platform", "contracts"] },
  { name: "operators", paths: ["operators/"], mayImport: ["platform", "contracts", "partners"] },
  { name: "catalogue", paths: ["catalogue/"], mayImport: ["platform", "contracts", "partners", "audit"] },
  { name: "gateway", paths: ["gateway/"], mayImport: ["platform", "contracts", "partners", "audit", "catalogue", "operators"] },
  { name: "workflow-code", paths: ["workflows/linkages/"], mayImport: ["contracts"], typesFrom: ["workflows/activities/"] },
  { name: "linkages", paths: ["workflows/"], mayImport: ["workflow-code", "platform", "contracts", "audit"] },
  { name: "broker-settings", paths: ["moleculer.config.ts"], mayImport: ["platform"] },
  // Every part of the hub, never a sandbox: sandboxes play the agencies, they are not the hub's.
  {
    name: "hub",
    paths: ["hub/"],
    mayImport: [
      "platform",
      "contracts",
      "partners",
      "audit",
      "catalogue",
      "operators",
      "gateway",
      "workflow-code",
      "linkages",
      "adapter",
      "crowd",
      "flights",
      "broker-settings",
    ],
  },
  { name: "tools", paths: ["ops/", "bin/", "test/"], mayImport: ["*"] },
];

const SKIPPED = ["contracts/generated/"];

const HELP = `Usage: npm run check:imports [-- --map]

Checks that the hub's layers point one way. Every import of every .ts file in the tree
(git ls-files, without ${SKIPPED.join(", ")}) is read: import, import type, export … from,
require("…") and import("…"). Relative ones are resolved to files (.ts, /index.ts, .json);
packages are not checked. Each file belongs to the first part whose path matches, and may
import its own part's files and the parts listed (map in ops/check-imports.ts):

${PARTS.map((p) => `  ${p.name.padEnd(16)} ${p.paths.join(" ").padEnd(28)} ${rule(p)}`).join("\n")}

<agency> is one agency's folder: its own files are that folder only (an adapter's own files
leave out its sandbox). A file in no part is an error: add it to the map.
Prints one line per violation and exits 1, or one OK line.
  --map   the parts and, for each, the parts its files import, with counts`;

function rule(part: Part): string {
  if (part.mayImport.includes("*")) return "may import everything";
  const types = part.typesFrom ? `, and ${part.typesFrom.join(", ")} with import type only` : "";
  return part.mayImport.length ? `may import ${part.mayImport.join(", ")} only${types}` : "may import nothing";
}

/** The part a file belongs to, and its own unit (the part, or for <agency> that agency's folder). */
export function partOf(file: string): { part: Part; unit: string } | undefined {
  for (const part of PARTS)
    for (const p of part.paths) {
      const pattern = p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/<agency>/g, "[^/]+");
      const match = new RegExp(`^${pattern}${p.endsWith("/") ? "" : "$"}`).exec(file);
      if (match) return { part, unit: p.includes("<agency>") ? match[0] : part.name };
    }
  return undefined;
}

export interface Import {
  file: string;
  line: number;
  specifier: string;
  typeOnly: boolean;
  /** The file it resolves to; undefined for a relative import that names no file. */
  target?: string;
  /** Whether the map allows it. */
  ok: boolean;
}

/** The module specifiers a source file names, with their line and whether they bring types only. */
function specifiers(file: string, text: string): Omit<Import, "file" | "target" | "ok">[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Omit<Import, "file" | "target" | "ok">[] = [];
  const add = (node: ts.Node, spec: ts.Node | undefined, typeOnly: boolean) => {
    if (spec && ts.isStringLiteralLike(spec))
      found.push({ specifier: spec.text, typeOnly, line: source.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
  };
  const allTypes = (names: ts.NodeArray<ts.ImportSpecifier | ts.ExportSpecifier>) => names.length > 0 && names.every((n) => n.isTypeOnly);
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const clause = node.importClause;
      const bindings = clause?.namedBindings;
      const named = !clause?.name && bindings !== undefined && ts.isNamedImports(bindings) && allTypes(bindings.elements);
      add(node, node.moduleSpecifier, !!clause && (clause.isTypeOnly || named));
    } else if (ts.isExportDeclaration(node)) {
      const clause = node.exportClause;
      add(node, node.moduleSpecifier, node.isTypeOnly || (!!clause && ts.isNamedExports(clause) && allTypes(clause.elements)));
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, node.isTypeOnly);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(node.expression) && node.expression.text === "require"))
    ) {
      add(node, node.arguments[0], false);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal, true);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every import of every .ts file in the tree at `root`, plus `extraFiles` (path → source), checked against the map. */
export function checkImports(root: string, extraFiles: Record<string, string> = {}) {
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: root, encoding: "utf8" }).split("\0");
  const tree = new Set([...listed.filter((f) => f && fs.existsSync(path.join(root, f))), ...Object.keys(extraFiles)]);
  const sources = [...tree].filter((f) => f.endsWith(".ts") && !SKIPPED.some((s) => f.startsWith(s))).sort();
  const resolve = (from: string, specifier: string) => {
    const base = path.posix.join(path.posix.dirname(from), specifier);
    return [base, `${base}.ts`, `${base}/index.ts`, `${base}.json`].find((f) => tree.has(f));
  };
  const imports: Import[] = [];
  const violations: string[] = [];
  for (const file of sources) {
    const from = partOf(file);
    if (!from) violations.push(`${file}: in no part of the map: add it to the map in ops/check-imports.ts`);
    for (const s of specifiers(file, extraFiles[file] ?? fs.readFileSync(path.join(root, file), "utf8"))) {
      if (!s.specifier.startsWith(".")) continue; // a package
      const target = resolve(file, s.specifier);
      const to = target ? partOf(target) : undefined;
      const ok = !!target && (!from || allowed(from, target, s.typeOnly));
      imports.push({ file, ...s, target, ok });
      if (!target) violations.push(`${file}:${s.line} imports ${s.specifier}, which is no file in the tree`);
      else if (from && !ok) {
        const own = to?.part === from.part ? ` (its own files: ${from.unit} only)` : "";
        violations.push(`${file}:${s.line} imports ${target}: ${from.part.name} ${rule(from.part)}${own}`);
      }
    }
  }
  return { files: sources.length, imports, violations };
}

function allowed(from: { part: Part; unit: string }, target: string, typeOnly: boolean): boolean {
  const to = partOf(target);
  if (from.part.mayImport.includes("*") || (to?.part === from.part && to.unit === from.unit)) return true;
  if (typeOnly && from.part.typesFrom?.some((folder) => target.startsWith(folder))) return true;
  return !!to && to.part !== from.part && from.part.mayImport.includes(to.part.name);
}

/** The parts and, for each, how many of its imports go to each part: type-only ones and those the map refuses counted apart. */
export function importMap(imports: Import[]): string {
  const lines: string[] = [];
  for (const part of PARTS) {
    const edges = new Map<string, { n: number; types: number; refused: number }>();
    for (const i of imports.filter((i) => i.target && partOf(i.file)?.part === part)) {
      const name = partOf(i.target!)?.part.name ?? "(no part)";
      const edge = edges.get(name) ?? { n: 0, types: 0, refused: 0 };
      edges.set(name, { n: edge.n + 1, types: edge.types + Number(i.typeOnly), refused: edge.refused + Number(!i.ok) });
    }
    const text = [...edges]
      .sort((a, b) => b[1].n - a[1].n)
      .map(([name, e]) => {
        const notes = [e.types && `${e.types} type-only`, e.refused && `${e.refused} not allowed`].filter(Boolean);
        return `${name === part.name ? "itself" : name} ${e.n}${notes.length ? ` (${notes.join(", ")})` : ""}`;
      });
    lines.push(`${part.name.padEnd(16)} → ${text.join(", ") || "nothing"}`);
  }
  return lines.join("\n");
}

function main(args: string[]): number {
  if (args.includes("--help") || args.includes("-h")) return (console.log(HELP), 0);
  const root = path.resolve(__dirname, "..");
  const { files, imports, violations } = checkImports(root);
  if (args.includes("--map")) console.log(importMap(imports) + "\n");
  for (const v of violations) console.log(v);
  if (violations.length) return (console.log(`\n${violations.length} import violation(s); the map and its rules: npm run check:imports -- --help`), 1);
  console.log(`Imports point one way: ${imports.length} imports in ${files} files, ${PARTS.length} parts, no violation.`);
  return 0;
}

if (require.main === module) process.exit(main(process.argv.slice(2)));
