/**
 * Searching the catalogue and paging through it. A search is words of plain text, each of
 * which must appear in an entry's searched text: substring tests only (never a RegExp built
 * from what a user typed), so a query costs its length times the catalogue's text whatever
 * it holds (regex metacharacters, other scripts). The page's script (gateway/catalogue-page.ts)
 * matches the same way, on the same text.
 */
import { createHash } from "node:crypto";
import { HubError } from "../platform/errors";

export interface Searchable {
  id: string;
  title: string;
  provider: { id: string; name: string };
  purposes: string[];
}

/** Case- and width-insensitive form of a text (NFKC, lower case), as both sides compare it. */
export const folded = (text: string) => text.normalize("NFKC").toLowerCase();

/** The words of a query, folded; none for an empty or blank one. */
export const wordsOf = (q: string | undefined) =>
  folded(q ?? "")
    .split(/\s+/)
    .filter(Boolean);

/** What a search looks in: title, id, provider and purposes, folded. */
export const searchTextOf = (e: Searchable) => folded([e.title, e.id, e.provider.id, e.provider.name, ...e.purposes].join("\n"));

export const matches = (e: Searchable, words: string[]) => {
  if (!words.length) return true;
  const text = searchTextOf(e);
  return words.every((w) => text.includes(w));
};

/** By id, in code point order (the cursor's order). */
export const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * A cursor names the last id of a page, with a check over it and the search it pages, so a
 * made-up cursor or one of another search names no page (404).
 */
const check = (words: string[], id: string) => createHash("sha256").update(JSON.stringify(words)).update("\n").update(id).digest().subarray(0, 8);

export const writeCursor = (words: string[], lastId: string) => Buffer.concat([check(words, lastId), Buffer.from(lastId, "utf8")]).toString("base64url");

export function readCursor(cursor: string, words: string[]): string {
  const raw = Buffer.from(cursor, "base64url");
  const id = raw.subarray(8).toString("utf8");
  if (raw.length <= 8 || !check(words, id).equals(raw.subarray(0, 8)))
    throw new HubError("HUB_ERR_PAGE_NOT_FOUND", "No such page: the cursor is not the `next` of a page of this same search");
  return id;
}

/** One page of `sorted` (by id) after the cursor's id, and the next page's cursor. */
export function pageOf<T extends { id: string }>(sorted: T[], words: string[], limit: number, cursor?: string): { items: T[]; next: string | null } {
  const after = cursor === undefined ? undefined : readCursor(cursor, words);
  const start = after === undefined ? 0 : sorted.findIndex((e) => e.id > after);
  const rest = start < 0 ? [] : sorted.slice(start);
  const items = rest.slice(0, limit);
  return { items, next: rest.length > limit ? writeCursor(words, items[items.length - 1]!.id) : null };
}
