/**
 * The README is a map of the tree: its folder table names every top-level folder (of the files
 * git knows, committed or not, dot-folders left out) and only entries that exist; and every
 * relative link in README.md and docs/*.md reaches a file (and, into a Markdown page, a heading).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

/** The entries of the README's folder table: the first cell of each row under "## Folders". */
function folderTableEntries(readme: string): string[] {
  const lines = readme.split("\n");
  const start = lines.findIndex((line) => line.trim() === "## Folders");
  assert.ok(start >= 0, 'README.md has no "## Folders" section');
  const end = lines.findIndex((line, i) => i > start && line.startsWith("## "));
  return lines
    .slice(start + 1, end < 0 ? undefined : end)
    .map((line) => /^\| `([^`]+)`/.exec(line)?.[1])
    .filter((entry): entry is string => entry !== undefined);
}

/** Top-level folders of the files git knows (tracked, or new and not ignored), without dot-folders. */
function topLevelFolders(): string[] {
  const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" }).split("\n");
  const folders = files.filter((f) => f.includes("/") && !f.startsWith(".")).map((f) => `${f.split("/")[0]}/`);
  return [...new Set(folders)].sort();
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
const anchorOf = (heading: string) =>
  heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

/** The lines outside fenced code blocks. */
function outsideFences(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (line.startsWith("```")) fenced = !fenced;
    return !fenced && !line.startsWith("```");
  });
}

const anchorsOf = (markdown: string) =>
  new Set(
    outsideFences(markdown)
      .filter((line) => /^#{1,6} /.test(line))
      .map((line) => anchorOf(line.replace(/^#+ /, "").replace(/`/g, ""))),
  );

/** What is wrong with each relative link of one Markdown file (path from the repository root). */
function brokenLinks(file: string, markdown: string): string[] {
  const problems: string[] = [];
  for (const line of outsideFences(markdown).map((l) => l.replace(/`[^`]*`/g, "")))
    for (const [, target] of line.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto:
      const [filePart, anchor] = target!.split("#") as [string, string | undefined];
      const resolved = filePart ? path.join(path.dirname(file), filePart) : file;
      if (!fs.existsSync(path.join(ROOT, resolved))) problems.push(`${file}: ${target} (no ${resolved})`);
      else if (anchor && resolved.endsWith(".md") && !anchorsOf(read(resolved)).has(anchor)) problems.push(`${file}: ${target} (no heading #${anchor})`);
    }
  return problems;
}

test("the README's folder table names every top-level folder of the tree", () => {
  const named = folderTableEntries(read("README.md"));
  const missing = topLevelFolders().filter((folder) => !named.includes(folder));
  assert.deepEqual(missing, [], `README.md's folder table lacks ${missing.join(", ")}`);
});

test("every entry of the README's folder table exists at the top of the tree", () => {
  const named = folderTableEntries(read("README.md"));
  assert.ok(named.length > 0, "the folder table is empty");
  for (const entry of named) {
    assert.ok(!entry.replace(/\/$/, "").includes("/"), `${entry}: the folder table names top-level entries only`);
    const stat = fs.statSync(path.join(ROOT, entry), { throwIfNoEntry: false });
    assert.ok(stat, `README.md's folder table names ${entry}, which does not exist`);
    assert.equal(stat.isDirectory(), entry.endsWith("/"), `${entry}: a folder is written with a trailing /, a file without`);
  }
});

test("every relative link in README.md and docs/*.md reaches a file, and a heading where it names one", () => {
  const pages = [
    "README.md",
    ...fs
      .readdirSync(path.join(ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`),
  ];
  const broken = pages.flatMap((page) => brokenLinks(page, read(page)));
  assert.deepEqual(broken, []);
});
