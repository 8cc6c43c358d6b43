/** Secret files the hub makes for itself: written 0600, created once even when nodes start together. */
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";

/** Writes `text` to `file` unless it exists; returns the file's content either way. */
export function createOnce(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written aside, then linked into place, which fails if another node linked its own first
  // (then that one is read).
  const aside = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(aside, text, { mode: 0o600 });
  try {
    fs.linkSync(aside, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    fs.unlinkSync(aside);
  }
  return fs.readFileSync(file, "utf8");
}

/** Replaces `file` with `text` atomically (a rename), keeping it 0600. */
export function replace(file: string, text: string): void {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  fs.writeFileSync(aside, text, { mode: 0o600 });
  fs.renameSync(aside, file);
}
