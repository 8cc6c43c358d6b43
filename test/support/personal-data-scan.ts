/**
 * Finding the civil registry's id numbers and names in bytes of any store: pure functions,
 * no I/O (test/support/personal-data-stores.ts reads the stores). Besides plain text, what
 * is encoded is decoded and searched too: e-ID credentials (compact JWS, the holder in the
 * base64url payload) and base64 blobs (an idempotent answer's body, a payload shown as JSON),
 * at any alignment, since a protobuf length byte may stand glued before them.
 */

/** What to look for: every citizen the civil registry sandbox holds. */
export interface Needles {
  ids: ReadonlySet<string>;
  names: ReadonlySet<string>;
}

export interface Hit {
  what: "id number" | "name";
  value: string;
  /** How it was stored: in clear, or inside an e-ID credential's payload or a base64 blob (still clear to whoever decodes it). */
  via: "plain" | "JWS payload" | "base64";
}

const ID_RUN = /[0-9X]{18,}/g;
// A name stands alone (a JSON string, a field, words of a log line): whole runs of CJK are compared.
const NAME_RUN = /[\u4e00-\u9fff\u3400-\u4dbf·]{2,}/g;
// The same runs' UTF-8 bytes as latin1 shows them (three-byte characters from U+3000 to U+9FFF, and ·): decoded before comparing.
const UTF8_CJK_RUN = /(?:[\u00e3-\u00e9][\u0080-\u00bf]{2}|\u00c2\u00b7){2,}/g;
const JWS = /eyJ[A-Za-z0-9_-]{2,}\.([A-Za-z0-9_-]{8,})\.[A-Za-z0-9_-]+/g;
// Base64 (either alphabet) long enough to hold a name or an id number.
const BASE64_MIN = 16;
const BASE64_CHAR = new Uint8Array(256);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_") BASE64_CHAR[c.charCodeAt(0)] = 1;
const UNICODE_ESCAPE = /\\+u([0-9a-fA-F]{4})/g;
const HAS_UNICODE_ESCAPE = /\\u[0-9a-fA-F]{4}/;
const MAX_DEPTH = 2;

/** Every id number and name of `needles` in `bytes`, each value once per way it was stored. */
export function scanBytes(bytes: Buffer, needles: Needles): Hit[] {
  const hits = new Map<string, Hit>();
  for (const hit of search(bytes, needles, "plain", 0)) hits.set(`${hit.what}\0${hit.value}\0${hit.via}`, hit);
  return [...hits.values()];
}

export const scanText = (text: string, needles: Needles): Hit[] => scanBytes(Buffer.from(text, "utf8"), needles);

function* search(bytes: Buffer, needles: Needles, via: Hit["via"], depth: number): Generator<Hit> {
  // latin1 maps byte to character one to one: id numbers and base64 are ASCII, found even between binary bytes.
  const ascii = bytes.toString("latin1");
  for (const m of ascii.matchAll(ID_RUN))
    // Every window of a longer run of digits: a digit byte may stand glued before the id number.
    for (let i = 0; i + 18 <= m[0].length; i++) {
      const id = m[0].slice(i, i + 18);
      if (needles.ids.has(id)) yield { what: "id number", value: id, via };
    }
  const names = [...ascii.matchAll(UTF8_CJK_RUN)].map((m) => Buffer.from(m[0], "latin1").toString("utf8"));
  if (HAS_UNICODE_ESCAPE.test(ascii)) names.push(unescapeUnicode(ascii));
  for (const t of names) for (const m of t.matchAll(NAME_RUN)) if (needles.names.has(m[0])) yield { what: "name", value: m[0], via };
  if (depth >= MAX_DEPTH) return;
  const jwsPayloads = new Set([...ascii.matchAll(JWS)].map((m) => m[1]!));
  const runs = base64Runs(bytes, ascii);
  yield* searchDecoded(
    runs.filter((r) => jwsPayloads.has(r)),
    needles,
    via === "plain" ? "JWS payload" : via,
    depth,
  );
  yield* searchDecoded(
    runs.filter((r) => !jwsPayloads.has(r)),
    needles,
    via === "plain" ? "base64" : via,
    depth,
  );
}

/**
 * The runs decoded from each of their first four characters (one of them is where the base64
 * starts), all runs of one alignment in one go: each cut to whole 4-character groups (losing at
 * most a run's last two bytes, a JSON's closing), and "AAAA" (three zero bytes) between two.
 */
function* searchDecoded(runs: string[], needles: Needles, via: Hit["via"], depth: number): Generator<Hit> {
  for (let start = 0; start < 4; start++) {
    const parts: string[] = [];
    for (const run of runs) {
      const part = run.slice(start);
      const whole = part.length - (part.length % 4);
      if (whole >= BASE64_MIN) parts.push(part.slice(0, whole));
    }
    if (parts.length) yield* search(Buffer.from(parts.join("AAAA"), "base64"), needles, via, depth + 1);
  }
}

/** The runs of base64 characters (either alphabet) long enough, by a loop over the bytes: a regex is several times slower here. */
function base64Runs(bytes: Buffer, ascii: string): string[] {
  const runs: string[] = [];
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && BASE64_CHAR[bytes[i]!]) continue;
    if (i - start >= BASE64_MIN) runs.push(ascii.slice(start, i));
    start = i + 1;
  }
  return runs;
}

/** A JSON or log text's `\uXXXX` escapes (any number of backslashes: a dump doubles them) made characters. */
function unescapeUnicode(text: string): string {
  return text.replace(UNICODE_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** One finding: what was found in which store, and where in it. */
export interface Finding extends Hit {
  store: string;
  where: string;
}

/** Where a finding is, without the row's number: the place a report names once. */
const placeOf = (f: Finding) => f.where.replace(/ row \d+$/, "");

const itemOf = (f: Finding) => `${f.what} ${f.value}${f.via === "plain" ? "" : ` (${f.via})`}`;

/**
 * The findings grouped by store, then by place (a file, a table): each place with its count and
 * its first items; at most `cap` places a store, for a failure message and a report.
 */
export function describeFindings(findings: Finding[], cap = 12, itemsPerPlace = 4): string {
  const byStore = new Map<string, Map<string, Finding[]>>();
  for (const f of findings) {
    const places = byStore.get(f.store) ?? byStore.set(f.store, new Map()).get(f.store)!;
    places.set(placeOf(f), [...(places.get(placeOf(f)) ?? []), f]);
  }
  const lines: string[] = [];
  for (const [store, places] of byStore) {
    const total = [...places.values()].reduce((n, list) => n + list.length, 0);
    lines.push(`${store}: ${total} found in ${places.size} place${places.size === 1 ? "" : "s"}`);
    for (const [place, list] of [...places].slice(0, cap)) {
      const items = [...new Set(list.map(itemOf))];
      lines.push(`  ${place}: ${list.length}: ${items.slice(0, itemsPerPlace).join(", ")}${items.length > itemsPerPlace ? ", …" : ""}`);
    }
    if (places.size > cap) lines.push(`  … and ${places.size - cap} more places`);
  }
  return lines.join("\n");
}
